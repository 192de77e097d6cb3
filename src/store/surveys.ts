/**
 * Paid surveys (/survey): the survey with its escrow's shape (escrow:survey:<id>, one slot per
 * response paid) and the responses paid, with their text for the export. SQL only; the rules are
 * in features/surveys/rules.ts and the money moves in store/escrow.ts.
 */
import type { Amount, Currency } from "../core/money.js";
import type { Queryable } from "./db.js";

export type SurveyState = "open" | "full" | "closed";
export type Audience = "members" | "anyone";

export interface Survey {
  id: bigint;
  installationId: number;
  repoId: number;
  owner: string;
  repo: string;
  issueNumber: number;
  /** The Discussion's node id when opened in a Discussion; null (or absent) in an issue. */
  discussionId?: string | null;
  surveyCommentId: number;
  author: { id: number; login: string };
  audience: Audience;
  amount: Amount;
  /** Sats per response, fixed when escrowed (at `rate`, fiat per BTC, for an amount in fiat). */
  sats: bigint;
  rate: string | null;
  slots: number;
  payer: "treasury" | "person";
  minReplyChars: number;
  minAccountAgeMs: number;
  state: SurveyState;
  returnedSats: bigint;
  createdAt: Date;
  closedAt: Date | null;
}

export interface SurveyResponse {
  surveyId: bigint;
  slot: number;
  responderId: number;
  responderLogin: string;
  commentId: number;
  body: string;
  sats: bigint;
  respondedAt: Date;
}

type SurveyRow = {
  id: bigint;
  installation_id: bigint;
  repo_id: bigint;
  repo_owner: string;
  repo_name: string;
  issue_number: number;
  discussion_id: string | null;
  survey_comment_id: bigint;
  author_id: bigint;
  author_login: string;
  audience: Audience;
  currency: Currency;
  amount_minor: bigint;
  sats: bigint;
  rate: string | null;
  slots: number;
  payer: "treasury" | "person";
  min_reply_chars: number;
  min_account_age_ms: bigint;
  state: SurveyState;
  returned_sats: bigint;
  created_at: Date;
  closed_at: Date | null;
};

const toSurvey = (r: SurveyRow): Survey => ({
  id: BigInt(r.id),
  installationId: Number(r.installation_id),
  repoId: Number(r.repo_id),
  owner: r.repo_owner,
  repo: r.repo_name,
  issueNumber: Number(r.issue_number),
  discussionId: r.discussion_id ?? null,
  surveyCommentId: Number(r.survey_comment_id),
  author: { id: Number(r.author_id), login: r.author_login },
  audience: r.audience,
  amount: { currency: r.currency, minor: BigInt(r.amount_minor) },
  sats: BigInt(r.sats),
  rate: r.rate,
  slots: Number(r.slots),
  payer: r.payer,
  minReplyChars: Number(r.min_reply_chars),
  minAccountAgeMs: Number(r.min_account_age_ms),
  state: r.state,
  returnedSats: BigInt(r.returned_sats),
  createdAt: new Date(r.created_at),
  closedAt: r.closed_at === null ? null : new Date(r.closed_at),
});

type ResponseRow = {
  survey_id: bigint;
  slot: number;
  responder_id: bigint;
  responder_login: string;
  comment_id: bigint;
  body: string;
  sats: bigint;
  responded_at: Date;
};

const toResponse = (r: ResponseRow): SurveyResponse => ({
  surveyId: BigInt(r.survey_id),
  slot: Number(r.slot),
  responderId: Number(r.responder_id),
  responderLogin: r.responder_login,
  commentId: Number(r.comment_id),
  body: r.body,
  sats: BigInt(r.sats),
  respondedAt: new Date(r.responded_at),
});

/** The id the next survey gets, so its escrow can be opened before its row is written. */
export async function nextSurveyId(tx: Queryable): Promise<bigint> {
  const [r] = await tx.query<{ id: bigint }>("SELECT nextval('surveys_id_seq') AS id");
  return BigInt(r!.id);
}

export type NewSurvey = Omit<Survey, "state" | "returnedSats" | "closedAt"> & { openKey: string };

