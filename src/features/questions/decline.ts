import type { Command, HelpEntry } from "../../commands/types.js";
import { openQuestionsOn } from "../../store/questions.js";
import { returnQuestion } from "./escrow.js";

export const declineHelp: HelpEntry[] = [
  {
    usage: "/decline",
    description: "Declines the unanswered paid questions asked of you on this issue: the money goes back to whoever asked.",
    whoCanUse: "Whoever was asked with `/ask @login`",
    examples: ["/decline"],
  },
];

export const decline: Command = {
  names: ["decline"],
  inDiscussions: true,
  help: declineHelp,
  async run(line, ctx) {
    const args = line.args.trim().toLowerCase();
    if (args === "help") return { help: true };
    if (args !== "") return { reply: "`/decline` takes nothing after it. Try: `/decline`" };
    return async (tx) => {
      const mine = (await openQuestionsOn(tx, ctx.issue.repoId, ctx.issue.number)).filter((q) => q.targetKind === "person" && q.askedId === ctx.author.id);
      let n = 0;
      for (const q of mine) {
        if (await returnQuestion(tx, q.id, { state: "declined", at: new Date(), cause: { actor: ctx.author, deliveryId: ctx.deliveryId } })) n++;
      }
      return n ? { react: true } : { reply: "nobody has an unanswered question to you on this issue, so there is nothing to decline." };
    };
  },
};
