import { DUST_LIMIT, parseAddress, type AddressType } from "../bitcoin/address.js";
import type { PayoutErrorCode } from "../bitcoin/batch.js";
import type { NetworkName } from "../bitcoin/network.js";
import { feeFor, formatFeeRate, OUTPUT_WEIGHT, type FeeRate } from "../bitcoin/sizes.js";
import type { Amount } from "../core/money.js";
import { fiatToSats } from "../price/convert.js";
import { treasuryWaitReason } from "../ledger/solvency.js";
import type { CreditedAward, Payee } from "../store/payouts.js";
import { satsText } from "./comments.js";

/**
 * The pure rules of a payout run: what an award is worth in sats, where a credited award goes,
 * which balances are due, and which queued payouts a run pays. No I/O; src/payouts/run.ts applies them.
 */

/** Sats for an award's amounts at the given rates (major units per BTC, exact decimal text). BTC amounts are sats already. */
export function awardSats(amounts: readonly Amount[], rates: ReadonlyMap<string, string>): bigint {
  let sats = 0n;
  for (const a of amounts) {
    if (a.currency === "BTC") {
      sats += a.minor;
      continue;
    }
    const rate = rates.get(a.currency);
    if (rate === undefined) throw new Error(`no ${a.currency} rate`);
    sats += fiatToSats(a.minor, a.currency, rate);
  }
  return sats;
}

const DAY_MS = 86_400_000;

export type Destination =
  | { kind: "pay"; payee: Payee }
  /** No wallet yet: ask once; `unclaimedAt` says when it would go to the unclaimed charity, if one is set. */
  | { kind: "wait"; reason: string; askWallet: boolean; unclaimedAt: Date | null };

/**
 * Where a credited award goes: the recipient's wallet (an address, or a charity they chose);
 * without one, nowhere yet, until PAYOUT_UNCLAIMED_DAYS after they were asked, when it goes to
 * the repository's unclaimed charity (if it named one).
 */
export function destinationOf(
  award: CreditedAward,
  opts: { now: Date; unclaimedDays: number; network: string },
): Destination {
  const w = award.wallet;
  if (w) return walletDestination({ userId: award.recipientId, login: award.recipientLogin, wallet: w }, opts.network);
  const since = award.walletAskedAt;
  const charity = award.unclaimedCharity;
  const unclaimedAt = since && charity ? new Date(since.getTime() + opts.unclaimedDays * DAY_MS) : null;
  if (charity && unclaimedAt && opts.now >= unclaimedAt) {
    const parsed = parseAddress(charity.address, opts.network as NetworkName);
    if (!parsed.ok) {
      return {
        kind: "wait",
        reason: `the unclaimed charity ${charity.name}'s address is not valid on ${opts.network}: ${parsed.reason}`,
        askWallet: false,
        unclaimedAt,
      };
    }
    return {
      kind: "pay",
      payee: {
        kind: "charity",
        userId: award.recipientId,
        login: award.recipientLogin,
        charityId: charity.id,
        charityName: charity.name,
        address: charity.address,
        addressType: parsed.type,
        network: opts.network,
      },
    };
  }
  return { kind: "wait", reason: `@${award.recipientLogin} has not linked a wallet`, askWallet: since === null, unclaimedAt };
}

/**
 * Where a charity's own balance (answers donated with `/price … donate`) is paid: the one address
 * its answers recorded. None recorded, or two (two repositories naming different charities by one
 * id), or one not valid on this network: it waits, the money staying in the charity's account.
 */
