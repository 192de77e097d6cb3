import type { Closer } from "../claims/closer.js";
import { awardPendingClaim, type Award, type AwardTerms } from "../store/awards.js";
import type { Queryable } from "../store/db.js";
import type { Bounty, Cause } from "../store/bounties.js";
import { queueReply } from "../store/outbox.js";

/**
 * Awards a (locked) bounty whose issue is closed as completed to the claim that wins it (see
 * chooseClaim). When the choice is to wait for a funder, the card says so and, unless the
 * closer's own claim may still arrive, a reply asks a funder to `/award`. Returns the awards
 * and whether the bounty's card changed.
 */
export async function awardWinningClaim(
  tx: Queryable,
  bounty: Bounty,
  terms: AwardTerms,
  closer: Closer,
  cause: Cause,
): Promise<{ awards: Award[]; changed: boolean }> {
  const { awards, waiting } = await awardPendingClaim(tx, bounty, terms, closer, cause);
  if (waiting === null) return { awards, changed: awards.length > 0 };
  // The closer's own webhook usually follows within seconds and settles it: the card says enough.
  if (waiting.why !== "closer-unclaimed") {
    await queueReply(
      tx,
      `claim-wait:${bounty.id}:${waiting.why}:${waiting.claims.map((c) => c.id).join(",")}`,
      { installationId: bounty.installationId, owner: bounty.owner, repo: bounty.repo, issueNumber: bounty.issueNumber },
      `This issue was closed as completed, but I did not award its bounty: ${waiting.text}. ` +
        "A funder can award it with `/award @login` (or `/award @alice @bob` to share it).",
    );
  }
  return { awards: [], changed: true };
}
