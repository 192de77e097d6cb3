/**
 * A response: a comment on an issue or a Discussion with an open survey pays its author when they
 * may respond (features/surveys/rules.ts), in the delivery's transaction. Only a comment's creation counts,
 * keyed by the comment (core/webhooks.ts objectKey), so an edit or the same body delivered again
 * is never counted twice; the responses table keeps one comment and one person once per survey.
 * GitHub (org membership, the account's age) is read only for comments that may respond.
 */
import type { FeatureHandler } from "../types.js";
import { threadComment } from "../../core/threadComment.js";
import type { RepoGitHub } from "../../github/client.js";
import { listResponses, openSurveysOn, type Survey } from "../../store/surveys.js";
import { payResponse } from "./escrow.js";
import { inAudience, mayRespond, type Commenter, type Standing } from "./rules.js";

/** What GitHub says of the commenter, only what the surveys' audiences need. */
async function standing(gh: Pick<RepoGitHub, "owner" | "isOrgMember" | "accountCreatedAt">, surveys: readonly Survey[], c: Commenter): Promise<Standing> {
  const member = surveys.some((s) => s.audience === "members") ? await gh.isOrgMember(gh.owner, c.login) : null;
  const createdAt = surveys.some((s) => s.audience === "anyone") ? await gh.accountCreatedAt(c.id) : null;
  return { member, createdAt };
}

export const onResponse: FeatureHandler = async (d, deps) => {
  const e = threadComment(d.event, d.payload);
  // An accepted answer was a comment first, and counted (or not) then.
  if (!e || e.accepted) return null;
  const c = { id: e.comment.id, author: e.comment.user, body: e.comment.body };
  if (c.author.type !== "User") return null;
  // Most comments are on issues without an open survey: decided from the database, without GitHub.
  const open = (await openSurveysOn(deps.db, e.repository.id, e.thread.number)).filter((s) => (s.discussionId ?? null) === e.thread.discussionId);
  const candidates: Survey[] = [];
  for (const s of open) {
    const paid = await listResponses(deps.db, s.id);
    if (mayRespond(s, c, { responderIds: paid.map((r) => r.responderId), commentIds: paid.map((r) => r.commentId) })) candidates.push(s);
  }
  if (candidates.length === 0) return null;
  const at = e.comment.createdAt ?? new Date();
  const gh = await deps.github(e.installationId, e.repository.owner, e.repository.name);
  const who = await standing(gh, candidates, c.author);
  const eligible = candidates.filter((s) => inAudience(s, who, at));
  if (eligible.length === 0) return null;
  return async (tx) => {
    const actor = { id: c.author.id, login: c.author.login };
    // payResponse locks the survey and checks again what may have changed since (closed, full, paid).
    for (const { id } of eligible) await payResponse(tx, id, { responder: actor, commentId: c.id, body: c.body ?? "", at, cause: { actor, deliveryId: d.id } });
    return { bountyIds: [] };
  };
};
