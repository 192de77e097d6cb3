/**
 * The README's generated tables, each between `<!-- <name>:start -->` and `<!-- <name>:end -->`:
 * written by `npm run docs`, and a test fails when the README differs (test/config/readme.test.ts).
 * Each is rendered from the one place its facts live: the commands' help entries, the config
 * schema's documentation, the CLI commands' own entries, the environment schema.
 */
import { CLI_COMMANDS } from "../cli/index.js";
import { allHelp } from "../commands/index.js";
import { configDocMarkdown } from "./schema.js";
import { renderEnvTable } from "./env.js";

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

export function commandsTable(): string {
  const rows = allHelp().map(
    (h) => `| \`${cell(h.usage)}\` | ${cell(h.description)} | ${cell(h.whoCanUse)} | ${h.examples.map((e) => `\`${cell(e)}\``).join("<br>")} |`,
  );
  return ["| Command | What it does | Who can use it | Example |", "| --- | --- | --- | --- |", ...rows].join("\n") + "\n";
}

export function cliTable(): string {
  const rows = CLI_COMMANDS.map((c) => `| \`bounty-bot ${cell(c.usage)}\` | ${cell(c.description)} |`);
  return ["| Command | What it does |", "| --- | --- |", ...rows, "| `bounty-bot help` | All of the above, with examples (also `--help`, and `<command> --help`). |"].join("\n") + "\n";
}

export const README_SECTIONS: Record<string, () => string> = {
  "commands-table": commandsTable,
  "config-table": () => configDocMarkdown() + "\n",
  "env-table": () => renderEnvTable(),
  "cli-table": cliTable,
};

/** The README with every generated section replaced by its rendering; throws when a marker is missing. */
export function withGeneratedSections(readme: string, sections = README_SECTIONS): string {
  let out = readme;
  for (const [name, render] of Object.entries(sections)) {
    const start = `<!-- ${name}:start -->`;
    const end = `<!-- ${name}:end -->`;
    const a = out.indexOf(start);
    const b = out.indexOf(end);
    if (a === -1 || b < a) throw new Error(`README.md has no ${start} … ${end} section`);
    out = out.slice(0, a + start.length) + "\n" + render() + out.slice(b);
  }
  return out;
}
