/**
 * What the earnings a payout transaction paid beyond awards came from (answers, tips, survey
 * responses, API rewards), for the payout comments. A payout records only how many sats of a
 * person's earnings it took, not which credits: the ledger tells. A person's payout took what their
 * earnings were credited after their previous payout was formed and before this one was (each
 * formation takes all that is available), so those credits are the candidates, oldest first, with
 * how many sats beyond their awards the payout took from that person.
 */
import type { Queryable } from "./db.js";
import { fromJson } from "./db.js";
import type { RepoRef } from "./outbox.js";

export type EarningSource =
  | { kind: "answer"; questionId: bigint; about: string }
  | { kind: "tip"; tipper: string; reason: string | null }
  | { kind: "survey"; surveyId: bigint }
  | { kind: "reward"; rewardId: bigint; reason: string; url: string | null };

export interface EarningCredit {
  transferId: bigint;
  sats: bigint;
  source: EarningSource;
  /** Where the money came from, to comment on: null when nothing names a place (a reward without notify). */
  /** The thread: an issue, or a Discussion (its node id) where the question or survey was. */
  where: (RepoRef & { issueNumber: number; discussionId?: string | null }) | null;
}

export interface PaidEarnings {
  payout: { id: bigint; sats: bigint; kind: "user" | "charity"; charityName: string | null; address: string; vout: number };
  userId: number;
  login: string;
  /** What this person's earnings gave the payout beyond their awards in it. */
  extraSats: bigint;
  /** Credits to their earnings since their previous payout was formed and before this one, oldest first. */
  credits: EarningCredit[];
}

type Row = {
  payout_id: bigint;
  payout_sats: bigint;
  payee_kind: "user" | "charity";
  charity_name: string | null;
  address: string;
  vout: number;
  user_id: bigint;
  wallet_login: string | null;
  extra_sats: bigint;
  transfer_id: bigint;
  sats: bigint;
  ref: unknown;
  source: "answer" | "tip" | "survey" | "reward";
  login: string | null;
  q_about: string | null;
  tipper_login: string | null;
  tip_reason: string | null;
  r_reason: string | null;
  r_url: string | null;
  installation_id: bigint | null;
  repo_owner: string | null;
  repo_name: string | null;
  issue_number: number | null;
  discussion_id: string | null;
};

