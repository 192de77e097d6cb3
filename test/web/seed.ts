/**
 * Board data for the board's tests: bounties with pledges, awards paid in payouts with their
 * transactions, a price, a question, an answer, a tip — rows as the app's own flows leave them,
 * written straight to the store. The issue facts go through the board's own recorder.
 */
import { recordIssueFacts } from "../../src/store/board.js";
import type { Db } from "../../src/store/db.js";

export const XSS_TITLE = "<script>alert(1)</script> & friends";

let txSeq = 0;
export const txidFor = (n: number): string => n.toString(16).padStart(64, "a");

export interface SeedRepo {
  id: number;
  owner: string;
  name: string;
  private?: boolean;
}

export async function seedIssue(
  db: Db,
  repo: SeedRepo,
  o: { number: number; title: string; labels?: string[]; assignees?: Array<{ id: number; login: string }>; createdAt?: Date; status?: string },
): Promise<bigint> {
  await recordIssueFacts(db, {
    repoId: repo.id,
    fullName: `${repo.owner}/${repo.name}`,
    private: repo.private ?? false,
    issueNumber: o.number,
    labels: o.labels ?? [],
    assignees: o.assignees ?? [],
    htmlUrl: `https://github.com/${repo.owner}/${repo.name}/issues/${o.number}`,
    at: new Date("2024-01-01T00:00:00Z"),
  });
  const [b] = await db.query<{ id: bigint }>(
    `INSERT INTO bounties (installation_id, repo_id, repo_owner, repo_name, issue_number, issue_title, status, created_at)
     VALUES (2, $1, $2, $3, $4, $5, $6, $7) RETURNING id`,
    [repo.id, repo.owner, repo.name, o.number, o.title, o.status ?? "open", o.createdAt ?? new Date()],
  );
  return BigInt(b!.id);
}

