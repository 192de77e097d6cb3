import type { Logger } from "pino";
import type { ChainWatch } from "../bitcoin/wallet.js";
import { decideDeposits, type AddressOwner, type DepositDecision } from "../ledger/deposits.js";
import type { Db } from "../store/db.js";
import {
  advanceOutpoint,
  listDepositAddresses,
  listOutpoints,
  markReceived,
  ownPayoutTxids,
  recordSeen,
} from "../store/deposits.js";
import { mustTransfer } from "../store/ledger.js";
import { queueReply } from "../store/outbox.js";

/** What watching needs of the payout wallet (src/bitcoin/wallet.ts PayoutWallet provides it). */
export interface DepositWatchEngine {
  /** The deposit account's xpub: names this wallet's deposit addresses in the store. */
  readonly depositWallet: string;
  watch(depositIndexes: readonly number[]): Promise<ChainWatch>;
}

export interface DepositWatchOptions {
  db: Db;
  wallet: DepositWatchEngine;
  /** DEPOSIT_CONFIRMATIONS. */
  confirmations: number;
  log: Logger;
  now?: () => Date;
  /** Woken when comments were queued. */
  onQueued?: () => void;
}

export interface DepositWatchReport {
  /** Transfer keys recorded in this pass. */
  credited: string[];
  reversed: string[];
  seen: number;
  /** Decisions whose transaction failed; the next pass decides them again. */
  failed: number;
}

export function isDepositWatchEngine(w: unknown): w is DepositWatchEngine {
  const x = w as Partial<DepositWatchEngine> | null;
  return typeof x?.watch === "function" && typeof x.depositWallet === "string";
}

/**
 * One pass: reads the whole history of every deposit address and receive address (the Esplora
 * backend fetches only what changed since its last read: src/bitcoin/esplora.ts), decides (ledger/deposits.ts)
 * and applies each decision in a transaction of its own — the outpoint's new state, its transfer
 * and its comment commit together, and the state moves only from the one decided on, so a crash
 * or a second process never credits or reverses twice. A chain error ends the pass before any
 * decision: a partial view must not make a deposit look gone.
 */
export async function watchDeposits(o: DepositWatchOptions): Promise<DepositWatchReport> {
  const wallet = o.wallet.depositWallet;
  const issued = await listDepositAddresses(o.db, wallet);
  const view = await o.wallet.watch(issued.map((a) => a.index));
  const addresses = new Map<string, AddressOwner>();
  for (const s of view.scanned) if (s.branch === "receive") addresses.set(s.address, { kind: "treasury" });
  for (const a of issued) {
    addresses.set(a.address, { kind: "deposit", addressId: a.id, userId: a.userId, login: a.login, where: a.where });
  }
  const receiveTxids = view.outputs.filter((x) => x.branch === "receive").map((x) => x.txid);
  const decisions = decideDeposits({
    addresses,
    scanned: new Set(view.scanned.map((s) => s.address)),
    outputs: view.outputs,
    ownTxids: await ownPayoutTxids(o.db, receiveTxids),
    recorded: await listOutpoints(o.db, wallet),
    confirmations: o.confirmations,
  });

  const report: DepositWatchReport = { credited: [], reversed: [], seen: 0, failed: 0 };
  let queued = false;
  for (const d of decisions) {
    try {
      const applied = await o.db.transaction((tx) => apply(tx, wallet, d, o.now?.() ?? new Date()));
      if (!applied) continue;
      if (d.action === "see") report.seen++;
      else {
        (d.action === "credit" ? report.credited : report.reversed).push(d.transfer.key);
        if (d.comment) queued = true;
        o.log.info(
          { key: d.transfer.key, sats: d.output.sats.toString(), outpoint: `${d.output.txid}:${d.output.vout}`, confirmations: d.output.confirmations },
          d.action === "credit"
            ? d.owner.kind === "deposit"
              ? "Deposit credited to the depositor's funds"
              : "Receipt credited to the treasury"
            : "A credited payment left the chain in a reorganisation; its credit was reversed",
        );
      }
    } catch (err) {
      report.failed++;
      o.log.error({ err, outpoint: `${d.output.txid}:${d.output.vout}`, action: d.action }, "Could not record a deposit decision; the next pass tries again");
    }
  }
  if (queued) o.onQueued?.();
  return report;
}

async function apply(tx: Parameters<Parameters<Db["transaction"]>[0]>[0], wallet: string, d: DepositDecision, at: Date): Promise<boolean> {
  const owner = d.owner;
  await recordSeen(
    tx,
    {
      txid: d.output.txid,
      vout: d.output.vout,
      wallet,
      address: d.output.address,
      owner: owner.kind,
      addressId: owner.kind === "deposit" ? owner.addressId : null,
      userId: owner.kind === "deposit" ? owner.userId : null,
      sats: d.output.sats,
    },
    at,
  );
  if (owner.kind === "deposit") await markReceived(tx, owner.addressId, at);
  if (d.action === "see") return true;
  // Someone else moved it since the decision: record nothing.
  if (!(await advanceOutpoint(tx, d.output, d.from, { ...d.to, ...(d.action === "credit" ? { sats: d.output.sats } : {}) }, at))) return false;
  await mustTransfer(tx, d.transfer);
  if (d.comment) await queueReply(tx, d.comment.dedupeKey, d.comment.where, d.comment.body);
  return true;
}

/** Watches on its own interval and before each payout run (PayoutScheduler calls runNow); one pass at a time. */
export class DepositWatcher {
  readonly #opts: DepositWatchOptions;
  #running: Promise<DepositWatchReport> | undefined;

  constructor(opts: DepositWatchOptions) {
    this.#opts = opts;
  }

  /** A pass now, or the one under way. Errors are logged and rethrown. */
  runNow(): Promise<DepositWatchReport> {
    if (!this.#running) {
      this.#running = watchDeposits(this.#opts)
        .catch((err) => {
          this.#opts.log.error({ err }, "Watching deposits failed; nothing was credited or reversed, the next pass tries again");
          throw err;
        })
        .finally(() => {
          this.#running = undefined;
        });
    }
    return this.#running;
  }

  async idle(): Promise<void> {
    await this.#running?.catch(() => undefined);
  }
}

/** How often deposits are watched between payout runs. */
export const DEPOSIT_WATCH_INTERVAL_MS = 30_000;
