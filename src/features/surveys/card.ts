/**
 * What a survey's card says: pure, so the same survey and responses always render the same text.
 * It shows the responses counted and the money left.
 */
import { formatAmount } from "../../core/money.js";
import type { Survey, SurveyResponse } from "../../store/surveys.js";
import { commentUrl } from "./rules.js";

const sats = (n: bigint) => formatAmount({ currency: "BTC", minor: n });

function who(s: Survey, days: number): string {
  return s.audience === "members" ? `members of @${s.owner}` : `anyone with a GitHub account at least ${days} day${days === 1 ? "" : "s"} old`;
}

export function renderSurveyCard(s: Survey, responses: readonly SurveyResponse[]): string {
  const each = s.amount.currency === "BTC" ? sats(s.sats) : `${formatAmount(s.amount)} (${sats(s.sats)})`;
  const days = Math.floor(s.minAccountAgeMs / 86_400_000);
  const left = s.state === "open" ? BigInt(s.slots - responses.length) * s.sats : 0n;
  const lines = [`### 📋 Paid survey: ${each} for each of the first ${s.slots} response${s.slots === 1 ? "" : "s"}`, ""];
  lines.push(`Opened by @${s.author.login}; the questions are in this issue's description. Open to ${who(s, days)}.`, "");
  if (s.state === "open") {
    lines.push(
      `**Status:** 🟢 ${responses.length} of ${s.slots} responses counted; ${sats(left)} left. ` +
        `Your first comment here with at least ${s.minReplyChars} characters besides commands is your response, paid ${sats(s.sats)}.`,
    );
  } else if (s.state === "full") {
    lines.push(`**Status:** ✅ all ${s.slots} responses counted and paid; nothing left.`);
  } else {
    lines.push(`**Status:** ⚪ closed by @${s.author.login} with ${responses.length} of ${s.slots} responses counted; ${sats(s.returnedSats)} went back to ${s.payer === "treasury" ? "the treasury" : `@${s.author.login}`}.`);
  }
  lines.push("");
  if (responses.length) {
    lines.push("| Response | By | Paid |", "| --- | --- | ---: |");
    for (const r of responses) lines.push(`| [comment](${commentUrl(s, r.commentId)}) | @${r.responderLogin} | ${sats(r.sats)} |`);
    lines.push("");
  }
  lines.push(
    s.state === "open"
      ? `<sub>@${s.author.login}: \`/survey close\` ends it and takes back what is left; \`/bounty help\` lists every command.</sub>`
      : "<sub>`/bounty help` lists every command.</sub>",
  );
  return lines.join("\n");
}
