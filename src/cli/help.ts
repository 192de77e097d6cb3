import type { CliCommand } from "./types.js";

/** The help text, built from the commands' own entries so it cannot drift from them. */
export function helpText(commands: CliCommand[], only?: CliCommand[]): string[] {
  const shown = only ?? commands;
  const width = Math.max(...shown.map((c) => c.usage.length));
  const lines = [
    "bounty-bot — the operators' command line. It reads the same environment (and .env) as the app:",
    "DATABASE_URL or DATA_DIR, WALLET_MNEMONIC(_FILE), BITCOIN_NETWORK, ESPLORA_URL, PRICE_SOURCES, PAYOUT_*.",
    "",
    "Usage: bounty-bot <command> [options]",
    "",
    "Commands:",
    ...shown.map((c) => `  ${c.usage.padEnd(width)}  ${c.description}`),
    `  ${"help".padEnd(width)}  Shows this help (also --help, and <command> --help).`,
    "",
    "Examples:",
    ...shown.flatMap((c) => c.examples.map((e) => `  ${e}`)),
    "",
    "Exit status: 0 done, 1 failed (the reason is on stderr), 2 bad arguments (nothing was changed).",
  ];
  return lines;
}
