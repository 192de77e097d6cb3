import type { Logger } from "pino";
import type { NetworkName } from "../bitcoin/network.js";
import type { Currency } from "../core/money.js";
import type { RepoGitHub } from "../github/client.js";
import type { Db, Queryable } from "../store/db.js";

/** What processing a delivery needs from the outside world. */
export interface Deps {
  db: Db;
  github(installationId: number, owner: string, repo: string): Promise<RepoGitHub>;
  network: NetworkName;
  /** Defaults from the environment; a repository's config wins over them. */
  defaults: { currency?: Currency; holdMs?: number };
  /** The app's bot account, e.g. "bounty-bot[bot]": the funder shown for label pledges. */
  appLogin: string;
  log: Logger;
}

/** The effects of one delivery, recorded in one transaction with the delivery's completion. */
export type Apply = (tx: Queryable) => Promise<{ bountyIds: bigint[] }>;
