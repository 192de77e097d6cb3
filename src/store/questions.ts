/**
 * Paid questions (/price, /ask): prices by numeric user id, questions with their escrow's shape
 * (escrow:question:<id>, one slot per answer paid), and the answers paid. SQL only; the rules are
 * in features/questions/rules.ts and the money moves in store/escrow.ts.
 */
import type { Amount, Currency } from "../core/money.js";
import { fromJson, type Queryable } from "./db.js";

export type QuestionState = "open" | "answered" | "expired" | "cancelled" | "declined";
export type TargetKind = "person" | "team" | "list";

/** Someone a team or list question may be answered by: the team's members have ids, a config list's only logins. */
export interface Member {
  login: string;
  id: number | null;
}

export interface Price {
  userId: number;
  login: string;
  amount: Amount;
  /** `/price <amount> donate <charity>`: answers' earnings go to this charity. */
  charityId: string | null;
  /** Its name and address in the config where the price was set (null for a price set before they were kept). */
  charityName?: string | null;
  charityAddress?: string | null;
}

export interface Question {
  id: bigint;
  installationId: number;
  repoId: number;
  owner: string;
  repo: string;
  issueNumber: number;
  /** The Discussion's node id when asked in a Discussion; null (or absent) in an issue. */
  discussionId?: string | null;
  askCommentId: number;
  asker: { id: number; login: string };
  targetKind: TargetKind;
  /** The login, `org/team`, or the list's name. */
  target: string;
  /** The person asked (target kind person). */
  askedId: number | null;
  members: Member[];
  about: string;
  amount: Amount;
  /** Sats per slot, fixed when escrowed. */
  sats: bigint;
  slots: number;
  payer: "treasury" | "person";
  minReplyChars: number;
  state: QuestionState;
  returnedSats: bigint;
  createdAt: Date;
  expiresAt: Date;
  closedAt: Date | null;
}

export interface Answer {
  questionId: bigint;
  slot: number;
  responderId: number;
  responderLogin: string;
  commentId: number;
  sats: bigint;
  charityId: string | null;
  /** Where a donated answer is paid: the charity as the price named it. */
  charityName?: string | null;
  charityAddress?: string | null;
  answeredAt: Date;
}

type QuestionRow = {
  id: bigint;
  installation_id: bigint;
  repo_id: bigint;
  repo_owner: string;
  repo_name: string;
  issue_number: number;
  discussion_id: string | null;
  ask_comment_id: bigint;
  asker_id: bigint;
  asker_login: string;
  target_kind: TargetKind;
  target: string;
  asked_id: bigint | null;
  members: unknown;
  about: string;
  currency: Currency;
  amount_minor: bigint;
  sats: bigint;
  slots: number;
  payer: "treasury" | "person";
  min_reply_chars: number;
  state: QuestionState;
  returned_sats: bigint;
  created_at: Date;
  expires_at: Date;
  closed_at: Date | null;
};

const toQuestion = (r: QuestionRow): Question => ({
  id: BigInt(r.id),
  installationId: Number(r.installation_id),
  repoId: Number(r.repo_id),
  owner: r.repo_owner,
  repo: r.repo_name,
  issueNumber: Number(r.issue_number),
  discussionId: r.discussion_id ?? null,
  askCommentId: Number(r.ask_comment_id),
  asker: { id: Number(r.asker_id), login: r.asker_login },
  targetKind: r.target_kind,
  target: r.target,
  askedId: r.asked_id === null ? null : Number(r.asked_id),
  members: fromJson<Member[]>(r.members),
  about: r.about,
  amount: { currency: r.currency, minor: BigInt(r.amount_minor) },
  sats: BigInt(r.sats),
  slots: Number(r.slots),
  payer: r.payer,
  minReplyChars: Number(r.min_reply_chars),
  state: r.state,
  returnedSats: BigInt(r.returned_sats),
  createdAt: new Date(r.created_at),
  expiresAt: new Date(r.expires_at),
  closedAt: r.closed_at === null ? null : new Date(r.closed_at),
});

type AnswerRow = {
  question_id: bigint;
  slot: number;
  responder_id: bigint;
  responder_login: string;
  comment_id: bigint;
  sats: bigint;
  charity_id: string | null;
  charity_name?: string | null;
  charity_address?: string | null;
  answered_at: Date;
};

const toAnswer = (r: AnswerRow): Answer => ({
  questionId: BigInt(r.question_id),
  slot: Number(r.slot),
  responderId: Number(r.responder_id),
  responderLogin: r.responder_login,
  commentId: Number(r.comment_id),
  sats: BigInt(r.sats),
  charityId: r.charity_id,
  charityName: r.charity_name ?? null,
  charityAddress: r.charity_address ?? null,
  answeredAt: new Date(r.answered_at),
});

export async function getPrice(db: Queryable, userId: number): Promise<Price | null> {
  const [r] = await db.query<{ user_id: bigint; login: string; currency: Currency; amount_minor: bigint; charity_id: string | null; charity_name: string | null; charity_address: string | null }>(
    "SELECT user_id, login, currency, amount_minor, charity_id, charity_name, charity_address FROM question_prices WHERE user_id = $1",
    [userId],
  );
  return r
    ? { userId: Number(r.user_id), login: r.login, amount: { currency: r.currency, minor: BigInt(r.amount_minor) }, charityId: r.charity_id, charityName: r.charity_name, charityAddress: r.charity_address }
    : null;
}

