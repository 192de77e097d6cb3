import { setHidden } from "../store/board.js";
import type { Command, HelpEntry } from "./types.js";

export const boardHelp: HelpEntry[] = [
  {
    usage: "/board hide | /board show",
    description:
      "Leaves the public board (`/board hide`): your page `/u/<login>` is gone and you show as \"anonymous\" on the leaderboard, " +
      "the payouts and the bounties you fund or work on. `/board show` brings you back. Nothing is deleted: the ledger is unchanged.",
    whoCanUse: "Anyone, for themselves",
    examples: ["/board hide", "/board show"],
  },
];

/** /board hide | show: whether the public board names you. */
export const board: Command = {
  names: ["board"],
  help: boardHelp,
  async run(line, ctx) {
    const args = line.args.trim().toLowerCase();
    if (args === "help") return { help: true };
    if (args !== "hide" && args !== "show") return { reply: "`/board` takes `hide` or `show`. Try: `/board hide`" };
    const hide = args === "hide";
    return async (tx) => {
      const changed = await setHidden(tx, ctx.author, hide);
      if (changed) return { react: true };
      return { reply: hide ? "you are already off the public board." : "you are already on the public board." };
    };
  },
};
