/**
 * The ledger's rules, without I/O: which accounts exist, what a transfer may do to their
 * balances, and why one is refused. `store/ledger.ts` holds the SQL that applies them under row
 * locks; nothing else writes a balance.
 *
 * Double entry in sats, in the manner of TigerBeetle: a transfer moves a positive amount from its
 * debit account to its credit account, and every account's balance is its credits less its debits.
 * The wallet account is the other side of everything that reaches or leaves the chain, so its
 * balance is minus what the wallet holds; summed over all accounts the balances are always zero.
 */

export const ACCOUNT_KINDS = ["wallet", "treasury", "fees", "funds", "earnings", "escrow", "charity", "grant"] as const;
export type AccountKind = (typeof ACCOUNT_KINDS)[number];

/** What an escrow account holds money for. */
export const ESCROW_PURPOSES = ["pledge", "question", "survey", "tip"] as const;
export type EscrowPurpose = (typeof ESCROW_PURPOSES)[number];

export interface AccountSpec {
  /** Unique and stable: `wallet`, `treasury`, `fees`, `funds:<user id>`, `earnings:<user id>`, `escrow:<purpose>:<id>`, `charity:<id>`. */
  key: string;
  kind: AccountKind;
  /** The person it belongs to (funds, earnings), by numeric GitHub id. */
  userId: number | null;
}

/** The wallet's on-chain assets: debited by coins received, credited by coins sent; its balance is minus what it holds. */
export const WALLET: AccountSpec = { key: "wallet", kind: "wallet", userId: null };
/** The organisation's own money: what funders commit. It may owe more than it holds (pledges ahead of funding). */
export const TREASURY: AccountSpec = { key: "treasury", kind: "treasury", userId: null };
/** Network fees: charged to whoever pays a transaction's fee, then paid to the network (to the wallet account). */
export const FEES: AccountSpec = { key: "fees", kind: "fees", userId: null };

/** A person's deposited, spendable sats. */
export const fundsOf = (userId: number): AccountSpec => ({ key: `funds:${userId}`, kind: "funds", userId });
/** What has been credited to a person (awards, answers, tips, rewards), paid out automatically. */
export const earningsOf = (userId: number): AccountSpec => ({ key: `earnings:${userId}`, kind: "earnings", userId });
/** Money held for one bounty pledge, question or survey until it is paid to someone or returned. */
export const escrowOf = (purpose: EscrowPurpose, id: bigint | number | string): AccountSpec => ({
  key: `escrow:${purpose}:${id}`,
  kind: "escrow",
  userId: null,
});
/** What a charity is owed (donations and unclaimed awards) until it is paid on chain. */
export const charityOf = (charityId: string): AccountSpec => ({ key: `charity:${charityId}`, kind: "charity", userId: null });

/**
 * What the treasury has set aside for one API token's rewards (a CI system paying per call): funded
 * each period, never overdrawn, what is left returned when the period ends or the token is revoked.
 */
export const grantOf = (tokenId: bigint | number | string): AccountSpec => ({ key: `grant:${tokenId}`, kind: "grant", userId: null });

/** The account a key names, or null when it is not a key the ledger makes. */
export function accountFromKey(key: string): AccountSpec | null {
  if (key === WALLET.key) return WALLET;
  if (key === TREASURY.key) return TREASURY;
  if (key === FEES.key) return FEES;
  let m = /^(funds|earnings):([1-9]\d{0,15})$/.exec(key);
  if (m) {
    const userId = Number(m[2]);
    if (!Number.isSafeInteger(userId)) return null;
    return m[1] === "funds" ? fundsOf(userId) : earningsOf(userId);
  }
  m = /^escrow:(pledge|question|survey|tip):([A-Za-z0-9_.-]{1,64})$/.exec(key);
  if (m) return escrowOf(m[1] as EscrowPurpose, m[2]!);
  m = /^charity:([A-Za-z0-9_.-]{1,64})$/.exec(key);
  if (m) return charityOf(m[1]!);
  m = /^grant:([1-9]\d{0,18})$/.exec(key);
  if (m) return grantOf(m[1]!);
  return null;
}

