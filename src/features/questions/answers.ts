/**
 * The answer: a comment on an issue with open questions pays each one it answers (features/
 * questions/rules.ts `answers`), in the delivery's transaction. Only `issue_comment.created`
 * counts, keyed by the comment (core/webhooks.ts objectKey), so an edit, a delete or the same body
 * delivered again is never counted twice; the answers table keeps one comment once per question.
 */
import type { FeatureHandler } from "../types.js";
import { threadComment } from "../../core/threadComment.js";
import { listAnswers, lockQuestion, openQuestionsOn } from "../../store/questions.js";
import { payAnswer } from "./escrow.js";
import { answers } from "./rules.js";

/**
 * issue_comment.created, discussion_comment.created, and discussion.answered: in a Discussion the
 * accepted answer counts even when short (any text besides commands), since someone chose it.
 */
export const onAnswer: FeatureHandler = async (d, deps) => {
  const e = threadComment(d.event, d.payload);
  if (!e) return null;
  const c = { id: e.comment.id, author: e.comment.user, body: e.comment.body };
  if (c.author.type === "Bot") return null;
  // Most comments answer nothing: decided without a transaction and without GitHub.
  const rule = <Q extends { minReplyChars: number }>(q: Q): Q => (e.accepted ? { ...q, minReplyChars: Math.min(1, q.minReplyChars) } : q);
  const candidates = (await openQuestionsOn(deps.db, e.repository.id, e.thread.number)).filter(
    (q) => (q.discussionId ?? null) === e.thread.discussionId && answers(rule(q), c, []),
  );
  if (candidates.length === 0) return null;
  const at = e.comment.createdAt ?? new Date();
  return async (tx) => {
    for (const { id } of candidates) {
      const q = await lockQuestion(tx, id);
      if (!q) continue;
      const paid = (await listAnswers(tx, id)).map((a) => a.responderId);
      if (!answers(rule(q), c, paid)) continue;
      await payAnswer(tx, id, { responder: { id: c.author.id, login: c.author.login }, commentId: c.id, at, cause: { actor: { id: c.author.id, login: c.author.login }, deliveryId: d.id } });
    }
    return { bountyIds: [] };
  };
};
