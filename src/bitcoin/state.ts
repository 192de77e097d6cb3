import type { Chain } from "./keys.js";

/**
 * Which derivation indexes the wallet has handed out, so an address is never
 * given twice even before the chain shows it used. The production version
 * lives in the database (one row per chain, next = GREATEST(next, index + 1)).
 */
export interface WalletState {
  /** Lowest index on this chain not yet handed out. */
  nextIndex(chain: Chain): Promise<number>;
  /** Records that `index` (and so every lower one) has been handed out; never moves backwards. */
  markUsed(chain: Chain, index: number): Promise<void>;
}

export class MemoryWalletState implements WalletState {
  #next: [number, number] = [0, 0];

  async nextIndex(chain: Chain): Promise<number> {
    return this.#next[chain];
  }

  async markUsed(chain: Chain, index: number): Promise<void> {
    this.#next[chain] = Math.max(this.#next[chain], index + 1);
  }
}

/** One signed transaction's outflow (payouts + fee), counted against the daily cap. */
export interface SpendEntry {
  txid: string;
  /** UTC calendar day, YYYY-MM-DD. */
  dayUtc: string;
  sats: bigint;
  payoutIds: string[];
}

/**
 * Daily spending, for PAYOUT_DAILY_CAP_SATS. reserve() must check and record
 * in one atomic step (in SQL: one transaction that locks the day's rows or
 * uses an advisory lock, sums them, and inserts only if the sum stays within
 * the cap), so two processes cannot both squeeze under the cap.
 */
export interface SpendLog {
  spentOn(dayUtc: string): Promise<bigint>;
  /** Records the entry unless the day's total would exceed capSats. Idempotent per txid. */
  reserve(entry: SpendEntry, capSats: bigint): Promise<{ ok: true } | { ok: false; spentSats: bigint }>;
  /** Forgets a transaction the network definitively refused, so it does not use up the cap. */
  release(txid: string): Promise<void>;
}

export class MemorySpendLog implements SpendLog {
  #entries = new Map<string, SpendEntry>();

  async spentOn(dayUtc: string): Promise<bigint> {
    return this.#sum(dayUtc);
  }

  #sum(dayUtc: string): bigint {
    let sum = 0n;
    for (const e of this.#entries.values()) if (e.dayUtc === dayUtc) sum += e.sats;
    return sum;
  }

  async reserve(entry: SpendEntry, capSats: bigint): Promise<{ ok: true } | { ok: false; spentSats: bigint }> {
    if (this.#entries.has(entry.txid)) return { ok: true };
    // No await between the check and the insert: atomic within this process.
    const spent = this.#sum(entry.dayUtc);
    if (spent + entry.sats > capSats) return { ok: false, spentSats: spent };
    this.#entries.set(entry.txid, { ...entry, payoutIds: [...entry.payoutIds] });
    return { ok: true };
  }

  async release(txid: string): Promise<void> {
    this.#entries.delete(txid);
  }

  entries(): SpendEntry[] {
    return [...this.#entries.values()];
  }
}

export function utcDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}