/**
 * Accounts that hold someone's money can never be overdrawn (TigerBeetle's
 * debits_must_not_exceed_credits). The wallet, the treasury and the fee account are the
 * organisation's side and may run negative.
 */
export function mayOverdraw(kind: AccountKind): boolean {
  return kind === "wallet" || kind === "treasury" || kind === "fees";
}

/** An account's totals, as kept on its row. */
export interface Balance {
  debitsPosted: bigint;
  creditsPosted: bigint;
  debitsPending: bigint;
  creditsPending: bigint;
}

export const ZERO: Balance = { debitsPosted: 0n, creditsPosted: 0n, debitsPending: 0n, creditsPending: 0n };

/** Credits less debits, posted only. */
export const postedBalance = (b: Balance): bigint => b.creditsPosted - b.debitsPosted;
/** What may still be spent: posted balance less what pending transfers have reserved. */
export const availableBalance = (b: Balance): bigint => b.creditsPosted - b.debitsPosted - b.debitsPending;

/** Why money moved; each kind is documented in the README's ledger section. */
export const TRANSFER_KINDS = [
  // Coins received on the wallet's own receive addresses: wallet → treasury.
  "treasury_receipt",
  // A person's deposit, confirmed: wallet → funds; and its reversal after a reorganisation.
  "deposit",
  "deposit_reversal",
  // An award credited from the treasury: treasury → earnings.
  "award",
  // Escrow (pending) from a person or the treasury into an escrow account, and its release to whoever earned it.
  "escrow",
  "escrow_release",
  // Earnings that go to a charity (unclaimed, or `/wallet donate`): earnings → charity.
  "donation",
  // A payout leaving the wallet: earnings, charity or funds → wallet.
  "payout",
  // A transaction's network fee charged to the treasury (or a withdrawal), then paid to the network.
  "fee",
  "fee_paid",
  // A correcting transfer: a mistake (or a fee bump that did not confirm) undone by moving money back.
  "correction",
  // An API token's budget funded from the treasury for a period, and what is left returned to it.
  "grant",
  "grant_return",
  // A reward through the rewards API: grant → earnings.
  "reward",
] as const;
export type TransferKind = (typeof TRANSFER_KINDS)[number];

export type Phase = "single" | "pending" | "post" | "void";

/** Kinds that may overdraw a personal account: only taking back a deposit the chain no longer has. */
const OVERDRAFT_KINDS: ReadonlySet<TransferKind> = new Set(["deposit_reversal"]);

/** The most sats there are; no amount is larger. */
export const MAX_SATS = 21_000_000n * 100_000_000n;

export interface TransferRequest {
  /** Idempotency key: a second transfer with the same key records nothing (same fields) or is refused (different). */
  key: string;
  debit: AccountSpec;
  credit: AccountSpec;
  sats: bigint;
  kind: TransferKind;
  /** A pending (two-phase) transfer: reserves its amount until posted or voided (or `timeoutAt` passes). */
  pending?: { timeoutAt: Date | null };
  /** Free references for people and reports: award id, payout id, txid, outpoint… (strings). */
  ref?: Record<string, string>;
}

export type Decision = { ok: true; debit: Balance; credit: Balance } | { ok: false; reason: string };

/** Checks what can be checked without balances; null when the request is well formed. */
export function malformed(t: TransferRequest): string | null {
  if (typeof t.key !== "string" || t.key.length === 0 || t.key.length > 200) return "a transfer needs a key of 1 to 200 characters";
  if (typeof t.sats !== "bigint" || t.sats <= 0n) return `a transfer moves a positive whole number of sats, not ${String(t.sats)}`;
  if (t.sats > MAX_SATS) return `a transfer cannot move more than ${MAX_SATS} sats`;
  if (!TRANSFER_KINDS.includes(t.kind)) return `unknown transfer kind "${String(t.kind)}"`;
  if (t.debit.key === t.credit.key) return `a transfer needs two different accounts, not ${t.debit.key} twice`;
  for (const a of [t.debit, t.credit]) {
    const known = accountFromKey(a.key);
    if (!known || known.kind !== a.kind) return `unknown account "${a.key}"`;
  }
  if (t.pending?.timeoutAt && Number.isNaN(t.pending.timeoutAt.getTime())) return "a pending transfer's timeout must be a time";
  return null;
}