/** Records a survey; null when its key was recorded already (the same command again). */
export async function insertSurvey(tx: Queryable, s: NewSurvey): Promise<Survey | null> {
  const rows = await tx.query<SurveyRow>(
    `INSERT INTO surveys (id, open_key, installation_id, repo_id, repo_owner, repo_name, issue_number, survey_comment_id,
       author_id, author_login, audience, currency, amount_minor, sats, rate, slots, payer, min_reply_chars,
       min_account_age_ms, created_at, discussion_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)
     ON CONFLICT (open_key) DO NOTHING RETURNING *`,
    [
      s.id, s.openKey, s.installationId, s.repoId, s.owner, s.repo, s.issueNumber, s.surveyCommentId,
      s.author.id, s.author.login, s.audience, s.amount.currency, s.amount.minor, s.sats, s.rate, s.slots, s.payer,
      s.minReplyChars, s.minAccountAgeMs, s.createdAt, s.discussionId ?? null,
    ],
  );
  return rows[0] ? toSurvey(rows[0]) : null;
}

export async function getSurvey(db: Queryable, id: bigint): Promise<Survey | null> {
  const [r] = await db.query<SurveyRow>("SELECT * FROM surveys WHERE id = $1", [id]);
  return r ? toSurvey(r) : null;
}

/** The survey, locked for the rest of the transaction (responses and a close take turns). */
export async function lockSurvey(tx: Queryable, id: bigint): Promise<Survey | null> {
  const [r] = await tx.query<SurveyRow>("SELECT * FROM surveys WHERE id = $1 FOR UPDATE", [id]);
  return r ? toSurvey(r) : null;
}

/** The open surveys on one issue, oldest first. */
export async function openSurveysOn(db: Queryable, repoId: number, issueNumber: number): Promise<Survey[]> {
  const rows = await db.query<SurveyRow>("SELECT * FROM surveys WHERE repo_id = $1 AND issue_number = $2 AND state = 'open' ORDER BY id", [repoId, issueNumber]);
  return rows.map(toSurvey);
}

/** Every survey on one issue by its repository's name (for the export), oldest first. */
export async function surveysOn(db: Queryable, owner: string, repo: string, issueNumber: number): Promise<Survey[]> {
  const rows = await db.query<SurveyRow>(
    "SELECT * FROM surveys WHERE lower(repo_owner) = lower($1) AND lower(repo_name) = lower($2) AND issue_number = $3 ORDER BY id",
    [owner, repo, issueNumber],
  );
  return rows.map(toSurvey);
}

export async function listResponses(db: Queryable, surveyId: bigint): Promise<SurveyResponse[]> {
  const rows = await db.query<ResponseRow>("SELECT * FROM survey_responses WHERE survey_id = $1 ORDER BY slot", [surveyId]);
  return rows.map(toResponse);
}

/** Records a response in its slot; false when this comment or this person was counted already. */
export async function recordResponse(tx: Queryable, r: SurveyResponse): Promise<boolean> {
  const rows = await tx.query(
    `INSERT INTO survey_responses (survey_id, slot, responder_id, responder_login, comment_id, body, sats, responded_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING id`,
    [r.surveyId, r.slot, r.responderId, r.responderLogin, r.commentId, r.body, r.sats, r.respondedAt],
  );
  return rows.length === 1;
}

/** Ends an open survey (every slot paid, or closed by its author); false when it was not open any more. */
export async function endSurvey(tx: Queryable, id: bigint, e: { state: Exclude<SurveyState, "open">; at: Date; returnedSats: bigint }): Promise<boolean> {
  const rows = await tx.query("UPDATE surveys SET state = $2, closed_at = $3, returned_sats = $4 WHERE id = $1 AND state = 'open' RETURNING id", [
    id,
    e.state,
    e.at,
    e.returnedSats,
  ]);
  return rows.length === 1;
}

/** Serialises surveys opened on one issue, so "one open survey per issue" holds across processes. */
export async function lockIssueSurveys(tx: Queryable, repoId: number, issueNumber: number): Promise<void> {
  await tx.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 19))", [`surveys issue ${repoId} ${issueNumber}`]);
}
