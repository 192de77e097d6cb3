import type { Command, HelpEntry } from "./types.js";

export const helpHelp: HelpEntry[] = [
  {
    usage: "/bounties help",
    description: "Shows this table. `/bounty help` and `/wallet help` do too.",
    whoCanUse: "Anyone",
    examples: ["/bounties help", "/bounty help"],
  },
];

/** `/bounties help` (and `/bounties` alone): the table of every command. */
export const help: Command = {
  names: ["bounties"],
  inDiscussions: true,
  help: helpHelp,
  async run(line) {
    const sub = line.args.trim().toLowerCase();
    if (sub === "" || sub === "help") return { help: true };
    return { reply: `\`/bounties\` knows only \`help\`. Try: \`/bounties help\`` };
  },
};
