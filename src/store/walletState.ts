import type { Chain, WalletScript } from "../bitcoin/keys.js";
import { accountPath } from "../bitcoin/keys.js";
import type { NetworkName } from "../bitcoin/network.js";
import type { SpendEntry, SpendLog, WalletState } from "../bitcoin/state.js";
import type { Db, Queryable } from "./db.js";

/**
 * The payout wallet's bookkeeping in the database (tables from migration 2):
 * which derivation indexes were handed out, and what was spent per UTC day
 * against PAYOUT_DAILY_CAP_SATS.
 */

/** The key a wallet's rows are stored under: one account of one network, e.g. "testnet/m/84'/1'/0'". */
export function walletKey(network: NetworkName, script: WalletScript): string {
  return `${network}/${accountPath(network, script)}`;
}

/** wallet_indexes: one row per (wallet, chain); next_index only ever grows. */
export class DbWalletState implements WalletState {
  readonly #db: Queryable;
  readonly #wallet: string;

  /** `wallet` is the key its rows are stored under; given a network and script, walletKey() of them. */
  constructor(db: Queryable, wallet: string);
  constructor(db: Queryable, network: NetworkName, script: WalletScript);
  constructor(db: Queryable, wallet: string, script?: WalletScript) {
    const key = script === undefined ? wallet : walletKey(wallet as NetworkName, script);
    if (key === "") throw new Error("DbWalletState needs a wallet key");
    this.#db = db;
    this.#wallet = key;
  }

  async nextIndex(chain: Chain): Promise<number> {
    const [row] = await this.#db.query<{ next_index: number }>(
      "SELECT next_index FROM wallet_indexes WHERE wallet = $1 AND chain = $2",
      [this.#wallet, chain],
    );
    return row ? Number(row.next_index) : 0;
  }

  async markUsed(chain: Chain, index: number): Promise<void> {
    if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`Invalid derivation index ${index}`);
    // GREATEST: a slower process recording a lower index never moves the counter back.
    await this.#db.query(
      `INSERT INTO wallet_indexes (wallet, chain, next_index) VALUES ($1, $2, $3)
       ON CONFLICT (wallet, chain) DO UPDATE SET next_index = GREATEST(wallet_indexes.next_index, EXCLUDED.next_index)`,
      [this.#wallet, chain, index + 1],
    );
  }
}

/** Serialises every daily-cap check across processes; any constant no other lock uses. */
export const SPEND_CAP_LOCK = 724200303;

/** spend_reservations: one row per signed transaction, reserved before it is signed. */
export class DbSpendLog implements SpendLog {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  async spentOn(dayUtc: string): Promise<bigint> {
    return daySum(this.#db, dayUtc);
  }

  /**
   * Check and insert in one transaction under a transaction-scoped advisory
   * lock: a second process waits for the first to commit, then sees its row,
   * so two reservations can never both fit under the cap on their own.
   */
  async reserve(entry: SpendEntry, capSats: bigint): Promise<{ ok: true } | { ok: false; spentSats: bigint }> {
    return this.#db.transaction(async (tx) => {
      await tx.query("SELECT pg_advisory_xact_lock($1)", [SPEND_CAP_LOCK]);
      const [known] = await tx.query("SELECT 1 FROM spend_reservations WHERE txid = $1", [entry.txid]);
      if (known) return { ok: true as const };
      const spent = await daySum(tx, entry.dayUtc);
      if (spent + entry.sats > capSats) return { ok: false as const, spentSats: spent };
      await tx.query("INSERT INTO spend_reservations (txid, day_utc, sats, payout_ids) VALUES ($1, $2, $3, $4::jsonb)", [
        entry.txid,
        entry.dayUtc,
        entry.sats.toString(),
        JSON.stringify(entry.payoutIds),
      ]);
      return { ok: true as const };
    });
  }

  async release(txid: string): Promise<void> {
    await this.#db.query("DELETE FROM spend_reservations WHERE txid = $1", [txid]);
  }
}

async function daySum(db: Queryable, dayUtc: string): Promise<bigint> {
  const [row] = await db.query<{ sum: bigint | string }>(
    "SELECT COALESCE(SUM(sats), 0)::bigint AS sum FROM spend_reservations WHERE day_utc = $1",
    [dayUtc],
  );
  return BigInt(row?.sum ?? 0);
}
