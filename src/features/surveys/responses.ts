/**
 * A response: a comment on an issue with an open survey pays its author when they may respond
 * (features/surveys/rules.ts), in the delivery's transaction. Only `issue_comment.created` counts,
 * keyed by the comment (core/webhooks.ts objectKey), so an edit or the same body delivered again
 * is never counted twice; the responses table keeps one comment and one person once per survey.
 * GitHub (org membership, the account's age) is read only for comments that may respond.
 */
import type { FeatureHandler } from "../types.js";
import type { RepoGitHub } from "../../github/client.js";
import { listResponses, openSurveysOn, type Survey } from "../../store/surveys.js";
import { payResponse } from "./escrow.js";
import { inAudience, mayRespond, type Commenter, type Standing } from "./rules.js";

interface CommentPayload {
  action: string;
  installation?: { id: number };
  repository?: { id: number; name: string; owner: { login: string } };
  issue?: { number: number; pull_request?: unknown };
  comment?: { id: number; body: string | null; created_at?: string; user: Commenter };
}

/** What GitHub says of the commenter, only what the surveys' audiences need. */
async function standing(gh: Pick<RepoGitHub, "owner" | "isOrgMember" | "accountCreatedAt">, surveys: readonly Survey[], c: Commenter): Promise<Standing> {
  const member = surveys.some((s) => s.audience === "members") ? await gh.isOrgMember(gh.owner, c.login) : null;
  const createdAt = surveys.some((s) => s.audience === "anyone") ? await gh.accountCreatedAt(c.id) : null;
  return { member, createdAt };
}

export const onResponse: FeatureHandler = async (d, deps) => {
  const p = d.payload as CommentPayload;
  if (p.action !== "created" || !p.installation || !p.repository || !p.issue || !p.comment?.user) return null;
  const c = { id: p.comment.id, author: p.comment.user, body: p.comment.body };
  if (c.author.type !== "User") return null;
  // Most comments are on issues without an open survey: decided from the database, without GitHub.
  const open = await openSurveysOn(deps.db, p.repository.id, p.issue.number);
  const candidates: Survey[] = [];
  for (const s of open) {
    const paid = await listResponses(deps.db, s.id);
    if (mayRespond(s, c, { responderIds: paid.map((r) => r.responderId), commentIds: paid.map((r) => r.commentId) })) candidates.push(s);
  }
  if (candidates.length === 0) return null;
  const at = p.comment.created_at ? new Date(p.comment.created_at) : new Date();
  const gh = await deps.github(p.installation.id, p.repository.owner.login, p.repository.name);
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
