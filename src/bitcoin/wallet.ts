import { randomInt } from "node:crypto";
import * as bitcoin from "bitcoinjs-lib";
import type { Logger } from "pino";
import { DUST_LIMIT, parseAddress, type AddressType } from "./address.js";
import { type ChainBackend, TxRejectedError, estimateFor } from "./backend.js";
import { selectCoins, MAX_STANDARD_WEIGHT, type Coin } from "./coinselect.js";
import type { WalletConfig } from "./config.js";
import { CHANGE, RECEIVE, WalletKeys, type Chain, type KeyRef } from "./keys.js";
import { walletLogger } from "./log.js";
import { networkLabel } from "./network.js";
import { OUTPUT_WEIGHT, feeRateFromSatPerVb, formatFeeRate, vsizeOf, type FeeRate } from "./sizes.js";
import { type SpendLog, type WalletState, utcDay } from "./state.js";

/** One contributor payment. `id` is the caller's payout id (e.g. the bounty row). */
export interface Payout {
  id: string;
  address: string;
  sats: bigint;
}

/** A coin the wallet owns, with the key that spends it. */
export interface WalletUtxo extends Coin {
  txid: string;
  vout: number;
  ref: KeyRef;
  address: string;
  confirmed: boolean;
}

export interface WalletSnapshot {
  utxos: WalletUtxo[];
  confirmedSats: bigint;
  unconfirmedSats: bigint;
  /** Lowest index per chain not seen used on the chain. */
  firstUnused: { receive: number; change: number };
}

export interface SignedBatchTx {
  txid: string;
  hex: string;
  fee: bigint;
  vsize: number;
  /** The engine's pre-signing estimate; never below vsize. */
  estimatedVsize: number;
  feeRate: FeeRate;
  /** Payout id → output index in this transaction. */
  outputs: Map<string, number>;
  change?: { vout: number; sats: bigint; address: string; index: number };
  inputs: Array<{ txid: string; vout: number; sats: bigint }>;
  /** What leaves the wallet: payouts + fee. */
  spentSats: bigint;
  payoutSats: bigint;
}

export interface BatchPlan {
  transactions: SignedBatchTx[];
  feeRate: FeeRate;
}

export type BroadcastOutcome =
  | { txid: string; status: "sent" }
  | { txid: string; status: "rejected"; reason: string }
  /** The backend could not be reached; the transaction may or may not have arrived. Safe to resend. */
  | { txid: string; status: "unknown"; reason: string };

export type PayoutErrorCode =
  | "invalid-payout"
  | "over-tx-cap"
  | "over-daily-cap"
  | "insufficient-funds"
  | "too-large"
  | "not-allowed";

/** Why a batch was refused. Nothing was signed when this is thrown. */
export class PayoutError extends Error {
  constructor(
    readonly code: PayoutErrorCode,
    message: string,
    readonly problems: Array<{ payoutId: string; reason: string }> = [],
  ) {
    super(message);
    this.name = "PayoutError";
  }
}

export interface PayoutWalletOptions {
  config: WalletConfig;
  backend: ChainBackend;
  state: WalletState;
  spendLog: SpendLog;
  /** Parent logger (e.g. Probot's app.log); redaction is added on top. */
  logger?: Logger;
  now?: () => Date;
}

/** An unsigned batch transaction and where its outputs went. */
interface Assembled {
  tx: bitcoin.Transaction;
  outputs: Map<string, number>;
  change: SignedBatchTx["change"];
}

