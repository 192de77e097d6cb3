/**
 * Escrow without I/O: who an escrow is paid from, and how its slots are drawn from the payer's
 * accounts. An escrow (a backed pledge, a question, a survey's responses) holds one or more slots
 * (a question: one; a survey of "first 5": five), each reserved by pending transfers from the
 * payer and later released, whole, to whoever earned it, or returned.
 */
import { availableBalance, earningsOf, fundsOf, TREASURY, type AccountSpec, type Balance } from "./rules.js";

/** Who puts the money in: the organisation's treasury (a funder) or a person's own balance. */
export type Payer = { kind: "treasury" } | { kind: "person"; userId: number };

/** One pending transfer reserving (part of) a slot. */
export interface Leg {
  slot: number;
  from: AccountSpec;
  sats: bigint;
}

export type Draw = { ok: true; legs: Leg[] } | { ok: false; available: bigint; missing: bigint };

/**
 * How each slot is drawn: from the treasury whole, or from a person's funds first, then their
 * earnings (so deposited money is spent before earnings that would otherwise be paid out).
 * A person without enough available is refused with what is missing; nothing is drawn.
 */
export function drawSlots(payer: Payer, slots: readonly bigint[], balances: { funds: Balance; earnings: Balance } | null): Draw {
  if (slots.length === 0 || slots.some((s) => s <= 0n)) throw new RangeError("an escrow needs one or more slots of a positive amount");
  if (payer.kind === "treasury") return { ok: true, legs: slots.map((sats, slot) => ({ slot, from: TREASURY, sats })) };
  if (!balances) throw new Error("a person's escrow needs their balances");
  const pos = (b: bigint) => (b < 0n ? 0n : b);
  let funds = pos(availableBalance(balances.funds));
  let earnings = pos(availableBalance(balances.earnings));
  const total = slots.reduce((s, x) => s + x, 0n);
  if (funds + earnings < total) return { ok: false, available: funds + earnings, missing: total - funds - earnings };
  const legs: Leg[] = [];
  slots.forEach((sats, slot) => {
    const fromFunds = sats < funds ? sats : funds;
    funds -= fromFunds;
    if (fromFunds > 0n) legs.push({ slot, from: fundsOf(payer.userId), sats: fromFunds });
    const rest = sats - fromFunds;
    if (rest > 0n) {
      earnings -= rest;
      legs.push({ slot, from: earningsOf(payer.userId), sats: rest });
    }
  });
  return { ok: true, legs };
}

/** The idempotency key of one leg: `<escrow key>:<slot>:<funds|earnings|treasury>`. */
export const legKey = (escrowKey: string, leg: Pick<Leg, "slot" | "from">): string => `${escrowKey}:${leg.slot}:${leg.from.kind}`;

/**
 * Splits a released slot among several recipients by basis points (an award split), the
 * remainder of the integer division going to the first, so the parts add up to the whole.
 */
export function splitByShares(sats: bigint, shares: ReadonlyArray<{ bps: number }>): bigint[] {
  const total = shares.reduce((s, x) => s + x.bps, 0);
  if (total !== 10_000 || shares.some((s) => !Number.isInteger(s.bps) || s.bps <= 0)) throw new RangeError("shares must be positive and sum to 10000 basis points");
  const parts = shares.map((s) => (sats * BigInt(s.bps)) / 10_000n);
  parts[0] = parts[0]! + (sats - parts.reduce((s, x) => s + x, 0n));
  return parts;
}

/** The reply to a person without enough: how much is missing and how to add it. */
export function missingReply(missing: bigint, available: bigint): string {
  return `you have ${available} sats available; ${missing} sats more are needed. Use \`/deposit\` for an address to add funds, and \`/balance\` to see what you have.`;
}
