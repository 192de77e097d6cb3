import { earningsOf, escrowOf, fundsOf, WALLET } from "../../src/ledger/rules.js";
import { transferNow } from "../../src/store/ledger.js";
import type { Db } from "../../src/store/db.js";
import { useTestBot, type TestBotHandle } from "../support/harness.js";
import { ENGINES } from "../support/databases.js";
import { deliver, github, mockNoConfig, repoPath } from "../support/bot.js";
import { commentCreated, type Who } from "../support/payloads.js";
import { owe, TESTNET_ADDRESS } from "../support/owed.js";

const ISSUE = 9;
let nextComment = 90000;
let nextKey = 0;

async function reserve(db: Db, t: { from: ReturnType<typeof fundsOf>; to: typeof WALLET | ReturnType<typeof escrowOf>; sats: bigint; kind: "escrow" | "payout" }) {
  const r = await transferNow(db, { key: `balance-test-${++nextKey}`, debit: t.from, credit: t.to, sats: t.sats, kind: t.kind, pending: { timeoutAt: null } });
  if (!r.ok) throw new Error(r.reason);
}

function useBalance(h: TestBotHandle) {
  return async function ask(user: Who, body = "/balance"): Promise<string> {
    mockNoConfig();
    const bodies: string[] = [];
    github()
      .post(`${repoPath}/issues/${ISSUE}/comments`)
      .reply(201, (_u, b) => {
        bodies.push((b as { body: string }).body);
        return { id: 1 };
      });
    const res = await deliver(h.bot, "issue_comment", commentCreated({ issue: { number: ISSUE }, commentId: nextComment++, body, user }));
    expect(res.status).toBe(200);
    await h.bot.settled();
    expect(bodies).toHaveLength(1);
    return bodies[0]!;
  };
}

describe.each(ENGINES)("/balance on %s", (engine) => {
  describe("with PUBLIC_URL set", () => {
    const h = useTestBot(engine, { env: { PUBLIC_URL: "https://bounties.example.org/" } });
    const ask = useBalance(h);

    test("replies with what is available, each part, where payouts go, a link to the proof, and that the reply is public", async () => {
      const ivy: Who = { login: "ivy", id: 9101 };
      await owe(h.db, ivy, { funds: 10_000n, earnings: 6_000n }, TESTNET_ADDRESS);
      await reserve(h.db, { from: fundsOf(ivy.id), to: escrowOf("pledge", 91), sats: 2_500n, kind: "escrow" });
      await reserve(h.db, { from: earningsOf(ivy.id), to: WALLET, sats: 1_000n, kind: "payout" });
      const reply = await ask(ivy);
      expect(reply).toContain("> /balance");
      // (10,000 − 2,500) + (6,000 − 1,000)
      expect(reply).toContain("you have **12,500 sats** available to spend.");
      expect(reply).toContain("- funds (deposited): 10,000 sats (2,500 sats of it reserved)");
      expect(reply).toContain("- earnings (credited to you, paid out automatically): 6,000 sats (1,000 sats of it reserved)");
      expect(reply).toContain("- held in escrow by you: 2,500 sats (still yours until it is released)");
      expect(reply).toContain("- in a payout being sent: 1,000 sats");
      expect(reply).toContain("- pending for you: nothing");
      expect(reply).toContain(`Your payouts go to \`${TESTNET_ADDRESS}\`.`);
      expect(reply).toContain("https://bounties.example.org/api/v1/solvency/proof/ivy ");
      expect(reply).toContain("This reply is a public comment: anyone can read these figures.");

      // The link answers with a proof of exactly that balance (escrow and payout included: still owed).
      const proof = await fetch(`${h.bot.url}/api/v1/solvency/proof/ivy`);
      expect(((await proof.json()) as { proof: { balance: string } }).proof.balance).toBe("16000");
    });

    test("an overdrawn account is shown as such and does not lower what else is available", async () => {
      const jo: Who = { login: "jo", id: 9102 };
      await owe(h.db, jo, { earnings: 3_000n }, TESTNET_ADDRESS);
      const r = await transferNow(h.db, { key: `balance-test-${++nextKey}:reversal`, debit: fundsOf(jo.id), credit: WALLET, sats: 400n, kind: "deposit_reversal" });
      expect(r.ok).toBe(true);
      const reply = await ask(jo);
      expect(reply).toContain("you have **3,000 sats** available to spend.");
      expect(reply).toContain("- funds (deposited): **-400 sats**: overdrawn");
    });

    test("pending for them: awards in their hold (priced or not) and pending credits", async () => {
      const max: Who = { login: "max", id: 9104 };
      await owe(h.db, max, {}, TESTNET_ADDRESS);
      const [bounty] = await h.db.query<{ id: bigint }>(
        "INSERT INTO bounties (installation_id, repo_id, repo_owner, repo_name, issue_number) VALUES (1, 1, 'o', 'r', 9104) RETURNING id",
      );
      for (const [sats, usd] of [[null, "1250"], [null, "250"], ["7000", "500"]] as const) {
        await h.db.query(
          `INSERT INTO awards (bounty_id, recipient_id, recipient_login, share_bps, amounts, source, hold_until, sats)
           VALUES ($1, $2, 'max', 10000, $3, 'command', now() + interval '1 day', $4)`,
          [bounty!.id, max.id, JSON.stringify([{ currency: "USD", minor: usd }]), sats],
        );
      }
      const r = await transferNow(h.db, { key: `balance-test-${++nextKey}`, debit: WALLET, credit: fundsOf(max.id), sats: 300n, kind: "deposit", pending: { timeoutAt: null } });
      expect(r.ok).toBe(true);
      const reply = await ask(max);
      expect(reply).toContain("you have **0 sats** available to spend.");
      expect(reply).toContain("- pending for you: 300 sats and 3 awards in their hold (7,000 sats + $15)");
    });

    test("/balance with anything after it is refused with a hint", async () => {
      const reply = await ask({ login: "kim", id: 9103 }, "/balance alice");
      expect(reply).toContain("`/balance` takes nothing after it");
    });
  });

  describe("without PUBLIC_URL", () => {
    const h = useTestBot(engine);
    const ask = useBalance(h);

    test("someone with nothing gets zeros, how to link a wallet, and how to find the proof", async () => {
      const reply = await ask({ login: "lee", id: 9201 });
      expect(reply).toContain("you have **0 sats** available to spend.");
      expect(reply).toContain("- funds (deposited): 0 sats\n");
      expect(reply).toContain("You have not linked a wallet, so payouts wait: link one with `/wallet <your bitcoin address>`.");
      expect(reply).toContain("`GET /api/v1/solvency/proof/lee` on this bot's server (ask its operator for the address;");
      expect(reply).toContain("This reply is a public comment");
    });
  });
});
