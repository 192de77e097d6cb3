import { award } from "./award.js";
import { balance } from "./balance.js";
import { bounty } from "./bounty.js";
import { deposit } from "./deposit.js";
import { help } from "./help.js";
import { featureCommands } from "../features/index.js";
import type { Command, HelpEntry } from "./types.js";
import { wallet } from "./wallet.js";
import { withdraw } from "./withdraw.js";

/** Every command the bot answers to. The help table is built from these, so it cannot drift. */
export const COMMANDS: Command[] = [bounty, award, wallet, balance, deposit, withdraw, help];

/** The bounty commands, then every feature's (src/features/index.ts), help last. */
export function allCommands(): Command[] {
  const all = [...COMMANDS.filter((c) => c !== help), ...featureCommands()];
  return [...all, help];
}

export function findCommand(name: string): Command | undefined {
  return allCommands().find((c) => c.names.includes(name));
}

/** The names of the commands that run in a GitHub Discussion's comments, in help order. */
export function discussionCommandNames(): string[] {
  return allCommands()
    .filter((c) => c.inDiscussions)
    .map((c) => c.names[0]!);
}

export function allHelp(): HelpEntry[] {
  return allCommands().flatMap((c) => c.help);
}

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

/** The command-help table, in the spirit of Prow's command-help page. */
export function helpTable(): string {
  const rows = allHelp().map(
    (h) =>
      `| \`${cell(h.usage)}\` | ${cell(h.description)} | ${cell(h.whoCanUse)} | ${h.examples
        .map((e) => `\`${cell(e)}\``)
        .join("<br>")} |`,
  );
  return [
    "bounty-bot answers these commands, each on a line of its own in an issue comment:",
    "",
    "| Command | What it does | Who can use it | Example |",
    "| --- | --- | --- | --- |",
    ...rows,
    "",
    `In a GitHub Discussion these work too: ${discussionCommandNames().map((n) => `\`/${n}\``).join(", ")}.`,
    "",
    "Bounties are paid in bitcoin when a merged pull request that says `Fixes #<issue>` closes the issue.",
  ].join("\n");
}
