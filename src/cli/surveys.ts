import { isLogin } from "../core/webhooks.js";
import { listResponses, surveysOn } from "../store/surveys.js";
import { commentUrl } from "../features/surveys/rules.js";
import { csvRecord } from "./format.js";
import { defineCommand, UsageError } from "./types.js";

export const SURVEY_COLUMNS = ["survey", "login", "id", "time", "comment_url", "text"] as const;

const REPO = /^[A-Za-z0-9_.-]{1,100}$/;

/** `owner/repo#N`, as the issue's page names it; null when it is not one. */
export function parseIssueRef(text: string): { owner: string; repo: string; number: number } | null {
  const m = /^([^/#\s]+)\/([^/#\s]+)#([1-9]\d{0,9})$/.exec(text);
  if (!m || !isLogin(m[1]!) || !REPO.test(m[2]!) || Number(m[3]) > 2_147_483_647) return null;
  return { owner: m[1]!, repo: m[2]!, number: Number(m[3]) };
}

/**
 * `surveys export <owner/repo#N> --csv`: the paid responses to the surveys on one issue, for the
 * press team's or SIG's spreadsheet. Exit 1 when the issue never had a survey.
 */
export const surveysExport = defineCommand({
  words: ["surveys", "export"],
  usage: "surveys export <owner/repo#N> --csv",
  description:
    `Writes the paid responses to the surveys (\`/survey\`) on that issue as CSV on stdout, in the order they were paid: ${SURVEY_COLUMNS.join(", ")} ` +
    "(id: the responder's numeric GitHub id; text: the comment as written). Exit 1 when the issue has no survey.",
  examples: ["bounty-bot surveys export kubernetes/website#4242 --csv > responses.csv"],
  options: { csv: { type: "boolean" } },
  positionals: true,
  parse({ values, positionals }) {
    if (positionals.length !== 1) throw new UsageError("say which issue: one owner/repo#N");
    const ref = parseIssueRef(positionals[0]!);
    if (!ref) throw new UsageError(`name the issue as owner/repo#N; not "${positionals[0]}"`);
    if (values.csv !== true) throw new UsageError("say the format: --csv (the only one)");
    return ref;
  },
  async run(ref, ctx) {
    const db = await ctx.db();
    const surveys = await surveysOn(db, ref.owner, ref.repo, ref.number);
    if (surveys.length === 0) {
      ctx.err(`bounty-bot: ${ref.owner}/${ref.repo}#${ref.number} has no survey.`);
      return 1;
    }
    ctx.out(csvRecord([...SURVEY_COLUMNS]));
    for (const s of surveys) {
      for (const r of await listResponses(db, s.id)) {
        ctx.out(csvRecord([s.id, r.responderLogin, r.responderId, r.respondedAt.toISOString(), commentUrl(s, r.commentId), r.body]));
      }
    }
    return 0;
  },
});
