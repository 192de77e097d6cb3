/**
 * The answer: a comment on an issue with open questions pays each one it answers (features/
 * questions/rules.ts `answers`), in the delivery's transaction. Only `issue_comment.created`
 * counts, keyed by the comment (core/webhooks.ts objectKey), so an edit, a delete or the same body
 * delivered again is never counted twice; the answers table keeps one comment once per question.
 */
import type { FeatureHandler } from "../types.js";
import { listAnswers, lockQuestion, openQuestionsOn } from "../../store/questions.js";
import { payAnswer } from "./escrow.js";
import { answers, type Commenter } from "./rules.js";

interface CommentPayload {
  action: string;
  installation?: { id: number };
  repository?: { id: number };
  issue?: { number: number };
  comment?: { id: number; body: string | null; created_at?: string; user: Commenter };
}

export const onAnswer: FeatureHandler = async (d, deps) => {
  const p = d.payload as CommentPayload;
  if (p.action !== "created" || !p.installation || !p.repository || !p.issue || !p.comment?.user) return null;
  const c = { id: p.comment.id, author: p.comment.user, body: p.comment.body };
  if (c.author.type === "Bot") return null;
  // Most comments answer nothing: decided without a transaction and without GitHub.
  const candidates = (await openQuestionsOn(deps.db, p.repository.id, p.issue.number)).filter((q) => answers(q, c, []));
  if (candidates.length === 0) return null;
  const at = p.comment.created_at ? new Date(p.comment.created_at) : new Date();
  return async (tx) => {
    for (const { id } of candidates) {
      const q = await lockQuestion(tx, id);
      if (!q) continue;
      const paid = (await listAnswers(tx, id)).map((a) => a.responderId);
      if (!answers(q, c, paid)) continue;
      await payAnswer(tx, id, { responder: { id: c.author.id, login: c.author.login }, commentId: c.id, at, cause: { actor: { id: c.author.id, login: c.author.login }, deliveryId: d.id } });
    }
    return { bountyIds: [] };
  };
};
