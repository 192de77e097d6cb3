import * as bitcoin from "bitcoinjs-lib";
import { redact } from "../core/redact.js";
import type { Logger } from "pino";
import { type ChainBackend, type TxStatus, TxRejectedError, estimateFor } from "./backend.js";
import {
  PayoutError,
  planBatch,
  type BatchCheck,
  type PlannedTx,
  signPlanned,
  validatePayouts,
  type Payout,
  type SignedBatchTx,
  type ValidPayout,
  type WalletUtxo,
} from "./batch.js";
import { planBump, type BumpSource } from "./bump.js";
import { planJoin } from "./join.js";
import type { WalletConfig } from "./config.js";
import { CHANGE, DEPOSIT, RECEIVE, WalletKeys, type Chain, type KeyRef } from "./keys.js";
import { walletLogger } from "./log.js";
import { networkLabel } from "./network.js";
import { feeRateFromSatPerVb, formatFeeRate, type FeeRate } from "./sizes.js";
import { type SpendLog, type WalletState, utcDay } from "./state.js";

export { PayoutError, type BatchCheck, type Payout, type PayoutErrorCode, type SignedBatchTx, type SignedInput, type WalletUtxo } from "./batch.js";
export type { BumpSource } from "./bump.js";

export interface WalletSnapshot {
  utxos: WalletUtxo[];
  confirmedSats: bigint;
  unconfirmedSats: bigint;
  /** Lowest index per chain not seen used on the chain. */
  firstUnused: { receive: number; change: number };
}

/** An output paying one of the wallet's watched addresses, as the chain shows it now. */
export interface WatchedOutput {
  txid: string;
  vout: number;
  address: string;
  sats: bigint;
  /** 0 in the mempool. */
  confirmations: number;
  /** Receive (chain 0 of account 0: `wallet address`) or a deposit address (the deposit account). */
  branch: "receive" | "deposit";
  index: number;
}

/** What the chain shows for every watched address, read in full: an output not listed is not there. */
export interface ChainWatch {
  tipHeight: number;
  outputs: WatchedOutput[];
  /** Every address read, and which it is: only outputs of these may be judged gone. */
  scanned: Array<{ address: string; branch: "receive" | "deposit"; index: number }>;
}

/** A join (RBF adding outputs) signed, or not signed because it would cost at least what was set against it. */
export type JoinOutcome = { kind: "signed"; tx: SignedBatchTx; extraFee: bigint } | { kind: "dearer"; extraFee: bigint };

export interface BatchPlan {
  transactions: SignedBatchTx[];
  feeRate: FeeRate;
}

export type BroadcastOutcome =
  | { txid: string; status: "sent" }
  | { txid: string; status: "rejected"; reason: string }
  /** The backend could not be reached; the transaction may or may not have arrived. Safe to resend. */
  | { txid: string; status: "unknown"; reason: string };

/** Where a signed transaction stands, as the backend sees it. */
export type TxInspection =
  | { state: "confirmed"; confirmations: number; blockHeight: number }
  | { state: "mempool" }
  /** Not known, and a coin it spends was spent by another transaction `by`. */
  | { state: "conflicted"; by: string; confirmed: boolean; confirmations: number }
  /** Not known and nothing conflicts: never arrived, or dropped from mempools. Safe to resend. */
  | { state: "unknown" };

export interface BuildOptions {
  feeRate?: FeeRate;
  /**
   * Outpoints ("txid:vout") never to spend: the inputs of transactions signed
   * earlier (stored by the caller) that may still confirm. The wallet's own
   * memory of what it signed does not survive a restart; this does.
   */
  exclude?: Iterable<string>;
  /**
   * Payouts an operator approved above PAYOUT_MAX_TX_SATS: payout id → the exact sats approved.
   * Each such payout goes in a transaction of its own, which PAYOUT_MAX_TX_SATS does not bound;
   * PAYOUT_DAILY_CAP_SATS still does. A payout whose amount differs from its approval is refused.
   */
  overTxCap?: ReadonlyMap<string, bigint>;
}

/** Answers "could buildBatch pay these now?" from one sync, without signing or reserving anything. */
export interface BatchPlanner {
  check(payouts: readonly Payout[], opts?: Pick<BuildOptions, "overTxCap">): BatchCheck;
}

/** What planning needs of the wallet's state, read once. */
interface Prepared {
  coins: WalletUtxo[];
  feeRate: FeeRate;
  tipHeight: number;
  firstUnusedChange: number;
  nextChange: number;
  day: string;
}

/** The txid of a raw transaction. Throws on anything that is not one. */
export function txidOf(hex: string): string {
  try {
    return bitcoin.Transaction.fromHex(hex.trim()).getId();
  } catch {
    throw new TypeError("Not a raw Bitcoin transaction in hex");
  }
}

/**
 * Node answers to a resent transaction that mean it already has it (Bitcoin
 * Core's and Esplora's wordings across versions): the transaction is out.
 */
const ALREADY_KNOWN = /txn-already-known|txn-already-in-mempool|transaction already in block ?chain|transaction outputs already in utxo set|already in (the )?mempool/i;
/** Inputs gone: either it was mined (then it is ours that spent them) or something else spent them. */
const INPUTS_SPENT = /bad-txns-inputs-missingorspent|missing ?inputs|missingorspent/i;

