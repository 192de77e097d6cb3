/**
 * The release sweep: a tip whose `tips.hold` has passed is released from its escrow to the
 * recipient's earnings, where the next payout run pays it like any other earnings. Each tip is
 * released in a transaction of its own under its row lock, and the ledger's steps are keyed, so
 * two processes, a restart or a crash halfway release each tip once.
 */
import { earningsOf } from "../../ledger/rules.js";
import { appendEvent } from "../../store/bounties.js";
import { releaseSlot } from "../../store/escrow.js";
import { SYSTEM_CAUSE } from "../../store/payouts.js";
import { dueTips, lockTip, markReleased } from "../../store/tips.js";
import type { Deps } from "../../deliveries/types.js";
import type { Sweep } from "../types.js";
import { tipEscrow } from "./tip.js";

/** Releases one due tip; false when it is not due or not held any more (released or taken back meanwhile). */
export async function releaseTip(deps: Pick<Deps, "db">, id: bigint, now: Date): Promise<boolean> {
  return deps.db.transaction(async (tx) => {
    const tip = await lockTip(tx, id);
    if (!tip || tip.state !== "held" || tip.payableAt.getTime() > now.getTime()) return false;
    const released = await releaseSlot(tx, tipEscrow(tip.key), 0, [{ account: earningsOf(tip.recipient.id), sats: tip.sats }], { tip: tip.key });
    // Its legs were voided behind the tip's back: nothing to pay, and nothing this sweep should guess at.
    if (!released) throw new Error(`tip ${tip.key} is held but its escrow was returned; it needs an operator`);
    await markReleased(tx, tip.id, now);
    await appendEvent(tx, {
      userId: tip.recipient.id,
      kind: "tip_released",
      data: { tip: tip.key, to: { id: tip.recipient.id, login: tip.recipient.login }, sats: tip.sats.toString() },
      cause: SYSTEM_CAUSE,
    });
    return true;
  });
}

export const releaseTips: Sweep = {
  name: "tips release",
  everyMs: 60_000,
  async run(deps, now) {
    let changed = 0;
    for (const id of await dueTips(deps.db, now)) {
      try {
        if (await releaseTip(deps, id, now)) changed++;
      } catch (err) {
        // One tip in trouble does not hold the others back; it is tried again next time.
        deps.log.error({ err, tip: id.toString() }, "a tip could not be released");
      }
    }
    return changed;
  },
};
