import type { Queryable } from "./db.js";
import type { RepoRef } from "./outbox.js";

/**
 * Deposit addresses handed out by /deposit and the outputs seen paying the wallet (deposits and
 * treasury receipts). The rules are in ledger/deposits.ts; the watcher (payouts/deposits.ts)
 * applies each decision in one transaction with its ledger transfer. `wallet` is the deposit
 * account's xpub: another mnemonic, script or network is another wallet.
 */

export interface DepositAddress {
  id: bigint;
  wallet: string;
  index: number;
  address: string;
  userId: number;
  login: string;
  /** Where they last asked: the confirmation comments go there. */
  where: RepoRef & { issueNumber: number };
  issuedAt: Date;
  /** When the chain first showed a payment to it; from then on /deposit gives a fresh one. */
  receivedAt: Date | null;
}

export type OutpointState = "seen" | "credited" | "reversed";

export interface RecordedOutpoint {
  txid: string;
  vout: number;
  wallet: string;
  address: string;
  owner: "deposit" | "treasury";
  addressId: bigint | null;
  userId: number | null;
  sats: bigint;
  /** How many times it was credited: 0 while only seen. */
  generation: number;
  state: OutpointState;
}

type AddressRow = {
  id: bigint;
  wallet: string;
  derivation_index: number;
  address: string;
  user_id: bigint;
  login: string;
  installation_id: bigint;
  repo_owner: string;
  repo_name: string;
  issue_number: number;
  issued_at: Date;
  received_at: Date | null;
};

const toAddress = (r: AddressRow): DepositAddress => ({
  id: BigInt(r.id),
  wallet: r.wallet,
  index: Number(r.derivation_index),
  address: r.address,
  userId: Number(r.user_id),
  login: r.login,
  where: { installationId: Number(r.installation_id), owner: r.repo_owner, repo: r.repo_name, issueNumber: Number(r.issue_number) },
  issuedAt: new Date(r.issued_at),
  receivedAt: r.received_at === null ? null : new Date(r.received_at),
});

/**
 * The person's deposit address on this wallet: the one they have that has not received yet
 * (the place they asked is updated to this one), else a fresh index. The counter row is locked
 * by its update, so two requests never get the same index.
 */
export async function issueDepositAddress(
  tx: Queryable,
  req: { wallet: string; userId: number; login: string; where: RepoRef & { issueNumber: number }; at: Date },
  derive: (index: number) => string,
): Promise<DepositAddress & { fresh: boolean }> {
  const current = await tx.query<AddressRow>(
    `UPDATE deposit_addresses SET login = $3, installation_id = $4, repo_owner = $5, repo_name = $6, issue_number = $7
     WHERE wallet = $1 AND user_id = $2 AND received_at IS NULL RETURNING *`,
    [req.wallet, req.userId, req.login, req.where.installationId, req.where.owner, req.where.repo, req.where.issueNumber],
  );
  if (current[0]) return { ...toAddress(current[0]), fresh: false };
  const [counter] = await tx.query<{ index: number }>(
    `INSERT INTO deposit_wallets (wallet, next_index) VALUES ($1, 1)
     ON CONFLICT (wallet) DO UPDATE SET next_index = deposit_wallets.next_index + 1
     RETURNING next_index - 1 AS index`,
    [req.wallet],
  );
  const index = Number(counter!.index);
  const [row] = await tx.query<AddressRow>(
    `INSERT INTO deposit_addresses (wallet, derivation_index, address, user_id, login, installation_id, repo_owner, repo_name, issue_number, issued_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *`,
    [req.wallet, index, derive(index), req.userId, req.login, req.where.installationId, req.where.owner, req.where.repo, req.where.issueNumber, req.at],
  );
  return { ...toAddress(row!), fresh: true };
}

/** Every deposit address handed out on the wallet, oldest first. */
export async function listDepositAddresses(db: Queryable, wallet: string): Promise<DepositAddress[]> {
  const rows = await db.query<AddressRow>("SELECT * FROM deposit_addresses WHERE wallet = $1 ORDER BY derivation_index", [wallet]);
  return rows.map(toAddress);
}

