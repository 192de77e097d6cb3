/**
 * A question's money, in the caller's transaction: escrowed when asked (from the treasury within
 * the funder's budgets, or from the asker's own balance), one slot released to each answer, the
 * rest returned on expiry, cancel or decline. Each step is keyed, so it happens once.
 */
import { queueReply } from "../../store/outbox.js";
import { missingReply } from "../../ledger/escrow.js";
import { charityOf, earningsOf, escrowOf } from "../../ledger/rules.js";
import { overBudgetMessage } from "../../core/budget.js";
import { formatAmount } from "../../core/money.js";
import { appendEvent, type Cause, type PledgeTerms } from "../../store/bounties.js";
import { chargeBudget, releaseCharge } from "../../store/budgets.js";
import { touchCard } from "../../store/cards.js";
import type { Queryable } from "../../store/db.js";
import { escrowSlots, openEscrow, releaseSlot, returnSlots } from "../../store/escrow.js";
import {
  closeQuestion,
  countOpenByAsker,
  getPrice,
  insertQuestion,
  listAnswers,
  lockAsker,
  lockQuestion,
  nextQuestionId,
  recordAnswer,
  type NewQuestion,
  type Question,
} from "../../store/questions.js";

/** The ledger's own timeout of a question's escrow legs: a backstop after the expiry the sweep acts on. */
export const BACKSTOP_MS = 24 * 3600_000;

export const cardKey = (id: bigint) => `question:${id}`;
const chargeKey = (id: bigint, slot: number) => `question:${id}:${slot}`;

/** Its issue, or its Discussion (github/threads.ts writes either). */
const where = (q: Pick<Question, "installationId" | "owner" | "repo" | "issueNumber" | "discussionId">) => ({
  installationId: q.installationId,
  owner: q.owner,
  repo: q.repo,
  issueNumber: q.issueNumber,
  discussionId: q.discussionId,
});

export type AskResult = { ok: true; question: Question | null } | { ok: false; reply: string };

/**
 * Records a question and escrows it: every slot charged to the funder's budgets (treasury) or
 * drawn from the asker's funds then earnings. A refusal leaves nothing behind (a savepoint).
 * `question: null` when the same ask was recorded already.
 */
export async function askQuestion(
  tx: Queryable,
  q: Omit<NewQuestion, "id">,
  o: { terms: PledgeTerms | null; maxOpen: number; cause: Cause },
): Promise<AskResult> {
  await lockAsker(tx, q.owner, q.asker.id);
  const open = await countOpenByAsker(tx, q.owner, q.asker.id);
  if (open >= o.maxOpen) {
    return { ok: false, reply: `you have ${open} unanswered questions open already, the most one person may have here (\`questions.max_open_per_asker\`). Cancel one with \`/ask cancel\`, or wait for answers.` };
  }
  const id = await nextQuestionId(tx);
  await tx.query("SAVEPOINT question_ask");
  const refuse = async (reply: string): Promise<AskResult> => {
    await tx.query("ROLLBACK TO SAVEPOINT question_ask");
    return { ok: false, reply };
  };
  const question = await insertQuestion(tx, { ...q, id });
  if (!question) {
    await tx.query("RELEASE SAVEPOINT question_ask");
    return { ok: true, question: null };
  }
  const escrow = escrowOf("question", id);
  if (q.payer === "treasury") {
    if (!o.terms) throw new Error("a question from the treasury needs the funder's budget terms");
    for (let slot = 0; slot < q.slots; slot++) {
      const charged = await chargeBudget(tx, { key: chargeKey(id, slot), kind: "question", account: q.owner, amount: { currency: "BTC", minor: q.sats }, terms: o.terms });
      if (!charged.ok) {
        const whose = charged.over.kind === "funder" ? "your" : `${q.owner}'s`;
        return refuse(overBudgetMessage(charged.over, whose, { currency: "BTC", minor: q.sats * BigInt(q.slots) }));
      }
    }
  }
  const opened = await openEscrow(tx, {
    escrow,
    payer: q.payer === "treasury" ? { kind: "treasury" } : { kind: "person", userId: q.asker.id },
    slots: Array.from({ length: q.slots }, () => q.sats),
    timeoutAt: new Date(q.expiresAt.getTime() + BACKSTOP_MS),
    ref: { question: String(id) },
  });
  if (!opened.ok) return refuse(missingReply(opened.missing, opened.available));
  await tx.query("RELEASE SAVEPOINT question_ask");
  await appendEvent(tx, {
    userId: q.asker.id,
    kind: "question_asked",
    data: {
      question: String(id),
      target: `${q.targetKind}:${q.target}`,
      amount: formatAmount(q.amount),
      sats: String(q.sats),
      slots: q.slots,
      payer: q.payer,
      escrow: escrow.key,
    },
    cause: o.cause,
  });
  await touchCard(tx, cardKey(id), where(question));
  return { ok: true, question };
}