/** For each person a transaction's earnings payouts paid beyond awards: the credits it paid, oldest first. */
export async function paidEarnings(db: Queryable, txId: bigint): Promise<PaidEarnings[]> {
  const rows = await db.query<Row>(
    `WITH p AS (
       SELECT id, payee_kind, user_id, login, charity_id, charity_name, address, vout, sats FROM payouts
       WHERE tx_id = $1 AND source = 'earnings'
     ), given AS (
       -- What each person's earnings gave the payout when it was formed: its reservation, or their donation to the charity.
       SELECT p.id AS payout_id, p.user_id, t.sats, t.id AS formed FROM p JOIN ledger_transfers t ON t.key = 'payout:' || p.id
       WHERE p.payee_kind = 'user'
       UNION ALL
       SELECT p.id, (t.ref->>'user')::bigint, t.sats, t.id FROM p
       JOIN ledger_accounts c ON c.key = 'charity:' || p.charity_id
       JOIN ledger_transfers t ON t.credit_account_id = c.id AND t.kind = 'donation' AND t.ref->>'payout' = p.id::text
       WHERE p.payee_kind = 'charity'
     ), extra AS (
       SELECT g.payout_id, g.user_id, g.formed, e.id AS account_id,
              g.sats - coalesce((SELECT sum(a.sats) FROM awards a WHERE a.payout_id = g.payout_id AND a.recipient_id = g.user_id), 0) AS extra_sats
       FROM given g JOIN ledger_accounts e ON e.key = 'earnings:' || g.user_id
     ), since AS (
       -- The person's previous payout still standing (a dissolved one was deleted, its reservation voided).
       SELECT x.*, coalesce((
         SELECT max(f.id) FROM ledger_transfers f
         WHERE f.debit_account_id = x.account_id AND f.id < x.formed
           AND ((f.kind = 'payout' AND f.key = 'payout:' || (f.ref->>'payout')) OR f.kind = 'donation')
           AND EXISTS (SELECT 1 FROM payouts q WHERE q.id = (f.ref->>'payout')::bigint)
       ), 0) AS after_id
       FROM extra x WHERE x.extra_sats > 0
     )
     SELECT s.payout_id, p.sats AS payout_sats, p.payee_kind, p.charity_name, p.address, p.vout, s.user_id, w.login AS wallet_login,
            s.extra_sats, t.id AS transfer_id, t.sats, t.ref,
            CASE WHEN t.kind = 'reward' THEN 'reward' WHEN t.ref->>'question' IS NOT NULL THEN 'answer'
                 WHEN t.ref->>'tip' IS NOT NULL THEN 'tip' ELSE 'survey' END AS source,
            coalesce(qa.responder_login, tp.recipient_login, sr.responder_login, r.recipient_login) AS login,
            q.about AS q_about, tp.tipper_login, tp.reason AS tip_reason, r.reason AS r_reason, r.url AS r_url,
            coalesce(q.installation_id, tp.installation_id, sv.installation_id, o.installation_id) AS installation_id,
            coalesce(q.repo_owner, tp.repo_owner, sv.repo_owner, o.repo_owner) AS repo_owner,
            coalesce(q.repo_name, tp.repo_name, sv.repo_name, o.repo_name) AS repo_name,
            coalesce(q.issue_number, tp.issue_number, sv.issue_number, o.issue_number) AS issue_number,
            coalesce(q.discussion_id, sv.discussion_id, o.discussion_id) AS discussion_id
     FROM since s JOIN p ON p.id = s.payout_id
     JOIN ledger_transfers t ON t.credit_account_id = s.account_id AND t.id > s.after_id AND t.id < s.formed
       AND ((t.kind = 'escrow_release' AND (t.ref->>'question' IS NOT NULL OR t.ref->>'tip' IS NOT NULL OR t.ref->>'survey' IS NOT NULL))
            OR (t.kind = 'reward' AND t.ref->>'reward' IS NOT NULL))
     LEFT JOIN wallets w ON w.user_id = s.user_id
     LEFT JOIN questions q ON t.kind = 'escrow_release' AND q.id = (t.ref->>'question')::bigint
     LEFT JOIN question_answers qa ON qa.question_id = q.id AND qa.comment_id = (t.ref->>'comment')::bigint
     LEFT JOIN tips tp ON t.kind = 'escrow_release' AND t.ref->>'question' IS NULL
       AND tp.comment_id = split_part(t.ref->>'tip', '.', 1)::bigint AND tp.position = split_part(t.ref->>'tip', '.', 2)::integer
     LEFT JOIN surveys sv ON t.kind = 'escrow_release' AND t.ref->>'question' IS NULL AND t.ref->>'tip' IS NULL
       AND sv.id = (t.ref->>'survey')::bigint
     LEFT JOIN survey_responses sr ON sr.survey_id = sv.id AND sr.comment_id = (t.ref->>'comment')::bigint
     LEFT JOIN api_rewards r ON t.kind = 'reward' AND r.id = (t.ref->>'reward')::bigint
     -- A reward's notify thread: where its own comment was queued (the outbox keeps the installation).
     LEFT JOIN outbox o ON o.dedupe_key = 'reward:' || r.id || ':notify'
     ORDER BY s.payout_id, s.user_id, t.id`,
    [txId],
  );
  const out: PaidEarnings[] = [];
  for (const r of rows) {
    const userId = Number(r.user_id);
    let last = out[out.length - 1];
    if (!last || last.payout.id !== BigInt(r.payout_id) || last.userId !== userId) {
      last = {
        payout: { id: BigInt(r.payout_id), sats: BigInt(r.payout_sats), kind: r.payee_kind, charityName: r.charity_name, address: r.address, vout: Number(r.vout) },
        userId,
        login: r.login ?? r.wallet_login ?? `user ${userId}`,
        extraSats: BigInt(r.extra_sats),
        credits: [],
      };
      out.push(last);
    }
    const ref = fromJson<Record<string, string>>(r.ref);
    const source: EarningSource =
      r.source === "answer"
        ? { kind: "answer", questionId: BigInt(ref.question!), about: r.q_about ?? "" }
        : r.source === "tip"
          ? { kind: "tip", tipper: r.tipper_login ?? "someone", reason: r.tip_reason }
          : r.source === "survey"
            ? { kind: "survey", surveyId: BigInt(ref.survey!) }
            : { kind: "reward", rewardId: BigInt(ref.reward!), reason: r.r_reason ?? "", url: r.r_url };
    last.credits.push({
      transferId: BigInt(r.transfer_id),
      sats: BigInt(r.sats),
      source,
      where:
        r.installation_id !== null && r.repo_owner !== null && r.repo_name !== null && r.issue_number !== null
          ? { installationId: Number(r.installation_id), owner: r.repo_owner, repo: r.repo_name, issueNumber: Number(r.issue_number), discussionId: r.discussion_id ?? null }
          : null,
    });
  }
  return out;
}
