import { formatAmount, parseAmount } from "../../core/money.js";
import type { Command, CommandContext, HelpEntry, Outcome, Step } from "../../commands/types.js";
import { appendEvent } from "../../store/bounties.js";
import { getPrice, removePrice, setPrice, type Price } from "../../store/questions.js";
import { parseTarget } from "./rules.js";

export const priceHelp: HelpEntry[] = [
  {
    usage: "/price <amount> [donate <charity>]",
    description:
      "Sets what you charge to answer a question asked with `/ask @you` (any amount `/bounty` takes: `20usd`, `5000sats`). " +
      "It is paid to you when you answer; with `donate <charity>` (one of the config's `charities`) your answers' earnings go to that charity.",
    whoCanUse: "Anyone, for themselves",
    examples: ["/price 20usd", "/price 5000sats donate coin-center"],
  },
  {
    usage: "/price [@login] | /price off",
    description: "Shows your price (or someone's); `/price off` removes yours, so you are asked only with an amount.",
    whoCanUse: "Anyone",
    examples: ["/price", "/price @alice", "/price off"],
  },
];

const describe = (p: Price, whose: string) =>
  `${whose} ${formatAmount(p.amount)} to answer a question${p.charityId ? `, donated to \`${p.charityId}\`` : ""}.`;

function show(ctx: CommandContext, who: { id: number; login: string } | null): Step {
  return async (tx) => {
    const p = await getPrice(tx, who?.id ?? ctx.author.id);
    if (who) {
      return { reply: p ? `${describe(p, `@${who.login} charges`)} Ask with \`/ask @${who.login}\`.` : `@${who.login} has no price set: \`/ask @${who.login} <amount>\` asks them for the amount you give.` };
    }
    return { reply: p ? `${describe(p, "you charge")} Change it with \`/price <amount>\`, remove it with \`/price off\`.` : "you have no price set. Set one with `/price <amount>`, e.g. `/price 20usd`." };
  };
}

function set(ctx: CommandContext, words: string[]): Outcome | Step {
  const parsed = parseAmount(words[0]!, ctx.config.currency, { command: "/price" });
  if (!parsed.ok) return { reply: parsed.error };
  let charityId: string | null = null;
  let charityName: string | null = null;
  let charityAddress: string | null = null;
  if (words.length > 1) {
    if (words[1]!.toLowerCase() !== "donate" || words.length !== 3) return { reply: "after the amount, only `donate <charity>`. Try: `/price 20usd donate <charity>`" };
    const charity = ctx.config.charities.find((c) => c.id === words[2]!.toLowerCase());
    if (!charity) {
      const list = ctx.config.charities.map((c) => `\`${c.id}\``).join(", ");
      return { reply: list ? `"${words[2]}" is not one of this repository's charities. Choose one of: ${list}.` : "this repository's config lists no charities (`charities` in .github/bounties.yml), so there is nothing to donate to." };
    }
    charityId = charity.id;
    charityName = charity.name;
    charityAddress = charity.address;
  }
  const price: Price = { userId: ctx.author.id, login: ctx.author.login, amount: parsed.value, charityId, charityName, charityAddress };
  return async (tx) => {
    await setPrice(tx, price);
    await appendEvent(tx, {
      userId: ctx.author.id,
      kind: "question_price",
      data: { amount: formatAmount(price.amount), charity: charityId },
      cause: { actor: ctx.author, deliveryId: ctx.deliveryId },
    });
    return { react: true };
  };
}

export const price: Command = {
  names: ["price"],
  inDiscussions: true,
  help: priceHelp,
  async run(line, ctx) {
    const words = line.args.trim().split(/\s+/).filter(Boolean);
    const first = words[0]?.toLowerCase();
    if (first === undefined) return show(ctx, null);
    if (first === "help") return { help: true };
    if (first === "off") {
      if (words.length > 1) return { reply: "`/price off` takes nothing after it." };
      return async (tx) => {
        if (!(await removePrice(tx, ctx.author.id))) return { reply: "you have no price set, so there is nothing to remove." };
        await appendEvent(tx, { userId: ctx.author.id, kind: "question_price", data: { amount: null }, cause: { actor: ctx.author, deliveryId: ctx.deliveryId } });
        return { react: true };
      };
    }
    if (first.startsWith("@")) {
      const t = words.length === 1 ? parseTarget(words[0]!) : null;
      if (t?.kind !== "person") return { reply: "name one person. Try: `/price @login`" };
      const user = await ctx.user(t.login);
      if (!user) return { reply: `there is no GitHub account @${t.login}.` };
      return show(ctx, user);
    }
    return set(ctx, words);
  },
};