const SEQUENCE_RBF = 0xfffffffd;
/** Leave room for inputs when splitting by weight. */
const OUTPUT_WEIGHT_BUDGET = 300_000;
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
  #snapshot: WalletSnapshot | undefined;
  /** Outpoints spent by transactions this process signed; not offered to coin selection again. */
  readonly #locked = new Set<string>();
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(opts: PayoutWalletOptions, keys: WalletKeys, log: Logger) {
    this.#keys = keys;
    this.#config = opts.config;
    this.#backend = opts.backend;
    this.#state = opts.state;
    this.#spendLog = opts.spendLog;
    this.#log = log;
    this.#now = opts.now ?? (() => new Date());
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
      { network: config.network, script: config.script, accountPath: keys.accountPath, esplora: config.esploraUrl },
      `Bitcoin payout wallet ready on ${networkLabel(config.network)}`,
    );
    return new PayoutWallet(opts, keys, log);
  }

  get network() {
    return this.#config.network;
  }

  /** The account xpub, for watching the wallet elsewhere. */
  get accountXpub(): string {
    return this.#keys.accountXpub();
  }

  get accountPath(): string {
    return this.#keys.accountPath;
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
   * signs nothing. Signed transactions count against the daily cap.
   */
  buildBatch(payouts: readonly Payout[], opts: { feeRate?: FeeRate } = {}): Promise<BatchPlan> {
    return this.#serial(() => this.#buildBatch(payouts, opts));
  }

  /** Sends a plan's transactions in order. Rejected ones are released from the daily cap. */
  broadcast(plan: BatchPlan): Promise<BroadcastOutcome[]> {
    return this.#serial(() => this.#broadcast(plan));
  }

  /** buildBatch + broadcast. */
  async payBatch(payouts: readonly Payout[], opts: { feeRate?: FeeRate } = {}): Promise<{ plan: BatchPlan; outcomes: BroadcastOutcome[] }> {
    const plan = await this.buildBatch(payouts, opts);
    const outcomes = await this.broadcast(plan);
    return { plan, outcomes };
  }

  /** Forgets a plan that will not be broadcast: its coins become spendable again and its cap reservation is released. */
  abandon(plan: BatchPlan): Promise<void> {
    return this.#serial(async () => {
      for (const t of plan.transactions) {
        for (const i of t.inputs) this.#locked.delete(`${i.txid}:${i.vout}`);
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
    const [receive, change] = await Promise.all([this.#discover(RECEIVE), this.#discover(CHANGE)]);
    const utxos = [...receive.utxos, ...change.utxos];
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

  #validate(payouts: readonly Payout[]): Array<Payout & { type: AddressType; script: Uint8Array }> {
    const problems: Array<{ payoutId: string; reason: string }> = [];
    const out: Array<Payout & { type: AddressType; script: Uint8Array }> = [];
    const ids = new Set<string>();
    for (const p of payouts) {
      const id = typeof p.id === "string" ? p.id : String(p.id);
      if (id === "") problems.push({ payoutId: id, reason: "The payout has no id." });
      else if (ids.has(id)) problems.push({ payoutId: id, reason: "The same payout id appears twice in the batch." });
      ids.add(id);
      if (typeof p.sats !== "bigint" || p.sats <= 0n) {
        problems.push({ payoutId: id, reason: "The amount must be a positive whole number of sats." });
        continue;
      }
      const parsed = parseAddress(p.address, this.#config.network);
      if (!parsed.ok) {
        problems.push({ payoutId: id, reason: parsed.reason });
        continue;
      }
      if (p.sats < DUST_LIMIT[parsed.type]) {
        problems.push({
          payoutId: id,
          reason: `${p.sats} sats is below the dust limit of ${DUST_LIMIT[parsed.type]} sats for a ${parsed.type.toUpperCase()} address; the network would not relay it.`,
        });
        continue;
      }
      out.push({ ...p, id, address: parsed.address, type: parsed.type, script: parsed.script });
    }
    if (payouts.length === 0) throw new PayoutError("invalid-payout", "The batch has no payouts.");
    if (problems.length > 0) {
      throw new PayoutError(
        "invalid-payout",
        `${problems.length} payout(s) cannot be paid: ${problems.map((p) => `${p.payoutId}: ${p.reason}`).join("; ")}`,
        problems,
      );
    }
    return out;
  }

  async #buildBatch(payouts: readonly Payout[], opts: { feeRate?: FeeRate }): Promise<BatchPlan> {
    const valid = this.#validate(payouts);
    const feeRate = this.#clampFeeRate(opts.feeRate ?? (await this.feeRate()));
    const snap = await this.#sync();
    const tip = await this.#backend.getTipHeight();

    // Spend confirmed coins, and our own unconfirmed change; never someone else's unconfirmed coins.
    let coins = snap.utxos.filter((u) => (u.confirmed || u.ref.chain === CHANGE) && !this.#locked.has(u.id));

    // Split only past the output count or weight limits.
    const chunks: (typeof valid)[] = [];
    let current: typeof valid = [];
    let weight = 0;
    for (const p of valid) {
      const w = OUTPUT_WEIGHT[p.type];
      if (current.length > 0 && (current.length >= this.#config.maxOutputs || weight + w > OUTPUT_WEIGHT_BUDGET)) {
        chunks.push(current);
        current = [];
        weight = 0;
      }
      current.push(p);
      weight += w;
    }
    chunks.push(current);

    // Plan and assemble every transaction before signing any, so a cap or
    // funding problem signs nothing. A segwit txid is fixed before signing,
    // so later transactions of a split batch can spend earlier change.
    type Planned = {
      chunk: typeof valid;
      inputs: WalletUtxo[];
      fee: bigint;
      weight: number;
      payoutSats: bigint;
      changeIndex?: number;
      assembled: Assembled;
    };
    const planned: Planned[] = [];
    let changeFloor = Math.max(await this.#state.nextIndex(CHANGE), snap.firstUnused.change);
    for (const chunk of chunks) {
      const payoutSats = chunk.reduce((s, p) => s + p.sats, 0n);
      const result = selectCoins({
        coins,
        payoutOutputs: chunk.map((p) => p.type),
        payoutTotal: payoutSats,
        changeType: this.#keys.script,
        feeRate,
        longTermFeeRate: this.#config.longTermFeeRate,
        maxWeight: MAX_STANDARD_WEIGHT,
      });
      if (!result.ok) throw new PayoutError(result.reason.includes("weight") ? "too-large" : "insufficient-funds", result.reason);
      const s = result.selection;
      const spent = payoutSats + s.fee;
      if (spent > this.#config.maxTxSats) {
        throw new PayoutError(
          "over-tx-cap",
          `This transaction would send ${spent} sats (${payoutSats} in payouts + ${s.fee} fee), over PAYOUT_MAX_TX_SATS of ${this.#config.maxTxSats}. Nothing was signed.`,
        );
      }
      const used = new Set(s.inputs.map((c) => c.id));
      coins = coins.filter((c) => !used.has(c.id));
      let changeIndex: number | undefined;
      if (s.change > 0n) {
        changeIndex = changeFloor < snap.firstUnused.change + this.#config.gapLimit ? changeFloor : snap.firstUnused.change;
        changeFloor = changeIndex + 1;
      }
      const assembled = this.#assemble(chunk, s.inputs, s.change, changeIndex, tip);
      if (assembled.change) {
        const txid = assembled.tx.getId();
        const ref: KeyRef = { chain: CHANGE, index: assembled.change.index };
        coins.push({
          id: `${txid}:${assembled.change.vout}`,
          txid,
          vout: assembled.change.vout,
          value: assembled.change.sats,
          inputType: this.#keys.script,
          ref,
          address: assembled.change.address,
          confirmed: false,
        });
      }
      planned.push({ chunk, inputs: s.inputs, fee: s.fee, weight: s.weight, payoutSats, changeIndex, assembled });
    }

    const day = utcDay(this.#now());
    const total = planned.reduce((sum, p) => sum + p.fee + p.payoutSats, 0n);
    const already = await this.#spendLog.spentOn(day);
    if (already + total > this.#config.dailyCapSats) {
      throw new PayoutError(
        "over-daily-cap",
        `This batch would send ${total} sats, but ${already} of the ${this.#config.dailyCapSats} sats allowed today (UTC ${day}, PAYOUT_DAILY_CAP_SATS) are already spent. Nothing was signed.`,
      );
    }
    const reserved: string[] = [];
    for (const p of planned) {
      const txid = p.assembled.tx.getId();
      const r = await this.#spendLog.reserve(
        { txid, dayUtc: day, sats: p.fee + p.payoutSats, payoutIds: p.chunk.map((c) => c.id) },
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
      const u = p.assembled;
      this.#sign(u.tx, p.inputs);
      const vsize = u.tx.virtualSize();
      const estimatedVsize = vsizeOf(p.weight);
      if (vsize > estimatedVsize) {
        // Would mean paying below the intended fee rate; never expected, never broadcast.
        throw new Error(`Internal error: signed size ${vsize} vB exceeds the estimate ${estimatedVsize} vB`);
      }
      if (p.changeIndex !== undefined) await this.#state.markUsed(CHANGE, p.changeIndex);
      for (const c of p.inputs) this.#locked.add(c.id);
      const payoutSats = p.payoutSats;
      const signed: SignedBatchTx = {
        txid: u.tx.getId(),
        hex: u.tx.toHex(),
        fee: p.fee,
        vsize,
        estimatedVsize,
        feeRate,
        outputs: u.outputs,
        change: u.change,
        inputs: p.inputs.map((c) => ({ txid: c.txid, vout: c.vout, sats: c.value })),
        spentSats: payoutSats + p.fee,
        payoutSats,
      };
      transactions.push(signed);
      this.#log.info(
        {
          txid: signed.txid,
          payouts: p.chunk.length,
          inputs: p.inputs.length,
          payoutSats: payoutSats.toString(),
          feeSats: p.fee.toString(),
          vsize,
          feeRate: formatFeeRate(feeRate),
          change: signed.change ? { vout: signed.change.vout, sats: signed.change.sats.toString(), index: signed.change.index } : null,
        },
        "Signed payout batch",
      );
    }
    return { transactions, feeRate };
  }

  #assemble(
    chunk: ReadonlyArray<Payout & { script: Uint8Array }>,
    inputs: readonly WalletUtxo[],
    change: bigint,
    changeIndex: number | undefined,
    tip: number,
  ): Assembled {
    const tx = new bitcoin.Transaction();
    tx.version = 2;
    // Anti-fee-sniping like Bitcoin Core: only valid in the next block or later.
    tx.locktime = tip;
    for (const c of inputs) tx.addInput(Uint8Array.from(Buffer.from(c.txid, "hex")).reverse(), c.vout, SEQUENCE_RBF);
    const n = chunk.length + (change > 0n ? 1 : 0);
    // Change at a random position, so it cannot be told apart by position.
    const changeVout = change > 0n ? randomInt(n) : -1;
    const outputs = new Map<string, number>();
    let p = 0;
    let changeInfo: SignedBatchTx["change"];
    for (let vout = 0; vout < n; vout++) {
      if (vout === changeVout) {
        const ref = { chain: CHANGE, index: changeIndex! };
        tx.addOutput(this.#keys.outputScript(ref), change);
        changeInfo = { vout, sats: change, address: this.#keys.address(ref), index: changeIndex! };
      } else {
        const payout = chunk[p++]!;
        tx.addOutput(payout.script, payout.sats);
        outputs.set(payout.id, vout);
      }
    }
    return { tx, outputs, change: changeInfo } satisfies Assembled;
  }

  #sign(tx: bitcoin.Transaction, inputs: readonly WalletUtxo[]): void {
    const scripts = inputs.map((c) => this.#keys.outputScript(c.ref));
    const values = inputs.map((c) => c.value);
    for (let i = 0; i < inputs.length; i++) {
      const c = inputs[i]!;
      let sighash: Uint8Array;
      if (c.inputType === "p2wpkh") {
        const program = scripts[i]!.subarray(2);
        const scriptCode = Uint8Array.from([0x76, 0xa9, 0x14, ...program, 0x88, 0xac]);
        sighash = tx.hashForWitnessV0(i, scriptCode, c.value, bitcoin.Transaction.SIGHASH_ALL);
      } else {
        sighash = tx.hashForWitnessV1(i, scripts, values, bitcoin.Transaction.SIGHASH_DEFAULT);
      }
      tx.setWitness(i, this.#keys.witness(c.ref, sighash));
    }
  }

  async #broadcast(plan: BatchPlan): Promise<BroadcastOutcome[]> {
    const outcomes: BroadcastOutcome[] = [];
    for (const t of plan.transactions) {
      try {
        const txid = await this.#backend.broadcast(t.hex);
        if (txid !== t.txid) this.#log.warn({ expected: t.txid, got: txid }, "Backend returned a different txid");
        outcomes.push({ txid: t.txid, status: "sent" });
        this.#log.info({ txid: t.txid, feeSats: t.fee.toString(), vsize: t.vsize }, "Broadcast payout batch");
      } catch (e) {
        if (e instanceof TxRejectedError) {
          // Definitively refused: the coins are still ours and the money did not leave.
          for (const i of t.inputs) this.#locked.delete(`${i.txid}:${i.vout}`);
          await this.#spendLog.release(t.txid);
          outcomes.push({ txid: t.txid, status: "rejected", reason: e.reason });
          this.#log.error({ txid: t.txid, reason: e.reason }, "The network rejected a payout batch");
        } else {
          const reason = e instanceof Error ? e.message : String(e);
          outcomes.push({ txid: t.txid, status: "unknown", reason });
          this.#log.error({ txid: t.txid, reason }, "Could not broadcast a payout batch; it is safe to resend");
        }
      }
    }
    return outcomes;
  }
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
