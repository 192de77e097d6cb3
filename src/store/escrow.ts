/**
 * Escrow on the ledger: each slot is reserved by pending transfers from the payer into the escrow's
 * account (src/ledger/escrow.ts says from which of their accounts), then either posted and passed
 * on to whoever earned it, or voided back. Every step has its own key, so a redelivery, a restart
 * or a second process does each at most once. Runs in the caller's transaction.
 */
import { drawSlots, legKey, type Leg, type Payer } from "../ledger/escrow.js";
import { accountFromKey, earningsOf, fundsOf, type AccountSpec } from "../ledger/rules.js";
import type { Queryable } from "./db.js";
import { LedgerRefusal, lockAccounts, mustTransfer, postPending, voidPending } from "./ledger.js";

export type OpenResult = { ok: true; legs: Leg[]; replayed: boolean } | { ok: false; available: bigint; missing: bigint };

export interface EscrowSlot {
  slot: number;
  sats: bigint;
  state: "held" | "released" | "returned";
  legs: Array<{ key: string; from: string; sats: bigint; state: "pending" | "posted" | "voided" }>;
}

/** The legs recorded for an escrow, by slot. */
export async function escrowSlots(db: Queryable, escrowKey: string): Promise<EscrowSlot[]> {
  const rows = await db.query<{ key: string; debit: string; sats: bigint; resolution: "post" | "void" | null; slot: string | null }>(
    `SELECT p.key, d.key AS debit, p.sats, r.phase AS resolution, p.ref->>'slot' AS slot
     FROM ledger_transfers p JOIN ledger_accounts d ON d.id = p.debit_account_id
     LEFT JOIN ledger_transfers r ON r.pending_id = p.id
     WHERE p.phase = 'pending' AND p.ref->>'escrow' = $1 ORDER BY p.id`,
    [escrowKey],
  );
  const slots = new Map<number, EscrowSlot>();
  for (const r of rows) {
    const slot = Number(r.slot);
    const s = slots.get(slot) ?? { slot, sats: 0n, state: "held" as const, legs: [] };
    s.sats += BigInt(r.sats);
    s.legs.push({ key: r.key, from: r.debit, sats: BigInt(r.sats), state: r.resolution === null ? "pending" : r.resolution === "post" ? "posted" : "voided" });
    slots.set(slot, s);
  }
  for (const s of slots.values()) {
    s.state = s.legs.every((l) => l.state === "posted") ? "released" : s.legs.every((l) => l.state === "voided") ? "returned" : "held";
  }
  return [...slots.values()].sort((a, b) => a.slot - b.slot);
}

/**
 * Reserves every slot of an escrow from the payer. A person's accounts are locked first, so what
 * is drawn is what they have; without enough nothing is recorded and the answer says what is
 * missing. Opening an escrow that is already open answers its legs (a retry).
 */
export async function openEscrow(
  tx: Queryable,
  e: { escrow: AccountSpec; payer: Payer; slots: readonly bigint[]; timeoutAt: Date | null; ref?: Record<string, string> },
): Promise<OpenResult> {
  const escrowKey = e.escrow.key;
  const existing = await escrowSlots(tx, escrowKey);
  if (existing.length) {
    const legs = existing.flatMap((s) => s.legs.map((l) => ({ slot: s.slot, from: accountFromKey(l.from)!, sats: l.sats })));
    return { ok: true, legs, replayed: true };
  }
  let balances = null;
  if (e.payer.kind === "person") {
    const locked = await lockAccounts(tx, [fundsOf(e.payer.userId), earningsOf(e.payer.userId), e.escrow]);
    balances = { funds: locked.get(fundsOf(e.payer.userId).key)!, earnings: locked.get(earningsOf(e.payer.userId).key)! };
  }
  const draw = drawSlots(e.payer, e.slots, balances);
  if (!draw.ok) return draw;
  for (const leg of draw.legs) {
    await mustTransfer(tx, {
      key: legKey(escrowKey, leg),
      debit: leg.from,
      credit: e.escrow,
      sats: leg.sats,
      kind: "escrow",
      pending: { timeoutAt: e.timeoutAt },
      ref: { ...(e.ref ?? {}), escrow: escrowKey, slot: String(leg.slot) },
    });
  }
  return { ok: true, legs: draw.legs, replayed: false };
}

/**
 * Releases one slot: its legs are posted into the escrow account and passed on, whole, to the
 * recipients (one, or several by the given parts, which must add up to the slot). False when the
 * slot was returned already (a refund won); a slot released before answers true again.
 */
export async function releaseSlot(
  tx: Queryable,
  escrow: AccountSpec,
  slot: number,
  to: ReadonlyArray<{ account: AccountSpec; sats: bigint }>,
  ref: Record<string, string> = {},
): Promise<boolean> {
  const s = (await escrowSlots(tx, escrow.key)).find((x) => x.slot === slot);
  if (!s) throw new LedgerRefusal(`escrow ${escrow.key} has no slot ${slot}`);
  if (s.legs.some((l) => l.state === "voided")) return false;
  const total = to.reduce((sum, r) => sum + r.sats, 0n);
  if (total !== s.sats) throw new LedgerRefusal(`escrow ${escrow.key} slot ${slot} holds ${s.sats} sats; ${total} cannot be released from it`);
  for (const leg of s.legs) {
    if (leg.state === "posted") continue;
    const r = await postPending(tx, leg.key, { key: `${leg.key}:post`, ref: { ...ref, escrow: escrow.key } });
    if (!r.ok) throw new LedgerRefusal(r.reason);
  }
  let i = 0;
  for (const r of to) {
    await mustTransfer(tx, {
      key: `${escrow.key}:${slot}:release:${i++}`,
      debit: escrow,
      credit: r.account,
      sats: r.sats,
      kind: "escrow_release",
      ref: { ...ref, escrow: escrow.key, slot: String(slot) },
    });
  }
  return true;
}

/** Returns the slots not released (all, or those listed) to the payer; answers how many sats went back. */
export async function returnSlots(tx: Queryable, escrow: AccountSpec, opts: { slots?: number[]; ref?: Record<string, string> } = {}): Promise<bigint> {
  let returned = 0n;
  for (const s of await escrowSlots(tx, escrow.key)) {
    if (opts.slots && !opts.slots.includes(s.slot)) continue;
    if (s.legs.some((l) => l.state === "posted")) continue;
    for (const leg of s.legs) {
      if (leg.state !== "pending") continue;
      const r = await voidPending(tx, leg.key, { key: `${leg.key}:void`, ref: { ...(opts.ref ?? {}), escrow: escrow.key } });
      if (!r.ok) throw new LedgerRefusal(r.reason);
      if (!r.replayed) returned += leg.sats;
    }
  }
  return returned;
}
