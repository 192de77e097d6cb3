import type { Logger } from "pino";
import type { NetworkName } from "../bitcoin/network.js";
import type { Budget } from "../core/budget.js";
import type { Currency } from "../core/money.js";
import type { PriceSource } from "../payouts/run.js";
import type { RepoGitHub } from "../github/client.js";
import type { DepositKeys, WithdrawalTerms } from "../commands/types.js";
import type { Db, Queryable } from "../store/db.js";

/** What processing a delivery needs from the outside world. */
export interface Deps {
  db: Db;
  github(installationId: number, owner: string, repo: string): Promise<RepoGitHub>;
  network: NetworkName;
  /** From the environment: the currency a repository's config may change, the hold (PAYOUT_HOLD) it may only raise. */
  defaults: { currency?: Currency; holdMs?: number };
  /** ACCOUNT_BUDGETS, by lowercase account login; an account not listed has none. */
  accountBudgets?: ReadonlyMap<string, Budget>;
  /** Prices for counting a pledge against a budget in another currency; without them such a pledge is refused. */
  prices?: PriceSource;
  /** The app's bot account, e.g. "bounty-bot[bot]": the funder shown for label pledges. */
  appLogin: string;
  /** PUBLIC_URL, where people reach this server (links in replies); unset when it is not public. */
  publicUrl?: string;
  log: Logger;
  /** The payout wallet's deposit addresses, for /deposit, and DEPOSIT_CONFIRMATIONS; absent without a wallet. */
  deposits?: DepositKeys;
  depositConfirmations?: number;
  /** For /withdraw (PAYOUT_MIN_SATS, PAYOUT_MODE, the wallet's fee estimate); absent without a wallet. */
  withdrawals?: WithdrawalTerms;
}

/** The effects of one delivery, recorded in one transaction with the delivery's completion. */
export type Apply = (tx: Queryable) => Promise<{ bountyIds: bigint[]; commands?: Array<{ name: string; outcome: string }> }>;
