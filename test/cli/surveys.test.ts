import { runCli } from "../../src/cli/index.js";
import { openSurvey, payResponse } from "../../src/features/surveys/escrow.js";
import type { PledgeTerms } from "../../src/store/bounties.js";
import type { Db } from "../../src/store/db.js";
import { createTestDb, ENGINES, type TestDb } from "../support/databases.js";
import { silent } from "../support/payouts.js";

async function cli(argv: string[], o: { db?: Db; env?: Record<string, string> } = {}): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runCli(argv, { env: o.env ?? {}, db: o.db, log: silent, stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } });
  return { code, out, err };
}

const cause = { actor: { id: 1, login: "someone" }, deliveryId: "test" };
const noBudgets = (): PledgeTerms => ({ chargedUserId: 1, funderBudget: null, accountBudget: null, rates: {}, now: new Date() });

test.each([
  [["surveys", "export", "--csv"], /say which issue: one owner\/repo#N/],
  [["surveys", "export", "kubernetes/website#1", "kubernetes/website#2", "--csv"], /say which issue: one owner\/repo#N/],
  [["surveys", "export", "kubernetes/website", "--csv"], /name the issue as owner\/repo#N; not "kubernetes\/website"/],
  [["surveys", "export", "kubernetes/website#0", "--csv"], /name the issue as owner\/repo#N/],
  [["surveys", "export", "kubernetes/website#12"], /say the format: --csv/],
  [["surveys", "export", "kubernetes/website#12", "--json"], /Unknown option '--json'/],
])("%j is a usage error (exit 2, nothing opened)", async (argv, message) => {
  const r = await cli(argv as string[], { env: { DATA_DIR: "/nonexistent/never" } });
  expect([r.code, r.err]).toEqual([2, expect.stringMatching(message)]);
  expect(r.err).toContain("usage: bounty-bot surveys export <owner/repo#N> --csv");
});

describe.each(ENGINES)("bounty-bot surveys export on %s", (engine) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(engine);
  });
  afterAll(() => t.close());

  test("writes every paid response of the issue's surveys, oldest survey first, quoting as CSV does", async () => {
    const at = new Date("2026-05-04T10:11:12.000Z");
    const ids: bigint[] = [];
    for (const [n, commentId] of [[0, 9100], [1, 9200]] as const) {
      const r = await t.db.transaction((tx) =>
        openSurvey(
          tx,
          {
            openKey: `survey:${commentId}`, installationId: 1, repoId: 55, owner: "Kubernetes", repo: "sig-release", issueNumber: 7,
            surveyCommentId: commentId, author: { id: 5, login: "pat" }, audience: "anyone", amount: { currency: "BTC", minor: 10n }, sats: 10n,
            rate: null, slots: 2, payer: "treasury", minReplyChars: 20, minAccountAgeMs: 0, createdAt: at,
          },
          { terms: noBudgets(), cause },
        ),
      );
      if (!r.ok || !r.survey) throw new Error(`survey ${n} not opened`);
      ids.push(r.survey.id);
    }
    await t.db.transaction(async (tx) => {
      await payResponse(tx, ids[1]!, { responder: { id: 31, login: "cy" }, commentId: 9201, body: "later survey", at, cause });
      await payResponse(tx, ids[0]!, { responder: { id: 11, login: "ann" }, commentId: 9101, body: 'She said "ship it",\nthen left.', at, cause });
    });
    const r = await cli(["surveys", "export", "kubernetes/SIG-release#7", "--csv"], { db: t.db });
    expect([r.code, r.err]).toEqual([0, ""]);
    expect(r.out).toBe(
      [
        "survey,login,id,time,comment_url,text",
        `${ids[0]},ann,11,2026-05-04T10:11:12.000Z,https://github.com/Kubernetes/sig-release/issues/7#issuecomment-9101,"She said ""ship it"",\nthen left."`,
        `${ids[1]},cy,31,2026-05-04T10:11:12.000Z,https://github.com/Kubernetes/sig-release/issues/7#issuecomment-9201,later survey`,
        "",
      ].join("\n"),
    );
  });

  test("an issue without a survey is exit 1", async () => {
    expect(await cli(["surveys", "export", "kubernetes/website#99", "--csv"], { db: t.db })).toEqual({ code: 1, out: "", err: "bounty-bot: kubernetes/website#99 has no survey.\n" });
  });
});