/** What a single-phase or pending transfer does to its two accounts, or why it is refused. */
export function decideTransfer(t: TransferRequest, debit: Balance, credit: Balance): Decision {
  const bad = malformed(t);
  if (bad) return { ok: false, reason: bad };
  if (!mayOverdraw(t.debit.kind) && !OVERDRAFT_KINDS.has(t.kind)) {
    const available = availableBalance(debit);
    if (available < t.sats) {
      return {
        ok: false,
        reason: `${describeAccount(t.debit)} has ${available < 0n ? 0n : available} sats available, ${t.sats - (available < 0n ? 0n : available)} short of ${t.sats}`,
      };
    }
  }
  if (t.pending) {
    return {
      ok: true,
      debit: { ...debit, debitsPending: debit.debitsPending + t.sats },
      credit: { ...credit, creditsPending: credit.creditsPending + t.sats },
    };
  }
  return {
    ok: true,
    debit: { ...debit, debitsPosted: debit.debitsPosted + t.sats },
    credit: { ...credit, creditsPosted: credit.creditsPosted + t.sats },
  };
}

/** A pending transfer as recorded, for posting or voiding it. */
export interface PendingTransfer {
  id: bigint;
  key: string;
  sats: bigint;
  debit: AccountSpec;
  credit: AccountSpec;
  timeoutAt: Date | null;
  /** How it was resolved already, if it was. */
  resolved: "posted" | "voided" | null;
}

/**
 * Posting a pending transfer moves `sats` (all of it, or part: the rest goes back to the debit
 * account) from reserved to posted; voiding returns all of it. Either happens exactly once.
 */
export function decideResolve(
  p: PendingTransfer,
  how: { post: bigint } | "void",
  debit: Balance,
  credit: Balance,
): Decision {
  if (p.resolved) return { ok: false, reason: `pending transfer ${p.key} was already ${p.resolved}` };
  if (debit.debitsPending < p.sats || credit.creditsPending < p.sats) {
    // Only a corrupted balance row gets here; refuse rather than make it worse.
    return { ok: false, reason: `the accounts of pending transfer ${p.key} do not hold its reservation of ${p.sats} sats` };
  }
  const released = {
    debit: { ...debit, debitsPending: debit.debitsPending - p.sats },
    credit: { ...credit, creditsPending: credit.creditsPending - p.sats },
  };
  if (how === "void") return { ok: true, ...released };
  if (typeof how.post !== "bigint" || how.post <= 0n) return { ok: false, reason: `post a positive amount of sats, or void it (not ${String(how.post)})` };
  if (how.post > p.sats) return { ok: false, reason: `cannot post ${how.post} sats of pending transfer ${p.key}, which reserved ${p.sats}` };
  return {
    ok: true,
    debit: { ...released.debit, debitsPosted: released.debit.debitsPosted + how.post },
    credit: { ...released.credit, creditsPosted: released.credit.creditsPosted + how.post },
  };
}

/** Whether a pending transfer's timeout has passed. */
export const expired = (p: Pick<PendingTransfer, "timeoutAt" | "resolved">, now: Date): boolean =>
  p.resolved === null && p.timeoutAt !== null && p.timeoutAt.getTime() <= now.getTime();

export function describeAccount(a: AccountSpec): string {
  switch (a.kind) {
    case "funds":
      return "your funds";
    case "earnings":
      return "your earnings";
    case "escrow":
      return `escrow ${a.key.slice("escrow:".length)}`;
    case "charity":
      return `charity ${a.key.slice("charity:".length)}`;
    case "grant":
      return `the token's budget (${a.key})`;
    default:
      return `the ${a.kind}`;
  }
}

/** Lock order: always by key, so two transfers over the same accounts never wait for each other in a cycle. */
export const lockOrder = (keys: readonly string[]): string[] => [...new Set(keys)].sort();
