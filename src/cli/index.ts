import { parseArgs } from "node:util";
import { awardsApprove, awardsList } from "./awards.js";
import { openContext, type CliResources, type Output } from "./context.js";
import { deliveriesList, deliveriesRetry } from "./deliveries.js";
import { helpText } from "./help.js";
import { auditExport } from "./audit.js";
import { ledgerBalances, ledgerCheck, ledgerExport, ledgerTransfers } from "./ledger.js";
import { payoutsApprove, payoutsList, payoutsRun } from "./payouts.js";
import { UsageError, type CliCommand, type Env } from "./types.js";
import { surveysExport } from "./surveys.js";
import { walletAddress, walletBalance, walletCreate } from "./wallet.js";
import { tokensCreate, tokensList, tokensRevoke } from "./tokens.js";

/** Every operator command; the help is built from these. */
export const CLI_COMMANDS: CliCommand[] = [walletCreate, walletAddress, walletBalance, payoutsList, payoutsRun, payoutsApprove, awardsList, awardsApprove, deliveriesList, deliveriesRetry, ledgerBalances, ledgerCheck, ledgerTransfers, ledgerExport, auditExport, tokensCreate, tokensList, tokensRevoke, surveysExport];

export interface CliOptions extends CliResources {
  env: Env;
  stdout: Output;
  stderr: Output;
}

/** Runs one command line (without `node` and the script); resolves to the exit status. */
export async function runCli(argv: string[], opts: CliOptions): Promise<number> {
  const ctx = openContext(opts.env, opts, opts);
  try {
    const words = argv.filter((a) => !a.startsWith("-"));
    const wantsHelp = argv.length === 0 || words[0] === "help" || argv.includes("--help") || argv.includes("-h");
    if (wantsHelp) {
      const topic = (words[0] === "help" ? words.slice(1) : words).slice(0, 2);
      const only = CLI_COMMANDS.filter((c) => topic.every((w, i) => c.words[i] === w));
      for (const line of helpText(CLI_COMMANDS, only.length ? only : undefined)) ctx.out(line);
      return 0;
    }
    const command = CLI_COMMANDS.find((c) => c.words.every((w, i) => argv[i] === w));
    if (!command) {
      const group = CLI_COMMANDS.filter((c) => c.words[0] === argv[0]);
      const known = (group.length ? group : CLI_COMMANDS).map((c) => c.words.join(" "));
      throw new UsageError(`unknown command "${argv.slice(0, 2).join(" ")}"; try one of: ${known.join(", ")}`);
    }
    const input = parseCommand(command, argv.slice(command.words.length), opts.env);
    return await command.run(input, ctx);
  } catch (err) {
    if (err instanceof UsageError) {
      ctx.err(`bounty-bot: ${err.message}`);
      ctx.err(err.command ? `usage: bounty-bot ${err.command.usage}` : "See: bounty-bot help");
      return 2;
    }
    ctx.err(`bounty-bot: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    await ctx.close().catch((err: unknown) => ctx.err(`bounty-bot: closing the database: ${err instanceof Error ? err.message : String(err)}`));
  }
}

function parseCommand(command: CliCommand, args: string[], env: Env): unknown {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options: command.options ?? {}, allowPositionals: command.positionals ?? false, strict: true });
  } catch (err) {
    throw new UsageError(`${command.words.join(" ")}: ${(err as Error).message}`, command);
  }
  try {
    return command.parse({ values: parsed.values, positionals: parsed.positionals, env });
  } catch (err) {
    if (err instanceof UsageError && !err.command) throw new UsageError(`${command.words.join(" ")}: ${err.message}`, command);
    throw err;
  }
}