export function charityDestination(
  c: { charityId: string; destinations: ReadonlyArray<{ name: string | null; address: string }> },
  network: string,
): { kind: "pay"; payee: Payee & { kind: "charity" } } | { kind: "wait"; reason: string } {
  if (c.destinations.length === 0) return { kind: "wait", reason: `no address is recorded for charity ${c.charityId}: its answers were donated before addresses were kept` };
  if (c.destinations.length > 1) {
    return { kind: "wait", reason: `charity ${c.charityId} has ${c.destinations.length} addresses in different configs (${c.destinations.map((d) => d.address).join(", ")}); an operator must settle which` };
  }
  const d = c.destinations[0]!;
  const parsed = parseAddress(d.address, network as NetworkName);
  if (!parsed.ok) return { kind: "wait", reason: `charity ${c.charityId}'s address is not valid on ${network}: ${parsed.reason}` };
  return {
    kind: "pay",
    payee: { kind: "charity", userId: null, login: null, charityId: c.charityId, charityName: d.name ?? c.charityId, address: d.address, addressType: parsed.type, network },
  };
}

/** Where a person's payouts go when they linked a wallet: their address, or the charity they chose. */
export function walletDestination(
  who: { userId: number; login: string; wallet: NonNullable<CreditedAward["wallet"]> },
  network: string,
): Destination {
  const w = who.wallet;
  if (w.network !== network) {
    return {
      kind: "wait",
      reason: `@${who.login}'s wallet is a ${w.network} address but payouts are made on ${network}`,
      askWallet: false,
      unclaimedAt: null,
    };
  }
  return {
    kind: "pay",
    payee: {
      kind: w.kind === "charity" ? "charity" : "user",
      userId: who.userId,
      login: who.login,
      charityId: w.charityId,
      charityName: w.charityName,
      address: w.address,
      addressType: w.addressType,
      network: w.network,
    },
  };
}

export interface DueBalance {
  payee: Payee;
  awards: CreditedAward[];
  /**
   * Earnings beyond the awards, by person: what tips, answers, survey responses and rewards credited
   * (positive), or award sats the person has since spent, e.g. on a backed pledge (negative).
   */
  extras: Map<number, bigint>;
  /** A charity's own balance paid with it (answers donated by `/price … donate`), beyond what people give it. */
  own: bigint;
  sats: bigint;
}

/**
 * What each person's earnings hold beyond their unpaid credited awards: the ledger is the truth of
 * what is owed to them; awards only say which bounty it came from.
 */
export function earningsBeyondAwards(
  available: ReadonlyArray<{ userId: number; sats: bigint }>,
  awards: ReadonlyArray<Pick<CreditedAward, "recipientId" | "sats">>,
): Map<number, bigint> {
  const byUser = new Map<number, bigint>();
  for (const a of awards) byUser.set(a.recipientId, (byUser.get(a.recipientId) ?? 0n) + a.sats);
  const extras = new Map<number, bigint>();
  const seen = new Set<number>();
  for (const e of available) {
    seen.add(e.userId);
    const extra = e.sats - (byUser.get(e.userId) ?? 0n);
    if (extra !== 0n) extras.set(e.userId, extra);
  }
  // Credited awards whose recipient has nothing available: spent (escrowed) since.
  for (const [userId, sats] of byUser) if (!seen.has(userId)) extras.set(userId, -sats);
  return extras;
}

/** The smallest balance worth paying to this payee: PAYOUT_MIN_SATS, and never below dust. */
export function payableMinimum(addressType: string, minSats: bigint): bigint {
  const dust = DUST_LIMIT[addressType as AddressType] ?? 546n;
  return minSats > dust ? minSats : dust;
}

/**
 * A withdrawal's share of its batch's network fee: its output's vbytes at the batch's rate, rounded
 * up (the rest of the fee, and any later fee bump, is the treasury's). Throws on an address type the
 * wallet cannot size, so nothing is paid on a guess.
 */
export function withdrawalFeeShare(addressType: string, feeRate: FeeRate): bigint {
  const weight = OUTPUT_WEIGHT[addressType as AddressType];
  if (weight === undefined) throw new Error(`cannot size an output of address type ${addressType}`);
  return feeFor(weight, feeRate);
}

/** The output's vbytes by address type, for replies. */
export function outputVbytes(addressType: string): number | undefined {
  const weight = OUTPUT_WEIGHT[addressType as AddressType];
  return weight === undefined ? undefined : weight / 4;
}