export interface PayoutWalletOptions {
  config: WalletConfig;
  backend: ChainBackend;
  state: WalletState;
  spendLog: SpendLog;
  /** Parent logger (e.g. Probot's app.log); redaction is added on top. */
  logger?: Logger;
  now?: () => Date;
  /**
   * The deposit addresses handed out (store/deposits.ts), by index on the deposit chain, for the
   * wallet `depositWallet` names: their coins are the wallet's own, counted and spent like any.
   */
  deposits?: { issuedIndexes(depositWallet: string): Promise<number[]> };
}

const DISCOVERY_CONCURRENCY = 8;

/**
 * The payout engine: keeps the wallet in sync with the chain, builds signed
 * RBF batch transactions under the spending caps, and broadcasts them.
 */
export class PayoutWallet {
  readonly #keys: WalletKeys;
  readonly #config: WalletConfig;
  readonly #backend: ChainBackend;
  readonly #state: WalletState;
  readonly #spendLog: SpendLog;
  readonly #log: Logger;
  readonly #now: () => Date;
  readonly #deposits: PayoutWalletOptions["deposits"];
  /** Deposit indexes known to be handed out: from the store, and from every watch() call. */
  readonly #depositIndexes = new Set<number>();
  #snapshot: WalletSnapshot | undefined;
  /** Outpoints spent by transactions this process signed; not offered to coin selection again. */
  readonly #locked = new Set<string>();
  /** Fee bumps this process signed: their coins stay locked when one is dropped, as the original still spends them. */
  readonly #bumps = new Set<string>();
  /** Joins this process signed: the coins each added to the original's. */
  readonly #joined = new Map<string, string[]>();
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(opts: PayoutWalletOptions, keys: WalletKeys, log: Logger) {
    this.#keys = keys;
    this.#config = opts.config;
    this.#backend = opts.backend;
    this.#state = opts.state;
    this.#spendLog = opts.spendLog;
    this.#log = log;
    this.#now = opts.now ?? (() => new Date());
    this.#deposits = opts.deposits;
  }

  /** Derives the wallet; refuses mainnet unless it was chosen explicitly, and a mnemonic with a bad checksum. */
  static async open(opts: PayoutWalletOptions): Promise<PayoutWallet> {
    const { config } = opts;
    if (config.network === "bitcoin" && !config.mainnetConfirmed) {
      throw new PayoutError("not-allowed", "Refusing to run on Bitcoin mainnet: set BITCOIN_NETWORK=bitcoin explicitly to spend real money.");
    }
    const keys = WalletKeys.fromMnemonic(config.mnemonic.reveal(), {
      network: config.network,
      script: config.script,
      passphrase: config.passphrase.reveal(),
      source: "The wallet mnemonic",
    });
    const log = walletLogger({ parent: opts.logger });
    log.info(
      { network: config.network, script: config.script, accountPath: keys.accountPath, esplora: withoutCredentials(config.esploraUrl) },
      `Bitcoin payout wallet ready on ${networkLabel(config.network)}`,
    );
    return new PayoutWallet(opts, keys, log);
  }

  get network() {
    return this.#config.network;
  }

