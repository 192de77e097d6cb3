import { sameCurrencyTotals, type Amount } from "../core/money.js";
import { splitByShares } from "../ledger/escrow.js";

/** One recipient's share of an award, in basis points (1/100 of a percent). */
export interface AwardShare {
  login: string;
  /** 1–10000; the shares of one award sum to exactly 10000. */
  basisPoints: number;
}

export type AwardParse = { ok: true; shares: AwardShare[] } | { ok: false; error: string };

export const TOTAL_BASIS_POINTS = 10_000;
/** Every recipient gets at least 1% (explicitly) or 10000/n basis points (equal shares). */
export const MAX_AWARD_USERS = 100;

/**
 * GitHub login syntax: 1–39 characters, letters, digits and hyphens, not
 * starting with a hyphen. Deliberately a little looser than what GitHub lets
 * new accounts pick (no double or trailing hyphens): some old accounts have
 * them, and the caller checks the account exists anyway.
 */
export const LOGIN_RE = /^[A-Za-z0-9][A-Za-z0-9-]{0,38}$/;

const NUMBER_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)%?$/;

/**
 * Parses the arguments of `/award @user [@user2 …]`:
 *
 *   /award @alice                  → alice 100%
 *   /award @alice @bob @carol      → equal shares: 3334, 3333, 3333 basis points
 *   /award @alice 70 @bob 30%      → 7000, 3000 basis points
 *
 * Shares are integer basis points summing to exactly 10000, never floats.
 * Equal shares are 10000 / n each, and the remainder (10000 mod n, less than
 * n) goes one basis point each to the first users in the order written — the
 * maintainer controls the order, and the result is deterministic.
 *
 * Percentages are whole numbers 1–100, with or without "%", given for every
 * user or for none, and must add up to 100. Users are separated by spaces or
 * commas; a login may not repeat (case-insensitive, as on GitHub).
 */
export function parseAward(args: string): AwardParse {
  const tokens = args
    .split(/[\s,]+/)
    .map((t) => t.trim())
    .filter((t) => t !== "");
  if (tokens.length === 0) return { ok: false, error: "name at least one user: /award @login" };

  const entries: Array<{ login: string; percent?: number }> = [];
  const seen = new Set<string>();
  for (const tok of tokens) {
    if (tok.startsWith("@")) {
      const login = tok.slice(1);
      if (!LOGIN_RE.test(login)) return { ok: false, error: `"${tok}" is not a valid GitHub login` };
      const key = login.toLowerCase();
      if (seen.has(key)) return { ok: false, error: `@${login} is named twice` };
      seen.add(key);
      entries.push({ login });
      continue;
    }
    if (NUMBER_RE.test(tok)) {
      const last = entries[entries.length - 1];
      if (last === undefined || last.percent !== undefined) {
        return { ok: false, error: `percentage ${tok} does not follow a user; write /award @alice 70 @bob 30` };
      }
      const num = tok.endsWith("%") ? tok.slice(0, -1) : tok;
      if (!/^[+-]?\d+$/.test(num)) {
        return { ok: false, error: `percentage ${tok} for @${last.login} is not a whole number` };
      }
      const p = Number(num);
      if (p < 1 || p > 100) {
        return { ok: false, error: `percentage ${tok} for @${last.login} is out of range (1–100)` };
      }
      last.percent = p;
      continue;
    }
    return {
      ok: false,
      error: `unexpected "${tok}"; write /award @alice [@bob …] or /award @alice 70 @bob 30`,
    };
  }
  if (entries.length === 0) return { ok: false, error: "name at least one user: /award @login" };
  if (entries.length > MAX_AWARD_USERS) {
    return { ok: false, error: `at most ${MAX_AWARD_USERS} users can share one award` };
  }

  const withPct = entries.filter((e) => e.percent !== undefined).length;
  if (withPct === 0) {
    const bps = equalShares(entries.length);
    return { ok: true, shares: entries.map((e, i) => ({ login: e.login, basisPoints: bps[i]! })) };
  }
  if (withPct !== entries.length) {
    const missing = entries.filter((e) => e.percent === undefined).map((e) => `@${e.login}`);
    return {
      ok: false,
      error: `give every user a percentage, or none for equal shares (no percentage for ${missing.join(", ")})`,
    };
  }
  const sum = entries.reduce((s, e) => s + e.percent!, 0);
  if (sum !== 100) return { ok: false, error: `percentages add up to ${sum}, not 100` };
  return { ok: true, shares: entries.map((e) => ({ login: e.login, basisPoints: e.percent! * 100 })) };
}