/**
 * What a withdrawal of `sats` to an address of this type pays at `feeRate`: the amount less its fee
 * share, which must stay at payableMinimum (PAYOUT_MIN_SATS, never below dust); else it waits.
 */
export function withdrawalOutput(
  w: { sats: bigint; addressType: string },
  feeRate: FeeRate,
  minSats: bigint,
): { ok: true; sats: bigint; share: bigint } | { ok: false; share: bigint; reason: string } {
  const share = withdrawalFeeShare(w.addressType, feeRate);
  const out = w.sats - share;
  const min = payableMinimum(w.addressType, minSats);
  if (out >= min) return { ok: true, sats: out, share };
  return {
    ok: false,
    share,
    reason:
      `after its share of the network fee (${satsText(share)}: its output's ${outputVbytes(w.addressType)} vB at ${formatFeeRate(feeRate)} sat/vB) ` +
      `the withdrawal would pay ${satsText(out > 0n ? out : 0n)}, below the ${satsText(min)} minimum; it waits for lower fees`,
  };
}

/**
 * Groups what is payable by payee address: awards, earnings beyond them (`extra`, by person) and a
 * charity's own balance (`own`); a group is due once it reaches payableMinimum. A group worth
 * nothing (its awards spent) is neither.
 */
export function dueBalances(
  payable: ReadonlyArray<
    { award: CreditedAward; payee: Payee } | { extra: { userId: number; sats: bigint }; payee: Payee } | { own: bigint; payee: Payee & { kind: "charity" } }
  >,
  minSats: bigint,
): { due: DueBalance[]; pending: DueBalance[] } {
  const groups = new Map<string, DueBalance>();
  for (const line of payable) {
    const payee = line.payee;
    if ("own" in line) {
      const key = `charity ${payee.address}`;
      let g = groups.get(key);
      if (!g) {
        g = { payee: { ...payee, userId: null, login: null }, awards: [], extras: new Map(), own: 0n, sats: 0n };
        groups.set(key, g);
      }
      // The charity's own money: the payout is the charity's, not one person's.
      g.payee = { ...g.payee, userId: null, login: null };
      g.own += line.own;
      g.sats += line.own;
      continue;
    }
    const userId = "award" in line ? line.award.recipientId : line.extra.userId;
    // One output per payee: a person's own address, or a charity (whoever it is on behalf of).
    const key = payee.kind === "charity" ? `charity ${payee.address}` : `user ${payee.userId} ${payee.address}`;
    let g = groups.get(key);
    if (!g) {
      g = { payee: payee.kind === "charity" ? { ...payee } : payee, awards: [], extras: new Map(), own: 0n, sats: 0n };
      groups.set(key, g);
    }
    if (g.payee.kind === "charity" && g.payee.userId !== userId) {
      // Several people's money to one charity: the payout is the charity's, not one person's.
      g.payee = { ...g.payee, userId: null, login: null };
    }
    if ("award" in line) {
      g.awards.push(line.award);
      g.sats += line.award.sats;
    } else {
      g.extras.set(userId, (g.extras.get(userId) ?? 0n) + line.extra.sats);
      g.sats += line.extra.sats;
    }
  }
  const due: DueBalance[] = [];
  const pending: DueBalance[] = [];
  for (const g of groups.values()) {
    if (g.sats <= 0n) continue;
    (g.sats >= payableMinimum(g.payee.addressType, minSats) ? due : pending).push(g);
  }
  return { due, pending };
}

/** Why a set of payouts cannot be paid: the wallet engine's reason, or the treasury's reserve (treasuryFit). */
export type FitCode = PayoutErrorCode | "treasury";

/** Whether a set of payouts can be paid now, as the wallet engine (and the reserve) would answer. */
export type Fit = { ok: true } | { ok: false; code: FitCode; reason: string };