export async function setPrice(tx: Queryable, p: Price): Promise<void> {
  await tx.query(
    `INSERT INTO question_prices (user_id, login, currency, amount_minor, charity_id, charity_name, charity_address) VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (user_id) DO UPDATE SET login = $2, currency = $3, amount_minor = $4, charity_id = $5, charity_name = $6, charity_address = $7, updated_at = now()`,
    [p.userId, p.login, p.amount.currency, p.amount.minor, p.charityId, p.charityName ?? null, p.charityAddress ?? null],
  );
}

export async function removePrice(tx: Queryable, userId: number): Promise<boolean> {
  return (await tx.query("DELETE FROM question_prices WHERE user_id = $1 RETURNING user_id", [userId])).length === 1;
}

/** Serialises one asker's asks across the account, so the open-question limit holds across processes. */
export async function lockAsker(tx: Queryable, owner: string, askerId: number): Promise<void> {
  await tx.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 17))", [`questions asker ${owner.toLowerCase()} ${askerId}`]);
}

export async function countOpenByAsker(db: Queryable, owner: string, askerId: number): Promise<number> {
  const [r] = await db.query<{ n: bigint }>(
    "SELECT count(*) AS n FROM questions WHERE lower(repo_owner) = lower($1) AND asker_id = $2 AND state = 'open'",
    [owner, askerId],
  );
  return Number(r!.n);
}

/** The id the next question gets, so its escrow can be opened before its row is written. */
export async function nextQuestionId(tx: Queryable): Promise<bigint> {
  const [r] = await tx.query<{ id: bigint }>("SELECT nextval('questions_id_seq') AS id");
  return BigInt(r!.id);
}

export type NewQuestion = Omit<Question, "state" | "returnedSats" | "closedAt"> & { askKey: string };

/** Records a question; null when its ask key was recorded already (the same command again). */
export async function insertQuestion(tx: Queryable, q: NewQuestion): Promise<Question | null> {
  const rows = await tx.query<QuestionRow>(
    `INSERT INTO questions (id, ask_key, installation_id, repo_id, repo_owner, repo_name, issue_number, ask_comment_id,
       asker_id, asker_login, target_kind, target, asked_id, members, about, currency, amount_minor, sats, slots, payer,
       min_reply_chars, created_at, expires_at, discussion_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)
     ON CONFLICT (ask_key) DO NOTHING RETURNING *`,
    [
      q.id, q.askKey, q.installationId, q.repoId, q.owner, q.repo, q.issueNumber, q.askCommentId,
      q.asker.id, q.asker.login, q.targetKind, q.target, q.askedId, JSON.stringify(q.members), q.about,
      q.amount.currency, q.amount.minor, q.sats, q.slots, q.payer, q.minReplyChars, q.createdAt, q.expiresAt,
      q.discussionId ?? null,
    ],
  );
  return rows[0] ? toQuestion(rows[0]) : null;
}

export async function getQuestion(db: Queryable, id: bigint): Promise<Question | null> {
  const [r] = await db.query<QuestionRow>("SELECT * FROM questions WHERE id = $1", [id]);
  return r ? toQuestion(r) : null;
}

/** The question, locked for the rest of the transaction (an answer, an expiry and a cancel take turns). */
export async function lockQuestion(tx: Queryable, id: bigint): Promise<Question | null> {
  const [r] = await tx.query<QuestionRow>("SELECT * FROM questions WHERE id = $1 FOR UPDATE", [id]);
  return r ? toQuestion(r) : null;
}

/** The open questions on one issue, oldest first. */
export async function openQuestionsOn(db: Queryable, repoId: number, issueNumber: number): Promise<Question[]> {
  const rows = await db.query<QuestionRow>(
    "SELECT * FROM questions WHERE repo_id = $1 AND issue_number = $2 AND state = 'open' ORDER BY id",
    [repoId, issueNumber],
  );
  return rows.map(toQuestion);
}

/** Open questions past their expiry at `now`, oldest first. */
export async function dueQuestions(db: Queryable, now: Date, limit = 100): Promise<bigint[]> {
  const rows = await db.query<{ id: bigint }>(
    "SELECT id FROM questions WHERE state = 'open' AND expires_at <= $1 ORDER BY expires_at, id LIMIT $2",
    [now, limit],
  );
  return rows.map((r) => BigInt(r.id));
}

export async function listAnswers(db: Queryable, questionId: bigint): Promise<Answer[]> {
  const rows = await db.query<AnswerRow>("SELECT * FROM question_answers WHERE question_id = $1 ORDER BY slot", [questionId]);
  return rows.map(toAnswer);
}

/** Records an answer in its slot; false when this comment or this person was counted already. */
export async function recordAnswer(tx: Queryable, a: Answer): Promise<boolean> {
  const rows = await tx.query(
    `INSERT INTO question_answers (question_id, slot, responder_id, responder_login, comment_id, sats, charity_id, charity_name, charity_address, answered_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING RETURNING id`,
    [a.questionId, a.slot, a.responderId, a.responderLogin, a.commentId, a.sats, a.charityId, a.charityName ?? null, a.charityAddress ?? null, a.answeredAt],
  );
  return rows.length === 1;
}

/** Ends an open question; false when it was not open any more. */
export async function closeQuestion(
  tx: Queryable,
  id: bigint,
  c: { state: Exclude<QuestionState, "open">; at: Date; returnedSats: bigint },
): Promise<boolean> {
  const rows = await tx.query(
    "UPDATE questions SET state = $2, closed_at = $3, returned_sats = $4 WHERE id = $1 AND state = 'open' RETURNING id",
    [id, c.state, c.at, c.returnedSats],
  );
  return rows.length === 1;
}