/**
 * Splits `total` (sats or minor units, ≥ 0) in proportion to integer
 * `weights` (e.g. basis points), exactly: the parts sum to `total`.
 *
 * Largest-remainder method: each part is floor(total × w / Σw); the units
 * left over go one each to the largest remainders, ties to the earlier
 * index. Deterministic, and no part differs from its exact share by a unit or
 * more. A zero weight gets 0.
 */
export function splitAmount(total: bigint, weights: readonly number[]): bigint[] {
  if (total < 0n) throw new RangeError(`splitAmount: negative total ${total}`);
  if (weights.length === 0) throw new RangeError("splitAmount: no weights");
  for (const w of weights) {
    if (!Number.isSafeInteger(w) || w < 0) throw new RangeError(`splitAmount: weight ${w} is not a non-negative integer`);
  }
  const ws = weights.map((w) => BigInt(w));
  const sum = ws.reduce((a, b) => a + b, 0n);
  if (sum === 0n) throw new RangeError("splitAmount: weights sum to zero");

  const parts = ws.map((w) => (total * w) / sum);
  const rems = ws.map((w, i) => ({ i, r: (total * w) % sum }));
  let left = total - parts.reduce((a, b) => a + b, 0n);
  rems.sort((a, b) => (a.r > b.r ? -1 : a.r < b.r ? 1 : a.i - b.i));
  for (const { i } of rems) {
    if (left === 0n) break;
    parts[i]! += 1n;
    left -= 1n;
  }
  return parts;
}

/**
 * Equal shares of 10000 basis points for n recipients (1 ≤ n ≤ 10000): 10000 / n each, and the
 * remainder one basis point each to the first ones, so the order given decides, deterministically.
 */
export function equalShares(n: number): number[] {
  if (!Number.isSafeInteger(n) || n < 1 || n > TOTAL_BASIS_POINTS) throw new RangeError(`equalShares: ${n} recipients`);
  const each = Math.floor(TOTAL_BASIS_POINTS / n);
  const extra = TOTAL_BASIS_POINTS % n;
  return Array.from({ length: n }, (_, i) => each + (i < extra ? 1 : 0));
}

/**
 * Each recipient's part of every pledged total, split by `weights` (basis points) with
 * splitAmount, so each currency's parts add up to its total exactly. Element i holds recipient
 * i's amounts, in the order of `totals`; a part that rounds to nothing is left out.
 */
export function splitTotals(totals: readonly Amount[], weights: readonly number[]): Amount[][] {
  const out: Amount[][] = weights.map(() => []);
  for (const total of totals) {
    splitAmount(total.minor, weights).forEach((minor, i) => {
      if (minor > 0n) out[i]!.push({ currency: total.currency, minor });
    });
  }
  return out;
}

/** A pledge backed by its funder's own balance: its sats, fixed when it was pledged, are held in `escrow`. */
export interface BackedPledge {
  pledgeId: bigint;
  escrow: string;
  backerId: number;
  sats: bigint;
}

/** One award's part of a backed pledge, passed on from the pledge's escrow when the award is credited. */
export type BackedPart = BackedPledge;

/**
 * Each recipient's part of what is awarded: the treasury's totals split with splitTotals (priced
 * when the award is credited), and each backed pledge's sats split by the same shares
 * (splitByShares). A recipient's amounts hold their backed sats in BTC beside the treasury's
 * parts, so what an award is worth at credit is the treasury's part priced plus its backed sats;
 * a bounty of backed pledges alone needs no price. Parts of nothing are left out.
 */
export function awardParts(
  totals: readonly Amount[],
  backed: readonly BackedPledge[],
  weights: readonly number[],
): Array<{ amounts: Amount[]; backed: BackedPart[] }> {
  const treasury = splitTotals(totals, weights);
  const shares = weights.map((bps) => ({ bps }));
  const parts = backed.map((b) => splitByShares(b.sats, shares));
  return weights.map((_, i) => {
    const mine = backed.map((b, j) => ({ ...b, sats: parts[j]![i]! })).filter((b) => b.sats > 0n);
    const sats = mine.reduce((s, b) => s + b.sats, 0n);
    const amounts = sats > 0n ? sameCurrencyTotals([...treasury[i]!, { currency: "BTC", minor: sats }]) : treasury[i]!;
    return { amounts, backed: mine };
  });
}