/**
 * The treasury never spends coins that cover people's money: of what a batch spends (payouts and
 * fee), all but what is paid out of people's own funds comes from the treasury, and must fit in
 * what the wallet holds beyond the reserve (SolvencyReport.treasuryMaySpend).
 */
export function treasuryFit(
  batch: { spentSats: bigint; fromFundsSats: bigint },
  solvency: { reserve: bigint; holdings: bigint | null; treasuryMaySpend: bigint | null },
): Fit {
  const needs = batch.spentSats - batch.fromFundsSats;
  const may = solvency.treasuryMaySpend ?? 0n;
  if (needs <= may) return { ok: true };
  return { ok: false, code: "treasury", reason: treasuryWaitReason(solvency, needs, may) };
}

export interface Unfit<P> {
  payout: P;
  /** It does not fit even by itself (else it only did not fit beside the older payouts taken this run). */
  byItself: boolean;
  code: FitCode;
  reason: string;
}

/**
 * Which queued payouts a run pays: oldest first, each one that still fits beside those taken
 * before it (first fit), so one that cannot be paid never holds back the ones behind it. `queue`
 * is in age order; `fits` is asked about the whole queue first, then about growing prefixes of
 * what was taken plus one candidate. Deterministic for a given queue and answer.
 */
export function firstFit<P>(queue: readonly P[], fits: (payouts: readonly P[]) => Fit): { pay: P[]; wait: Array<Unfit<P>> } {
  if (queue.length === 0 || fits(queue).ok) return { pay: [...queue], wait: [] };
  const pay: P[] = [];
  const wait: Array<Unfit<P>> = [];
  for (const p of queue) {
    const beside = fits([...pay, p]);
    if (beside.ok) {
      pay.push(p);
      continue;
    }
    const alone = pay.length ? fits([p]) : beside;
    if (alone.ok) wait.push({ payout: p, byItself: false, code: beside.code, reason: beside.reason });
    else wait.push({ payout: p, byItself: true, code: alone.code, reason: alone.reason });
  }
  return { pay, wait };
}

/** What a payout that was not paid does until a later run: wait in the queue, or for an operator's approval. */
export type Wait = { kind: "queue"; reason: string } | { kind: "approval"; reason: string };

const LABELS: Partial<Record<FitCode, string>> = {
  "over-daily-cap": "daily cap",
  "insufficient-funds": "wallet balance",
  "over-tx-cap": "per-transaction cap",
  "too-large": "transaction size",
  "invalid-payout": "cannot be paid",
};

/**
 * Where a payout firstFit left out waits, and the reason `payouts list` shows. Only one that by
 * itself is over PAYOUT_MAX_TX_SATS (and not approved above it already) waits for an operator:
 * no later run could pay it otherwise, so it stops retrying.
 */
export function waitFor(
  u: Unfit<{ id: bigint; sats: bigint; overTxCap: "requested" | "approved" | null }>,
  limits: { maxTxSats: bigint; dailyCapSats: bigint },
): Wait {
  const { payout: p } = u;
  if (u.byItself && u.code === "over-tx-cap" && p.overTxCap === null) {
    return {
      kind: "approval",
      reason:
        `${satsText(p.sats)} is over PAYOUT_MAX_TX_SATS (${satsText(limits.maxTxSats)}) with its fee: it waits for an operator's ` +
        `approval (bounty-bot payouts approve ${p.id}) to be sent in a transaction of its own, still within PAYOUT_DAILY_CAP_SATS`,
    };
  }
  const label = LABELS[u.code];
  const reason =
    u.byItself && u.code === "over-daily-cap" && p.sats > limits.dailyCapSats
      ? `${satsText(p.sats)} is more than PAYOUT_DAILY_CAP_SATS (${satsText(limits.dailyCapSats)}) allows in a day: it is paid only once the cap is raised`
      : u.byItself
        ? u.reason
        : `${u.reason} (with the older payouts paid in this run; it goes in a later run)`;
  return { kind: "queue", reason: label ? `${label}: ${reason}` : reason };
}
