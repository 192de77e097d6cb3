/**
 * What a question's card says: pure, so the same question and answers always render the same
 * text. The card mentions whoever is asked (GitHub notifies a mention in a new comment) and, once
 * the money went back, both the asker and whoever was asked.
 */
import { formatAmount } from "../../core/money.js";
import { listAnd } from "../../core/words.js";
import { formatUtc } from "../../github/card.js";
import type { Answer, Question } from "../../store/questions.js";
import { commentUrl } from "./rules.js";

const sats = (n: bigint) => formatAmount({ currency: "BTC", minor: n });

/** Whom the question is for, as mentions. */
function asked(q: Question): string {
  if (q.targetKind === "person") return `@${q.target}`;
  if (q.targetKind === "team") return `@${q.target}`;
  return `list \`${q.target}\` (${listAnd(q.members.map((m) => `@${m.login}`))})`;
}

function price(q: Question): string {
  const fiat = q.amount.currency === "BTC" ? sats(q.sats) : `${formatAmount(q.amount)} (${sats(q.sats)})`;
  return q.slots === 1 ? fiat : `${fiat} for each of the first ${q.slots} answers`;
}

const paidTo = (a: Answer) => (a.charityId ? `donated to \`${a.charityId}\` for @${a.responderLogin}` : `credited to @${a.responderLogin}`);

export function renderQuestionCard(q: Question, answers: readonly Answer[]): string {
  const lines = [`### ❓ Paid question for ${asked(q)}: ${price(q)}`, ""];
  const about = q.about.replace(/[\r\n]+/g, " ").trim();
  // A topic that ends its own sentence ("…on my laptop?") gets no second stop.
  lines.push(`Asked by @${q.asker.login}${about ? ` about: ${about}` : ""}${/[.?!…]$/.test(about) ? "" : "."}`, "");
  const left = BigInt(q.slots - answers.length) * q.sats;
  const who = q.targetKind === "person" ? `@${q.target}` : asked(q);
  const rule = `at least ${q.minReplyChars} characters besides commands`;
  if (q.state === "open") {
    lines.push(
      q.slots === 1
        ? `**Status:** 🟢 waiting for an answer until ${formatUtc(q.expiresAt)}. ${who}: your first comment here with ${rule} answers it, and ${sats(q.sats)} are credited to you.`
        : `**Status:** 🟢 ${answers.length} of ${q.slots} answers paid; open until ${formatUtc(q.expiresAt)}. Each of the first ${q.slots} members to comment here with ${rule} is paid ${sats(q.sats)}.`,
    );
  } else if (q.state === "answered") {
    lines.push(q.slots === 1 ? `**Status:** ✅ answered.` : `**Status:** ✅ all ${q.slots} answers paid.`);
  } else {
    const back = `${sats(q.returnedSats > 0n ? q.returnedSats : left)} went back to @${q.asker.login}`;
    const why =
      q.state === "expired"
        ? `⌛ expired: ${answers.length ? "not every answer came" : "no answer came"} by ${formatUtc(q.expiresAt)}`
        : q.state === "cancelled"
          ? `⚪ cancelled by @${q.asker.login}`
          : `🙅 declined by @${q.target}`;
    lines.push(`**Status:** ${why}; ${back}${q.state === "expired" ? ` (asked: ${who})` : ""}.`);
  }
  lines.push("");
  if (answers.length) {
    lines.push("| Answer | By | Paid |", "| --- | --- | ---: |");
    for (const a of answers) lines.push(`| [comment](${commentUrl(q, a.commentId)}) | @${a.responderLogin} | ${sats(a.sats)} ${paidTo(a)} |`);
    lines.push("");
    if (q.state === "open" && q.slots > 1) lines.push(`${sats(left)} left for ${q.slots - answers.length} more answer${q.slots - answers.length === 1 ? "" : "s"}.`, "");
  }
  lines.push(
    q.state === "open"
      ? `<sub>@${q.asker.login}: \`/ask cancel\` takes it back before it is answered.${q.targetKind === "person" ? ` @${q.target}: \`/decline\` declines it.` : ""} ` +
          "`/price <amount>` sets what you charge for questions; `/bounty help` lists every command.</sub>"
      : "<sub>`/price <amount>` sets what you charge for questions; `/bounty help` lists every command.</sub>",
  );
  return lines.join("\n");
}