export async function seedPledge(db: Db, bountyId: bigint, funder: { id: number; login: string }, o: { currency: string; minor: bigint; sats: bigint; status?: string }): Promise<void> {
  await db.query(
    `INSERT INTO pledges (bounty_id, funder_key, funder_id, funder_login, currency, amount_minor, status, value_sats)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [bountyId, `user:${funder.id}`, funder.id, funder.login, o.currency, o.minor, o.status ?? "open", o.sats],
  );
}

/** An award of `sats` on the bounty, credited and paid in a broadcast payout of its own; returns the txid. */
export async function seedPaidAward(db: Db, bountyId: bigint, who: { id: number; login: string }, sats: bigint, at = new Date()): Promise<string> {
  const txid = txidFor(++txSeq + Math.floor(Math.random() * 1e9));
  const [tx] = await db.query<{ id: bigint }>(
    `INSERT INTO payout_txs (txid, hex, network, fee_sats, fee_rate_sat_kvb, vsize, payout_sats, inputs, outputs, day_utc, state, broadcast_at)
     VALUES ($1, '00', 'testnet', 200, 2000, 100, $2, '[]', '[]', '2024-01-01', 'broadcast', now()) RETURNING id`,
    [txid, sats],
  );
  const [p] = await db.query<{ id: bigint }>(
    `INSERT INTO payouts (payee_kind, user_id, login, address, address_type, network, sats, state, tx_id, vout, created_at)
     VALUES ('user', $1, $2, 'tb1qsecretpayoutaddressxxxxxxxxxxxxxxxxxxx', 'p2wpkh', 'testnet', $3, 'broadcast', $4, 0, $5) RETURNING id`,
    [who.id, who.login, sats, tx!.id, at],
  );
  await db.query(
    `INSERT INTO awards (bounty_id, recipient_id, recipient_login, share_bps, amounts, source, hold_until, state, sats, rates, priced_at, payout_id)
     VALUES ($1, $2, $3, 10000, '[{"currency": "USD", "minor": "5000"}]', 'command', $4, 'credited', $5, '{"USD": {"price": "60000.00"}}', $4, $6)`,
    [bountyId, who.id, who.login, at, sats, p!.id],
  );
  return txid;
}

export async function seedExpert(db: Db, who: { id: number; login: string }, o: { currency: string; minor: bigint }): Promise<void> {
  await db.query(`INSERT INTO question_prices (user_id, login, currency, amount_minor) VALUES ($1, $2, $3, $4)`, [who.id, who.login, o.currency, o.minor]);
}

let askSeq = 0;
/** An open question to `to` on the issue, and (when `answeredBy`) an answered one with its paid answer. */
export async function seedQuestion(
  db: Db,
  repo: SeedRepo,
  issue: number,
  o: { asker: { id: number; login: string }; to: { id: number; login: string }; sats: bigint; answered?: boolean; at?: Date },
): Promise<void> {
  const at = o.at ?? new Date();
  const [q] = await db.query<{ id: bigint }>(
    `INSERT INTO questions (ask_key, installation_id, repo_id, repo_owner, repo_name, issue_number, ask_comment_id, asker_id, asker_login,
       target_kind, target, asked_id, currency, amount_minor, sats, slots, payer, min_reply_chars, state, created_at, expires_at, closed_at)
     VALUES ($1, 2, $2, $3, $4, $5, $6, $7, $8, 'person', $9, $10, 'BTC', $11, $11, 1, 'person', 20, $12, $13, $14, $15) RETURNING id`,
    [`ask-${++askSeq}-${Math.random()}`, repo.id, repo.owner, repo.name, issue, 1000 + askSeq, o.asker.id, o.asker.login, o.to.login, o.to.id, o.sats,
      o.answered ? "answered" : "open", at, new Date(at.getTime() + 7 * 86_400_000), o.answered ? new Date(at.getTime() + 3_600_000) : null],
  );
  if (o.answered) {
    await db.query(
      `INSERT INTO question_answers (question_id, slot, responder_id, responder_login, comment_id, sats, answered_at) VALUES ($1, 0, $2, $3, $4, $5, $6)`,
      [q!.id, o.to.id, o.to.login, 5000 + askSeq, o.sats, new Date(at.getTime() + 3_600_000)],
    );
  }
}

export async function seedTip(db: Db, repo: SeedRepo, issue: number, from: { id: number; login: string }, to: { id: number; login: string }, sats: bigint): Promise<void> {
  await db.query(
    `INSERT INTO tips (comment_id, position, tipper_id, tipper_login, recipient_id, recipient_login, installation_id, repo_id, repo_owner, repo_name, issue_number,
       currency, amount_minor, sats, payer, state, payable_at, created_at, settled_at)
     VALUES ($1, 0, $2, $3, $4, $5, 2, $6, $7, $8, $9, 'BTC', $10, $10, 'person', 'released', now(), now(), now())`,
    [Math.floor(Math.random() * 1e9), from.id, from.login, to.id, to.login, repo.id, repo.owner, repo.name, issue, sats],
  );
}

export const PUBLIC_REPO: SeedRepo = { id: 186853002, owner: "kubernetes", name: "website" };
export const OTHER_REPO: SeedRepo = { id: 186853003, owner: "kubernetes", name: "kubectl" };
export const PRIVATE_REPO: SeedRepo = { id: 186853099, owner: "kubernetes", name: "secret-plans", private: true };

export const ALICE = { id: 13001, login: "alice" };
export const BOB = { id: 13002, login: "bob-k8s" };
export const CAROL = { id: 13003, login: "carol" };
export const DAVE = { id: 13004, login: "dave" };

/** A small board: three public bounties (one with a hostile title), one private, payouts, an expert, a question, a tip. */
export async function seedBoard(db: Db): Promise<{ txids: string[] }> {
  const day = 86_400_000;
  const b1 = await seedIssue(db, PUBLIC_REPO, { number: 101, title: XSS_TITLE, labels: ["sig/docs", "kind/bug", "help wanted"], assignees: [BOB], createdAt: new Date(Date.now() - 3 * day) });
  await seedPledge(db, b1, ALICE, { currency: "USD", minor: 5000n, sats: 83_000n });
  const b2 = await seedIssue(db, PUBLIC_REPO, { number: 102, title: "Document the node lifecycle", labels: ["sig/node", "area/kubelet"], createdAt: new Date(Date.now() - 10 * day) });
  await seedPledge(db, b2, ALICE, { currency: "BTC", minor: 20_000n, sats: 20_000n });
  await seedPledge(db, b2, DAVE, { currency: "BTC", minor: 5_000n, sats: 5_000n });
  const b3 = await seedIssue(db, OTHER_REPO, { number: 7, title: "kubectl explain is slow", labels: ["sig/cli", "kind/bug"], createdAt: new Date(Date.now() - 1 * day) });
  await seedPledge(db, b3, DAVE, { currency: "EUR", minor: 2500n, sats: 40_000n });
  const hidden = await seedIssue(db, PRIVATE_REPO, { number: 1, title: "A private plan", labels: ["sig/secret"] });
  await seedPledge(db, hidden, ALICE, { currency: "BTC", minor: 99_000n, sats: 99_000n });

  const done = await seedIssue(db, PUBLIC_REPO, { number: 90, title: "Fixed docs", status: "paid", createdAt: new Date(Date.now() - 20 * day) });
  await db.query("UPDATE bounties SET issue_state = 'completed', issue_closed_at = now() - interval '2 days' WHERE id = $1", [done]);
  await seedPledge(db, done, ALICE, { currency: "BTC", minor: 30_000n, sats: 30_000n, status: "awarded" });
  const txids = [await seedPaidAward(db, done, BOB, 30_000n, new Date(Date.now() - day))];

  await seedExpert(db, CAROL, { currency: "USD", minor: 2000n });
  await seedQuestion(db, PUBLIC_REPO, 101, { asker: ALICE, to: CAROL, sats: 15_000n });
  await seedQuestion(db, PUBLIC_REPO, 102, { asker: DAVE, to: CAROL, sats: 12_000n, answered: true, at: new Date(Date.now() - 2 * day) });
  await seedTip(db, PUBLIC_REPO, 102, DAVE, BOB, 1_500n);
  return { txids };
}