/**
 * Pays one answer from the next slot: to the responder's earnings, or to the charity their
 * `/price … donate` names. False when it was not paid (the question closed, the comment or the
 * person counted already, every slot taken).
 */
export async function payAnswer(
  tx: Queryable,
  questionId: bigint,
  a: { responder: { id: number; login: string }; commentId: number; at: Date; cause: Cause },
): Promise<boolean> {
  const q = await lockQuestion(tx, questionId);
  if (!q || q.state !== "open") return false;
  const answered = await listAnswers(tx, q.id);
  if (answered.length >= q.slots || answered.some((x) => x.responderId === a.responder.id || x.commentId === a.commentId)) return false;
  const slot = answered.length;
  const escrow = escrowOf("question", q.id);
  const held = (await escrowSlots(tx, escrow.key)).find((s) => s.slot === slot);
  // The ledger's backstop voided it (the sweep will close the question): nothing is left to pay.
  if (!held || held.state !== "held") return false;
  const price = await getPrice(tx, a.responder.id);
  const charityId = price?.charityId ?? null;
  const charity = charityId ? { charityName: price?.charityName ?? null, charityAddress: price?.charityAddress ?? null } : {};
  if (!(await recordAnswer(tx, { questionId: q.id, slot, responderId: a.responder.id, responderLogin: a.responder.login, commentId: a.commentId, sats: q.sats, charityId, ...charity, answeredAt: a.at }))) return false;
  const to = charityId ? charityOf(charityId) : earningsOf(a.responder.id);
  if (!(await releaseSlot(tx, escrow, slot, [{ account: to, sats: q.sats }], { question: String(q.id), comment: String(a.commentId) }))) {
    throw new Error(`question ${q.id}: slot ${slot} was returned while it was being paid`);
  }
  if (slot + 1 === q.slots) await closeQuestion(tx, q.id, { state: "answered", at: a.at, returnedSats: 0n });
  await appendEvent(tx, {
    userId: a.responder.id,
    kind: "question_answered",
    data: { question: String(q.id), slot, sats: String(q.sats), comment: String(a.commentId), to: to.key },
    cause: a.cause,
  });
  await touchCard(tx, cardKey(q.id), where(q));
  return true;
}

/**
 * Ends an open question (expired, cancelled by the asker, declined by the person asked): the slots
 * not paid go back to whoever put them in, and their budget charges no longer count. False when it
 * was not open.
 */
export async function returnQuestion(
  tx: Queryable,
  questionId: bigint,
  r: { state: "expired" | "cancelled" | "declined"; at: Date; cause: Cause },
): Promise<boolean> {
  const q = await lockQuestion(tx, questionId);
  if (!q || q.state !== "open") return false;
  const paid = new Set((await listAnswers(tx, q.id)).map((a) => a.slot));
  const unpaid = Array.from({ length: q.slots }, (_, i) => i).filter((i) => !paid.has(i));
  const escrow = escrowOf("question", q.id);
  const returned = await returnSlots(tx, escrow, { slots: unpaid, ref: { question: String(q.id), why: r.state } });
  if (q.payer === "treasury") for (const slot of unpaid) await releaseCharge(tx, chargeKey(q.id, slot), r.at);
  const sats = BigInt(unpaid.length) * q.sats;
  await closeQuestion(tx, q.id, { state: r.state, at: r.at, returnedSats: sats });
  await appendEvent(tx, {
    userId: q.asker.id,
    kind: "question_returned",
    data: { question: String(q.id), why: r.state, sats: String(sats), voided: String(returned), to: q.payer === "treasury" ? "treasury" : `user:${q.asker.id}` },
    cause: r.cause,
  });
  await touchCard(tx, cardKey(q.id), where(q));
  // The card mentions both people, but GitHub notifies nobody of a mention added by an edit: an
  // expiry, which no comment triggered, gets a reply of its own.
  if (r.state === "expired" && sats > 0n) {
    const asked = q.targetKind === "list" ? `list:${q.target}` : `@${q.target}`;
    const none = paid.size === 0;
    await queueReply(
      tx,
      `question-expired:${q.id}`,
      where(q),
      `@${q.asker.login} your question to ${asked} expired ${none ? "without an answer" : `with ${paid.size} of ${q.slots} answers`}: ${sats} sats went back to ${q.payer === "treasury" ? "the treasury" : "your balance"}.`,
    );
  }
  return true;
}