  /** PAYOUT_MAX_TX_SATS and PAYOUT_DAILY_CAP_SATS. */
  get limits(): { maxTxSats: bigint; dailyCapSats: bigint } {
    return { maxTxSats: this.#config.maxTxSats, dailyCapSats: this.#config.dailyCapSats };
  }

  /** The account xpub, for watching the wallet elsewhere. */
  get accountXpub(): string {
    return this.#keys.accountXpub();
  }

  get accountPath(): string {
    return this.#keys.accountPath;
  }

  /** Names this wallet's deposit addresses in the database: the deposit account's xpub (a new mnemonic, script or network is another wallet). */
  get depositWallet(): string {
    return this.#keys.depositXpub();
  }

  /** The deposit address at `index` of the deposit chain (m/84'/coin'/1'/0/index). */
  depositAddress(index: number): string {
    return this.#keys.address({ chain: DEPOSIT, index });
  }

  /**
   * Syncs (counting the given deposit indexes as the wallet's from now on), then reads the whole
   * history of every used receive address and every given deposit address. Any backend error
   * propagates: a partial view must never make a deposit look gone.
   */
  async watch(depositIndexes: readonly number[]): Promise<ChainWatch> {
    for (const i of depositIndexes) this.#depositIndexes.add(i);
    const snap = await this.sync();
    const targets: Array<{ branch: "receive" | "deposit"; index: number; address: string }> = [];
    // Every receive address handed out, not only those the chain shows used: one whose only
    // payment a reorganisation took away must still be read, or its receipt would never be reversed.
    const receiveEnd = Math.max(snap.firstUnused.receive, await this.#state.nextIndex(RECEIVE));
    for (let index = 0; index < receiveEnd; index++) {
      targets.push({ branch: "receive", index, address: this.#keys.address({ chain: RECEIVE, index }) });
    }
    for (const index of [...new Set(depositIndexes)].sort((a, b) => a - b)) {
      targets.push({ branch: "deposit", index, address: this.depositAddress(index) });
    }
    const tipHeight = await this.#backend.getTipHeight();
    const histories = await mapLimit(targets, DISCOVERY_CONCURRENCY, (t) => this.#backend.getAddressTxs(t.address));
    const outputs: WatchedOutput[] = [];
    targets.forEach((t, i) => {
      for (const tx of histories[i]!) {
        const confirmations = tx.confirmed && tx.blockHeight !== undefined ? Math.max(0, tipHeight - tx.blockHeight + 1) : 0;
        for (const o of tx.outputs) {
          if (o.address !== t.address) continue;
          outputs.push({ txid: tx.txid, vout: o.vout, address: t.address, sats: o.value, confirmations, branch: t.branch, index: t.index });
        }
      }
    });
    return { tipHeight, outputs, scanned: targets };
  }

  /** Gap-limit discovery of both chains and their coins. */
  sync(): Promise<WalletSnapshot> {
    return this.#serial(() => this.#sync());
  }

  /** A fresh address to fund the wallet with. */
  receiveAddress(): Promise<string> {
    return this.#serial(async () => {
      const snap = this.#snapshot ?? (await this.#sync());
      const index = await this.#freshIndex(RECEIVE, snap.firstUnused.receive);
      await this.#state.markUsed(RECEIVE, index);
      return this.#keys.address({ chain: RECEIVE, index });
    });
  }

  /** The backend's estimate for FEE_TARGET_BLOCKS, clamped to [1 sat/vB, FEE_MAX_SAT_VB]. */
  async feeRate(): Promise<FeeRate> {
    const estimates = await this.#backend.getFeeEstimates();
    const satVb = estimateFor(estimates, this.#config.feeTargetBlocks);
    if (satVb === undefined) {
      this.#log.warn("The fee estimator returned nothing; using the minimum fee rate (the transaction signals RBF)");
      return this.#config.minFeeRate;
    }
    return this.#clampFeeRate(feeRateFromSatPerVb(satVb));
  }

  /**
   * Builds and signs the transactions paying `payouts`: one, unless the
   * batch is past PAYOUT_MAX_OUTPUTS or the weight limit. Checks addresses,
   * dust and the spending caps first; on any problem throws PayoutError and
   * signs nothing. Signed transactions count against the daily cap. The one
   * exception to PAYOUT_MAX_TX_SATS is opts.overTxCap: exactly the payouts an
   * operator approved above it, each in a transaction of its own.
   */
  buildBatch(payouts: readonly Payout[], opts: BuildOptions = {}): Promise<BatchPlan> {
    return this.#serial(() => this.#buildBatch(payouts, opts));
  }

  /**
   * Syncs once and returns a planner that says, for any set of payouts, whether buildBatch would
   * build them now (same coins, fee rate and caps) or which PayoutError it would throw. Nothing is
   * signed, locked or reserved; a later buildBatch may still differ if the chain moves meanwhile.
   */
  planner(opts: Omit<BuildOptions, "overTxCap"> = {}): Promise<BatchPlanner> {
    return this.#serial(async () => {
      const prep = await this.#prepare(opts);
      const already = await this.#spendLog.spentOn(prep.day);
      return {
        check: (payouts, o = {}) => {
          try {
            const total = spentBy(this.#plan(validatePayouts(payouts, this.#config.network), prep, o.overTxCap));
            if (already + total > this.#config.dailyCapSats) return { ok: false, error: this.#overDailyCap(total, already, prep.day) };
            return { ok: true, spentSats: total };
          } catch (e) {
            if (e instanceof PayoutError) return { ok: false, error: e };
            throw e;
          }
        },
      };
    });
  }

  /**
   * Signs a replacement (BIP125 RBF) of a transaction this wallet signed and
   * broadcast earlier: the same inputs, every output but the change
   * identical, a higher fee at `feeRate` (clamped like buildBatch) taken from
   * the change — dropped if it would fall below dust and what is left still
   * meets the rules. Refuses with PayoutError "cannot-bump" when the rules
   * cannot be met, there is no change, or the original is confirmed, already
   * replaced, or has its change spent by a later transaction; "over-daily-cap"
   * when payouts + new fee do not fit today's cap. Nothing is signed then.
   * The replacement is reserved against the daily cap under its own txid;
   * releasing the original's reservation once it is replaced is the caller's.
   * Send it with broadcast({ transactions: [bumped], feeRate }).
   * PAYOUT_MAX_TX_SATS does not bound the bump of a transaction paying only
   * one payout approved above it (opts.overTxCap, as for buildBatch, for the
   * exact sats of its output); the daily cap does.
   */
  bump(prev: BumpSource, feeRate: FeeRate, opts: Pick<BuildOptions, "overTxCap"> = {}): Promise<SignedBatchTx> {
    return this.#serial(() => this.#bump(prev, feeRate, opts.overTxCap));
  }

  /**
   * Signs a replacement (BIP125 RBF) of a transaction this wallet broadcast that pays each of its
   * outputs the same and `payouts` too (join.ts planJoin): its coins, more confirmed ones as
   * needed, the change formed again, at `feeRate` (clamped like buildBatch) or the least BIP125
   * allows. Only when its fee beyond the original's is below `cheaperThan`; otherwise "dearer" and
   * nothing is signed. Refuses like bump() when the original is confirmed or replaced or its change
   * is spent. Reserved against the daily cap under its own txid, like a bump.
   */
  join(prev: BumpSource, payouts: readonly Payout[], feeRate: FeeRate, opts: { exclude?: Iterable<string>; cheaperThan: bigint }): Promise<JoinOutcome> {
    return this.#serial(() => this.#join(prev, payouts, feeRate, opts));
  }

  /** Sends a plan's transactions in order. Rejected ones are released from the daily cap. */
  broadcast(plan: BatchPlan): Promise<BroadcastOutcome[]> {
    return this.#serial(() => this.#broadcast(plan));
  }

  /**
   * Sends a transaction signed earlier, unchanged (after a restart, or when
   * it dropped out of mempools). A node that already has it counts as sent.
   * Neither the daily cap nor the wallet's coins are touched: the
   * transaction was counted when it was signed.
   */
  async rebroadcast(hex: string): Promise<BroadcastOutcome> {
    const outcome = await this.#send(hex, txidOf(hex));
    if (outcome.status === "sent") this.#log.info({ txid: outcome.txid }, "Rebroadcast payout transaction");
    else this.#log.warn({ txid: outcome.txid, status: outcome.status, reason: outcome.reason }, "Could not rebroadcast a payout transaction");
    return outcome;
  }

  /**
   * Where a transaction signed earlier stands. When the backend does not know
   * it, each input ("txid:vout") is checked for another transaction spending
   * the same coin; a confirmed conflict is reported before an unconfirmed one.
   * Backend errors propagate: the answer is then "ask again later".
   */
  async inspect(txid: string, inputs: readonly string[]): Promise<TxInspection> {
    const seen = await this.#fromStatus(await this.#backend.getTxStatus(txid));
    if (seen) return seen;
    let pending: TxInspection | undefined;
    for (const input of inputs) {
      const [prevTxid, vout] = parseOutpoint(input);
      const o = await this.#backend.getOutspend(prevTxid, vout);
      if (!o.spent || o.txid === undefined) continue;
      if (o.txid === txid) {
        // Arrived between the two questions: ask again.
        return (await this.#fromStatus(await this.#backend.getTxStatus(txid))) ?? { state: "mempool" };
      }
      if (o.confirmed) {
        const height = o.blockHeight ?? (await this.#backend.getTxStatus(o.txid))?.blockHeight;
        // Confirmed but no height given: at least one confirmation, the least this can claim.
        const confirmations = height === undefined ? 1 : (await this.#backend.getTipHeight()) - height + 1;
        return { state: "conflicted", by: o.txid, confirmed: true, confirmations };
      }
      pending ??= { state: "conflicted", by: o.txid, confirmed: false, confirmations: 0 };
    }
    return pending ?? { state: "unknown" };
  }

  /** The balance as of the last sync (a payout run syncs), without asking the chain; undefined before the first. */
  lastBalance(): { confirmedSats: bigint; unconfirmedSats: bigint } | undefined {
    const snap = this.#snapshot;
    return snap && { confirmedSats: snap.confirmedSats, unconfirmedSats: snap.unconfirmedSats };
  }

  /** Confirmed and unconfirmed coins, from a fresh sync. */
  async balance(): Promise<{ confirmedSats: bigint; unconfirmedSats: bigint }> {
    const { confirmedSats, unconfirmedSats } = await this.sync();
    return { confirmedSats, unconfirmedSats };
  }

  /** buildBatch + broadcast. */
  async payBatch(payouts: readonly Payout[], opts: BuildOptions = {}): Promise<{ plan: BatchPlan; outcomes: BroadcastOutcome[] }> {
    const plan = await this.buildBatch(payouts, opts);
    const outcomes = await this.broadcast(plan);
    return { plan, outcomes };
  }

  /** How deep a payout transaction is: 0 in the mempool, undefined if the backend does not know it. */
  async confirmations(txid: string): Promise<number | undefined> {
    const status = await this.#backend.getTxStatus(txid);
    if (!status) return undefined;
    if (!status.confirmed || status.blockHeight === undefined) return 0;
    return (await this.#backend.getTipHeight()) - status.blockHeight + 1;
  }

  /** Forgets a plan that will not be broadcast: its coins become spendable again and its cap reservation is released. */
  abandon(plan: BatchPlan): Promise<void> {
    return this.#serial(async () => {
      for (const t of plan.transactions) {
        this.#unlock(t);
        await this.#spendLog.release(t.txid);
      }
    });
  }

  toJSON(): object {
    return { network: this.#config.network, script: this.#config.script, accountPath: this.#keys.accountPath };
  }

  // ---------------------------------------------------------------------------

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Coin selection may spend the inputs of `t` again; not those of a fee bump, which the original still spends. */
  #unlock(t: SignedBatchTx): void {
    for (const id of this.#joined.get(t.txid) ?? []) this.#locked.delete(id);
    if (this.#bumps.has(t.txid)) return;
    for (const i of t.inputs) this.#locked.delete(`${i.txid}:${i.vout}`);
  }

  #clampFeeRate(rate: FeeRate): FeeRate {
    if (rate < this.#config.minFeeRate) return this.#config.minFeeRate;
    if (rate > this.#config.maxFeeRate) {
      this.#log.warn(
        { wanted: formatFeeRate(rate), max: formatFeeRate(this.#config.maxFeeRate) },
        "Fee rate above FEE_MAX_SAT_VB; clamped",
      );
      return this.#config.maxFeeRate;
    }
    return rate;
  }

  /**
   * A never-handed-out index, but never more than gapLimit past the last used
   * one: a wallet restored from the mnemonic scans exactly that far, so every
   * coin stays visible to it. Indexes handed out but never used on chain may
   * be handed out again; that is not address reuse.
   */
  async #freshIndex(chain: Chain, firstUnused: number): Promise<number> {
    const next = Math.max(await this.#state.nextIndex(chain), firstUnused);
    return next < firstUnused + this.#config.gapLimit ? next : firstUnused;
  }

  async #sync(): Promise<WalletSnapshot> {
    const [receive, change, deposits] = await Promise.all([this.#discover(RECEIVE), this.#discover(CHANGE), this.#depositCoins()]);
    const utxos = [...receive.utxos, ...change.utxos, ...deposits];
    const live = new Set(utxos.map((u) => u.id));
    for (const id of this.#locked) if (!live.has(id)) this.#locked.delete(id);
    let confirmedSats = 0n;
    let unconfirmedSats = 0n;
    for (const u of utxos) {
      if (u.confirmed) confirmedSats += u.value;
      else unconfirmedSats += u.value;
    }
    this.#snapshot = {
      utxos,
      confirmedSats,
      unconfirmedSats,
      firstUnused: { receive: receive.firstUnused, change: change.firstUnused },
    };
    this.#log.info(
      {
        confirmedSats: confirmedSats.toString(),
        unconfirmedSats: unconfirmedSats.toString(),
        coins: utxos.length,
        firstUnused: this.#snapshot.firstUnused,
      },
      "Wallet synced",
    );
    return this.#snapshot;
  }

  /** The coins on every deposit address handed out (no gap scan: the store knows each index). */
  async #depositCoins(): Promise<WalletUtxo[]> {
    if (this.#deposits) for (const i of await this.#deposits.issuedIndexes(this.depositWallet)) this.#depositIndexes.add(i);
    const indexes = [...this.#depositIndexes].sort((a, b) => a - b);
    const found = await mapLimit(indexes, DISCOVERY_CONCURRENCY, async (index) => {
      const ref: KeyRef = { chain: DEPOSIT, index };
      const address = this.#keys.address(ref);
      return (await this.#backend.getUtxos(address)).map<WalletUtxo>((u) => ({
        id: `${u.txid}:${u.vout}`,
        txid: u.txid,
        vout: u.vout,
        value: u.value,
        inputType: this.#keys.script,
        ref,
        address,
        confirmed: u.confirmed,
      }));
    });
    return found.flat();
  }

  /** Scans a chain until gapLimit consecutive addresses have never been used. */
  async #discover(chain: Chain): Promise<{ utxos: WalletUtxo[]; firstUnused: number }> {
    const gap = this.#config.gapLimit;
    const utxos: WalletUtxo[] = [];
    let lastUsed = -1;
    let scanned = 0;
    while (scanned <= lastUsed + gap) {
      const end = lastUsed + gap;
      const indexes: number[] = [];
      for (let i = scanned; i <= end; i++) indexes.push(i);
      scanned = end + 1;
      const results = await mapLimit(indexes, DISCOVERY_CONCURRENCY, async (index) => {
        const ref: KeyRef = { chain, index };
        const address = this.#keys.address(ref);
        const count = await this.#backend.getAddressTxCount(address);
        if (count === 0) return { index, used: false, utxos: [] as WalletUtxo[] };
        const found = await this.#backend.getUtxos(address);
        return {
          index,
          used: true,
          utxos: found.map<WalletUtxo>((u) => ({
            id: `${u.txid}:${u.vout}`,
            txid: u.txid,
            vout: u.vout,
            value: u.value,
            inputType: this.#keys.script,
            ref,
            address,
            confirmed: u.confirmed,
          })),
        };
      });
      for (const r of results) {
        if (r.used) lastUsed = Math.max(lastUsed, r.index);
        utxos.push(...r.utxos);
      }
    }
    return { utxos, firstUnused: lastUsed + 1 };
  }

  async #prepare(opts: BuildOptions): Promise<Prepared> {
    const exclude = new Set(opts.exclude ?? []);
    const feeRate = this.#clampFeeRate(opts.feeRate ?? (await this.feeRate()));
    const snap = await this.#sync();
    const tipHeight = await this.#backend.getTipHeight();
    // Spend confirmed coins, and our own unconfirmed change; never someone else's unconfirmed coins.
    const coins = snap.utxos.filter(
      (u) => (u.confirmed || u.ref.chain === CHANGE) && !this.#locked.has(u.id) && !exclude.has(u.id),
    );
    const nextChange = Math.max(await this.#state.nextIndex(CHANGE), snap.firstUnused.change);
    return { coins, feeRate, tipHeight, firstUnusedChange: snap.firstUnused.change, nextChange, day: utcDay(this.#now()) };
  }

  /** Plans (no signing) the transactions paying `valid`; throws PayoutError as buildBatch does. */
  #plan(valid: ValidPayout[], prep: Prepared, overTxCap: ReadonlyMap<string, bigint> = new Map()): PlannedTx[] {
    const alone = new Set<string>();
    for (const p of valid) {
      const approved = overTxCap.get(p.id);
      if (approved === undefined) continue;
      if (approved !== p.sats) {
        throw new PayoutError(
          "not-allowed",
          `Payout ${p.id} was approved above PAYOUT_MAX_TX_SATS for ${approved} sats, not ${p.sats}. Nothing was signed.`,
          [{ payoutId: p.id, reason: `approved for ${approved} sats, not ${p.sats}` }],
        );
      }
      alone.add(p.id);
    }
    let nextChange = prep.nextChange;
    return planBatch(valid, {
      keys: this.#keys,
      coins: prep.coins,
      feeRate: prep.feeRate,
      longTermFeeRate: this.#config.longTermFeeRate,
      maxOutputs: this.#config.maxOutputs,
      maxTxSats: this.#config.maxTxSats,
      alone,
      tipHeight: prep.tipHeight,
      // Fresh, but never past the gap limit a restoring wallet scans (see #freshIndex).
      nextChangeIndex: () => {
        const index = nextChange < prep.firstUnusedChange + this.#config.gapLimit ? nextChange : prep.firstUnusedChange;
        nextChange = index + 1;
        return index;
      },
    });
  }

  #overDailyCap(total: bigint, already: bigint, day: string): PayoutError {
    return new PayoutError(
      "over-daily-cap",
      `This batch would send ${total} sats, but ${already} of the ${this.#config.dailyCapSats} sats allowed today (UTC ${day}, PAYOUT_DAILY_CAP_SATS) are already spent. Nothing was signed.`,
    );
  }

  async #buildBatch(payouts: readonly Payout[], opts: BuildOptions): Promise<BatchPlan> {
    const valid = validatePayouts(payouts, this.#config.network);
    const prep = await this.#prepare(opts);
    const { feeRate, day } = prep;
    const planned = this.#plan(valid, prep, opts.overTxCap);
    const total = spentBy(planned);
    const already = await this.#spendLog.spentOn(day);
    if (already + total > this.#config.dailyCapSats) throw this.#overDailyCap(total, already, day);
    // Reserve before signing: every signed transaction counts against the cap.
    const reserved: string[] = [];
    for (const p of planned) {
      const txid = p.tx.getId();
      const r = await this.#spendLog.reserve(
        { txid, dayUtc: day, sats: p.fee + p.payoutSats, payoutIds: p.payouts.map((c) => c.id) },
        this.#config.dailyCapSats,
      );
      if (!r.ok) {
        for (const id of reserved) await this.#spendLog.release(id);
        throw new PayoutError(
          "over-daily-cap",
          `This batch would exceed PAYOUT_DAILY_CAP_SATS of ${this.#config.dailyCapSats} sats for UTC ${day} (${r.spentSats} already spent). Nothing was signed.`,
        );
      }
      reserved.push(txid);
    }

    const transactions: SignedBatchTx[] = [];
    for (const p of planned) {
      const signed = signPlanned(p, this.#keys, feeRate);
      if (p.change) await this.#state.markUsed(CHANGE, p.change.index);
      for (const c of p.inputs) this.#locked.add(c.id);
      transactions.push(signed);
      this.#log.info(
        {
          txid: signed.txid,
          payouts: p.payouts.length,
          inputs: p.inputs.length,
          payoutSats: signed.payoutSats.toString(),
          feeSats: signed.fee.toString(),
          vsize: signed.vsize,
          feeRate: formatFeeRate(feeRate),
          change: signed.change ? { vout: signed.change.vout, sats: signed.change.sats.toString(), index: signed.change.index } : null,
        },
        p.payouts.some((c) => opts.overTxCap?.has(c.id)) ? "Signed an approved payout above PAYOUT_MAX_TX_SATS, alone" : "Signed payout batch",
      );
    }
    return { transactions, feeRate };
  }

  async #bump(prev: BumpSource, requested: FeeRate, overTxCap?: ReadonlyMap<string, bigint>): Promise<SignedBatchTx> {
    const feeRate = this.#clampFeeRate(requested);
    // Above PAYOUT_MAX_TX_SATS only as far as the daily cap, whose reservation below still applies.
    const maxTxSats = paysOnlyApproved(prev, overTxCap) ? this.#config.dailyCapSats : this.#config.maxTxSats;
    const p = planBump(prev, { keys: this.#keys, feeRate, requestedFeeRate: requested, maxTxSats });
    const old = p.old.txid;
    const refuse = (why: string) => new PayoutError("cannot-bump", `Cannot fee-bump ${old}: ${why} Nothing was signed.`);

    // A replacement of a mined or already replaced transaction could never confirm.
    const seen = await this.inspect(old, p.inputs.map((c) => c.id));
    if (seen.state === "confirmed") throw refuse(`it is already confirmed (${seen.confirmations} confirmation(s)).`);
    if (seen.state === "conflicted") {
      throw refuse(`${seen.by} already spends its coins${seen.confirmed ? " and is confirmed" : "; bump that one instead"}.`);
    }
    if (seen.state === "mempool" && prev.change) {
      // The node would evict the spender too and ask the replacement to pay for it as well.
      const o = await this.#backend.getOutspend(old, prev.change.vout);
      if (o.spent && o.txid !== undefined) {
        throw refuse(`its change is spent by ${o.txid}, which a replacement would evict; bump that one instead.`);
      }
    }

    const txid = p.tx.getId();
    const day = utcDay(this.#now());
    const sats = p.payoutSats + p.fee;
    // Reserve before signing, like any signed transaction; both count until the original's reservation is released.
    const r = await this.#spendLog.reserve({ txid, dayUtc: day, sats, payoutIds: [...p.outputs.keys()] }, this.#config.dailyCapSats);
    if (!r.ok) {
      throw new PayoutError(
        "over-daily-cap",
        `The fee bump of ${old} would send ${sats} sats (${p.payoutSats} in payouts + ${p.fee} fee), but ${r.spentSats} of the ` +
          `${this.#config.dailyCapSats} sats allowed today (UTC ${day}, PAYOUT_DAILY_CAP_SATS) are already spent ` +
          `(the original's reservation counts until it is released). Nothing was signed.`,
      );
    }
    let signed: SignedBatchTx;
    try {
      signed = signPlanned(p, this.#keys, feeRate);
    } catch (e) {
      await this.#spendLog.release(txid);
      throw e;
    }
    if (p.change) await this.#state.markUsed(CHANGE, p.change.index);
    for (const c of p.inputs) this.#locked.add(c.id);
    this.#bumps.add(txid);
    this.#log.info(
      {
        replaces: old,
        txid,
        oldFeeSats: p.old.fee.toString(),
        feeSats: signed.fee.toString(),
        oldFeeRate: formatFeeRate((p.old.fee * 1000n) / BigInt(p.old.vsize)),
        feeRate: formatFeeRate((signed.fee * 1000n) / BigInt(signed.vsize)),
        targetFeeRate: formatFeeRate(feeRate),
        vsize: signed.vsize,
        change: signed.change ? { vout: signed.change.vout, sats: signed.change.sats.toString(), index: signed.change.index } : null,
      },
      p.changeDropped ? "Signed a fee bump (RBF) of a payout batch; its change went to fee" : "Signed a fee bump (RBF) of a payout batch",
    );
    return signed;
  }

  async #join(prev: BumpSource, payouts: readonly Payout[], requested: FeeRate, opts: { exclude?: Iterable<string>; cheaperThan: bigint }): Promise<JoinOutcome> {
    const valid = validatePayouts(payouts, this.#config.network);
    const prep = await this.#prepare({ exclude: opts.exclude, feeRate: requested });
    let nextChange = prep.nextChange;
    const p = planJoin(prev, valid, {
      keys: this.#keys,
      feeRate: prep.feeRate,
      longTermFeeRate: this.#config.longTermFeeRate,
      // BIP125 rule 2: a replacement adds no unconfirmed inputs.
      coins: prep.coins.filter((c) => c.confirmed),
      maxTxSats: this.#config.maxTxSats,
      maxOutputs: this.#config.maxOutputs,
      nextChangeIndex: () => {
        const index = nextChange < prep.firstUnusedChange + this.#config.gapLimit ? nextChange : prep.firstUnusedChange;
        nextChange = index + 1;
        return index;
      },
    });
    if (p.extraFee >= opts.cheaperThan) return { kind: "dearer", extraFee: p.extraFee };
    const old = p.old.txid;
    const refuse = (why: string) => new PayoutError("cannot-bump", `Cannot add payouts to ${old}: ${why} Nothing was signed.`);
    const seen = await this.inspect(old, prev.inputs.map((c) => `${c.txid}:${c.vout}`));
    if (seen.state === "confirmed") throw refuse(`it is already confirmed (${seen.confirmations} confirmation(s)).`);
    if (seen.state === "conflicted") throw refuse(`${seen.by} already spends its coins.`);
    if (seen.state === "mempool" && prev.change) {
      const o = await this.#backend.getOutspend(old, prev.change.vout);
      if (o.spent && o.txid !== undefined) throw refuse(`its change is spent by ${o.txid}, which a replacement would evict.`);
    }
    const txid = p.tx.getId();
    const sats = p.payoutSats + p.fee;
    const r = await this.#spendLog.reserve({ txid, dayUtc: prep.day, sats, payoutIds: [...p.outputs.keys()] }, this.#config.dailyCapSats);
    if (!r.ok) {
      throw new PayoutError(
        "over-daily-cap",
        `Adding payouts to ${old} would send ${sats} sats, but ${r.spentSats} of the ${this.#config.dailyCapSats} sats allowed today ` +
          `(UTC ${prep.day}, PAYOUT_DAILY_CAP_SATS) are already spent (the original's reservation counts until it is released). Nothing was signed.`,
      );
    }
    let signed: SignedBatchTx;
    try {
      signed = signPlanned(p, this.#keys, prep.feeRate);
      // What it pays per vB as signed (BIP125 may ask more than the rate asked for): never above FEE_MAX_SAT_VB.
      const rate = (signed.fee * 1000n) / BigInt(signed.vsize);
      if (rate > this.#config.maxFeeRate) {
        throw refuse(`BIP125 asks ${formatFeeRate(rate)} sat/vB of the replacement, above FEE_MAX_SAT_VB (${formatFeeRate(this.#config.maxFeeRate)}).`);
      }
      signed = { ...signed, feeRate: rate };
    } catch (e) {
      await this.#spendLog.release(txid);
      throw e;
    }
    if (p.change) await this.#state.markUsed(CHANGE, p.change.index);
    for (const c of p.inputs) this.#locked.add(c.id);
    // Given up, only the added coins are free again: the original still spends its own.
    this.#bumps.add(txid);
    this.#joined.set(txid, p.added.map((c) => c.id));
    this.#log.info(
      { replaces: old, txid, payouts: valid.length, added: p.added.length, oldFeeSats: p.old.fee.toString(), feeSats: signed.fee.toString(), vsize: signed.vsize },
      "Signed a replacement (RBF) of a payout batch that adds payouts to it",
    );
    return { kind: "signed", tx: signed, extraFee: p.extraFee };
  }

  async #broadcast(plan: BatchPlan): Promise<BroadcastOutcome[]> {
    const outcomes: BroadcastOutcome[] = [];
    for (const t of plan.transactions) {
      const outcome = await this.#send(t.hex, t.txid);
      outcomes.push(outcome);
      if (outcome.status === "sent") {
        this.#log.info({ txid: t.txid, feeSats: t.fee.toString(), vsize: t.vsize }, "Broadcast payout batch");
      } else if (outcome.status === "rejected") {
        // Definitively refused: the coins are still ours and the money did not leave.
        this.#unlock(t);
        await this.#spendLog.release(t.txid);
        this.#log.error({ txid: t.txid, reason: outcome.reason }, "The network rejected a payout batch");
      } else {
        this.#log.error({ txid: t.txid, reason: outcome.reason }, "Could not broadcast a payout batch; it is safe to resend");
      }
    }
    return outcomes;
  }

  /**
   * Submits a raw transaction. "Already have it" answers are sent (a resend,
   * or a retried POST whose first attempt arrived); "inputs missing or spent"
   * is sent only when the backend knows this very transaction.
   */
  async #send(hex: string, txid: string): Promise<BroadcastOutcome> {
    try {
      const got = await this.#backend.broadcast(hex);
      if (got !== txid) this.#log.warn({ expected: txid, got }, "Backend returned a different txid");
      return { txid, status: "sent" };
    } catch (e) {
      if (!(e instanceof TxRejectedError)) return { txid, status: "unknown", reason: message(e) };
      if (ALREADY_KNOWN.test(e.reason)) return { txid, status: "sent" };
      if (INPUTS_SPENT.test(e.reason)) {
        let status: TxStatus | undefined;
        try {
          status = await this.#backend.getTxStatus(txid);
        } catch (err) {
          return { txid, status: "unknown", reason: `${e.reason}; and checking whether it is already mined failed: ${message(err)}` };
        }
        if (status) return { txid, status: "sent" };
      }
      return { txid, status: "rejected", reason: e.reason };
    }
  }

  async #fromStatus(status: TxStatus | undefined): Promise<TxInspection | undefined> {
    if (!status) return undefined;
    if (!status.confirmed) return { state: "mempool" };
    if (status.blockHeight === undefined) throw new Error("The backend reported a confirmed transaction without its block height");
    const confirmations = (await this.#backend.getTipHeight()) - status.blockHeight + 1;
    return { state: "confirmed", confirmations, blockHeight: status.blockHeight };
  }
}

/** The transaction pays one payout, approved above PAYOUT_MAX_TX_SATS for exactly its output's sats, and at most change. */
function paysOnlyApproved(prev: BumpSource, overTxCap: ReadonlyMap<string, bigint> | undefined): boolean {
  if (!overTxCap?.size || prev.outputs?.size !== 1) return false;
  const [[id, vout]] = [...prev.outputs];
  const approved = overTxCap.get(id);
  let tx: bitcoin.Transaction;
  try {
    tx = bitcoin.Transaction.fromHex(prev.hex.trim());
  } catch {
    return false;
  }
  const out = tx.outs[vout];
  return approved !== undefined && out !== undefined && BigInt(out.value) === approved && tx.outs.length === (prev.change ? 2 : 1);
}

/** What planned transactions send: payouts + fees. */
function spentBy(planned: readonly PlannedTx[]): bigint {
  return planned.reduce((sum, p) => sum + p.fee + p.payoutSats, 0n);
}

function parseOutpoint(outpoint: string): [string, number] {
  const m = /^([0-9a-f]{64}):(\d{1,10})$/.exec(outpoint);
  if (!m) throw new TypeError(`Not an outpoint "txid:vout": ${JSON.stringify(outpoint.slice(0, 80))}`);
  return [m[1]!, Number(m[2])];
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** The Esplora URL for a log line: no password, user token or API key in its query. */
function withoutCredentials(url: string): string {
  return redact(url).replace(/\/$/, "");
}