/** The deposit chain indexes handed out on the wallet: what the payout wallet counts as its own. */
export async function issuedDepositIndexes(db: Queryable, wallet: string): Promise<number[]> {
  const rows = await db.query<{ derivation_index: number }>(
    "SELECT derivation_index FROM deposit_addresses WHERE wallet = $1 ORDER BY derivation_index",
    [wallet],
  );
  return rows.map((r) => Number(r.derivation_index));
}

/** From now on /deposit gives the person a fresh address. */
export async function markReceived(tx: Queryable, addressId: bigint, at: Date): Promise<void> {
  await tx.query("UPDATE deposit_addresses SET received_at = $2 WHERE id = $1 AND received_at IS NULL", [addressId, at]);
}

type OutpointRow = {
  txid: string;
  vout: number;
  wallet: string;
  address: string;
  owner: "deposit" | "treasury";
  address_id: bigint | null;
  user_id: bigint | null;
  sats: bigint;
  generation: number;
  state: OutpointState;
};

const toOutpoint = (r: OutpointRow): RecordedOutpoint => ({
  txid: r.txid,
  vout: Number(r.vout),
  wallet: r.wallet,
  address: r.address,
  owner: r.owner,
  addressId: r.address_id === null ? null : BigInt(r.address_id),
  userId: r.user_id === null ? null : Number(r.user_id),
  sats: BigInt(r.sats),
  generation: Number(r.generation),
  state: r.state,
});

export async function listOutpoints(db: Queryable, wallet: string): Promise<RecordedOutpoint[]> {
  const rows = await db.query<OutpointRow>("SELECT * FROM deposit_outpoints WHERE wallet = $1 ORDER BY seen_at, txid, vout", [wallet]);
  return rows.map(toOutpoint);
}

export async function findOutpoint(db: Queryable, txid: string, vout: number): Promise<RecordedOutpoint | null> {
  const rows = await db.query<OutpointRow>("SELECT * FROM deposit_outpoints WHERE txid = $1 AND vout = $2", [txid, vout]);
  return rows[0] ? toOutpoint(rows[0]) : null;
}

/** Records an output the first time it is seen (state 'seen'); a second call changes nothing. */
export async function recordSeen(
  tx: Queryable,
  o: Pick<RecordedOutpoint, "txid" | "vout" | "wallet" | "address" | "owner" | "addressId" | "userId" | "sats">,
  at: Date,
): Promise<void> {
  await tx.query(
    `INSERT INTO deposit_outpoints (txid, vout, wallet, address, owner, address_id, user_id, sats, generation, state, seen_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, 'seen', $9, $9) ON CONFLICT (txid, vout) DO NOTHING`,
    [o.txid, o.vout, o.wallet, o.address, o.owner, o.addressId, o.userId, o.sats, at],
  );
}

/**
 * Moves an outpoint from the state the decision was made on to the next one. False when it is
 * no longer in `from` (another process got there first): then the caller records nothing.
 */
export async function advanceOutpoint(
  tx: Queryable,
  o: { txid: string; vout: number },
  from: { state: OutpointState; generation: number },
  to: { state: OutpointState; generation: number; sats?: bigint },
  at: Date,
): Promise<boolean> {
  const rows = await tx.query<{ txid: string }>(
    `UPDATE deposit_outpoints SET state = $5, generation = $6, sats = COALESCE($7, sats), updated_at = $8
     WHERE txid = $1 AND vout = $2 AND state = $3 AND generation = $4 RETURNING txid`,
    [o.txid, o.vout, from.state, from.generation, to.state, to.generation, to.sats ?? null, at],
  );
  return rows.length === 1;
}

/** Which of these txids are the app's own payout transactions (their outputs to the wallet are not receipts). */
export async function ownPayoutTxids(db: Queryable, txids: readonly string[]): Promise<Set<string>> {
  if (txids.length === 0) return new Set();
  const rows = await db.query<{ txid: string }>("SELECT txid FROM payout_txs WHERE txid = ANY($1::text[])", [[...new Set(txids)]]);
  return new Set(rows.map((r) => r.txid));
}
