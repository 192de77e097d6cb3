import { DUST_LIMIT, parseAddress, type AddressType } from "../bitcoin/address.js";
import type { NetworkName } from "../bitcoin/network.js";
import type { Amount } from "../core/money.js";
import { fiatToSats } from "../price/convert.js";
import type { CreditedAward, Payee } from "../store/payouts.js";

/**
 * The pure rules of a payout run: what an award is worth in sats, where a credited award goes,
 * and which balances are due. No I/O; src/payouts/run.ts applies them.
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
  if (w) {
    if (w.network !== opts.network) {
      return {
        kind: "wait",
        reason: `@${award.recipientLogin}'s wallet is a ${w.network} address but payouts are made on ${opts.network}`,
        askWallet: false,
        unclaimedAt: null,
      };
    }
    return {
      kind: "pay",
      payee: {
        kind: w.kind === "charity" ? "charity" : "user",
        userId: award.recipientId,
        login: award.recipientLogin,
        charityId: w.charityId,
        charityName: w.charityName,
        address: w.address,
        addressType: w.addressType,
        network: w.network,
      },
    };
  }
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

export interface DueBalance {
  payee: Payee;
  awards: CreditedAward[];
  sats: bigint;
}

/** The smallest balance worth paying to this payee: PAYOUT_MIN_SATS, and never below dust. */
export function payableMinimum(addressType: string, minSats: bigint): bigint {
  const dust = DUST_LIMIT[addressType as AddressType] ?? 546n;
  return minSats > dust ? minSats : dust;
}

/** Groups payable awards by payee address; a group is due once it reaches payableMinimum. */
export function dueBalances(
  payable: ReadonlyArray<{ award: CreditedAward; payee: Payee }>,
  minSats: bigint,
): { due: DueBalance[]; pending: DueBalance[] } {
  const groups = new Map<string, DueBalance>();
  for (const { award, payee } of payable) {
    // One output per payee: a person's own address, or a charity (whoever it is on behalf of).
    const key = payee.kind === "charity" ? `charity ${payee.address}` : `user ${payee.userId} ${payee.address}`;
    let g = groups.get(key);
    if (!g) {
      g = { payee: payee.kind === "charity" ? { ...payee } : payee, awards: [], sats: 0n };
      groups.set(key, g);
    }
    if (g.payee.kind === "charity" && g.payee.userId !== award.recipientId) {
      // Several people's money to one charity: the payout is the charity's, not one person's.
      g.payee = { ...g.payee, userId: null, login: null };
    }
    g.awards.push(award);
    g.sats += award.sats;
  }
  const due: DueBalance[] = [];
  const pending: DueBalance[] = [];
  for (const g of groups.values()) (g.sats >= payableMinimum(g.payee.addressType, minSats) ? due : pending).push(g);
  return { due, pending };
}
