import type { CommandLine } from "../core/commands.js";
import type { Amount } from "../core/money.js";
import type { TermsResult } from "../deliveries/budgets.js";
import type { PriceSource } from "../payouts/run.js";
import type { RepoConfig } from "../config/schema.js";
import type { NetworkName } from "../bitcoin/network.js";
import type { Queryable } from "../store/db.js";
import type { IssueRef } from "../store/bounties.js";
import type { GitHubUser } from "../github/client.js";

/** One row of the help table, in the spirit of Prow's pluginhelp.Command. */
export interface HelpEntry {
  usage: string;
  description: string;
  whoCanUse: string;
  examples: string[];
}

export type FundCheck = { ok: true } | { ok: false; who: string };

/** The app wallet's deposit branch, as /deposit needs it (PayoutWallet provides it); absent without a wallet. */
export interface DepositKeys {
  readonly network: NetworkName;
  /** Names the wallet's deposit addresses in the store. */
  readonly depositWallet: string;
  depositAddress(index: number): string;
}

/** What /withdraw needs of the payout run: PAYOUT_MIN_SATS, PAYOUT_MODE and today's fee estimate (sat/kvB). */
export interface WithdrawalTerms {
  readonly minSats: bigint;
  readonly mode: "auto" | "approve";
  feeRate(): Promise<bigint>;
}

/** What a command sees of the comment that carried it; everything here is already read. */
export interface CommandContext {
  deliveryId: string;
  /**
   * body: the issue's description, as the delivery carried it (a survey's questions).
   * discussionId: set when the comment is in a GitHub Discussion (its node id), whose number
   * `number` is; only commands marked `inDiscussions` run there.
   */
  issue: IssueRef & { isPullRequest: boolean; state: string; body?: string; discussionId?: string | null; ownerType?: string };
  commentId: number;
  author: { id: number; login: string };
  config: RepoConfig;
  network: NetworkName;
  /** PUBLIC_URL, for links to this server's public pages (the solvency proof); unset when there is none. */
  publicUrl?: string;
  /** Whether the author may fund here (asks GitHub at most once per comment). */
  mayFund(): Promise<FundCheck>;
  /** A GitHub account by login (the users API), or null when there is none. */
  user(login: string): Promise<GitHubUser | null>;
  /** A team's members (the teams API), or null when there is no such team. */
  teamMembers(org: string, slug: string): Promise<GitHubUser[] | null>;
  /** The budgets a pledge of `amount` by the author counts against, and the prices that needs (read now, before the transaction). */
  pledgeTerms(amount: Amount): Promise<TermsResult>;
  /** Today's median BTC prices, to fix the sats of what a command escrows in fiat (tips, questions); absent without a price source. */
  prices?: PriceSource;
  /** The wallet's deposit addresses; undefined when no payout wallet is configured. */
  deposits?: DepositKeys;
  /** DEPOSIT_CONFIRMATIONS. */
  depositConfirmations?: number;
  /** For /withdraw; undefined when no payout wallet is configured. */
  withdrawals?: WithdrawalTerms;
}

/** What a command answers: an error or information reply, a 👍, or a card change. */
export interface Outcome {
  reply?: string;
  /** Reply with the table of every command. */
  help?: boolean;
  react?: boolean;
  bountyId?: bigint;
}

/** Changes to record, run inside the delivery's transaction after every GitHub read is done. */
export type Step = (tx: Queryable) => Promise<Outcome>;

export interface Command {
  /** Names it answers to, lowercase, without the slash. */
  names: string[];
  /**
   * Runs in a GitHub Discussion's comments too (paid questions, surveys, what is about the commenter
   * alone). Others are about issues and pull requests (bounties, claims) and are refused there.
   */
  inDiscussions?: boolean;
  help: HelpEntry[];
  run(line: CommandLine, ctx: CommandContext): Promise<Outcome | Step>;
}
