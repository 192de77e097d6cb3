import type { Logger } from "pino";
import type { PayoutEngine, PriceSource } from "../payouts/run.js";
import type { Settings } from "../settings.js";
import type { Db } from "../store/db.js";

export type Env = Record<string, string | undefined>;

/** Bad arguments: exit status 2, and nothing was opened or changed. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The command the arguments were for, to show its usage; none for an unknown command. */
    readonly command?: CliCommand,
  ) {
    super(message);
    this.name = "UsageError";
  }
}

/** What the CLI needs of the payout wallet: a payout run's engine (which syncs, for the balance), plus funding. */
export interface CliWallet extends PayoutEngine {
  receiveAddress(): Promise<string>;
}

/** What a command may use; each resource is opened on first use and closed when the command ends. */
export interface CliContext {
  env: Env;
  out(line: string): void;
  err(line: string): void;
  log: Logger;
  settings(): Settings;
  db(): Promise<Db>;
  wallet(): Promise<CliWallet>;
  prices(): PriceSource;
}

export type OptionSpec = { type: "string" | "boolean"; short?: string; multiple?: boolean };
export type ParsedValues = Record<string, string | boolean | Array<string | boolean> | undefined>;

/**
 * One operator command, its help beside it (as the bot's slash commands keep theirs).
 * `parse` checks the arguments and throws UsageError before anything is opened; `run` does the work
 * and returns the exit status.
 */
export interface CliCommand<T = unknown> {
  /** The words that name it: ["payouts", "list"]. */
  words: string[];
  usage: string;
  description: string;
  examples: string[];
  options?: Record<string, OptionSpec>;
  /** Whether it takes arguments after its name (payout ids). */
  positionals?: boolean;
  parse(input: { values: ParsedValues; positionals: string[]; env: Env }): T;
  run(input: T, ctx: CliContext): Promise<number>;
}

/** Keeps each command's own input type while the list of commands stays one array. */
export function defineCommand<T>(c: CliCommand<T>): CliCommand {
  return c as CliCommand;
}
