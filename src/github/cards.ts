import type { Logger } from "pino";
import { listAwardViews } from "../store/awards.js";
import type { Db } from "../store/db.js";
import {
  abandonCard,
  getBounty,
  leaseCard,
  listPledges,
  recordCardSynced,
  releaseCard,
  staleCards,
} from "../store/bounties.js";
import { CARD_MARKER, renderCard, type CardPayouts } from "./card.js";
import type { IssueComment, RepoGitHub } from "./client.js";

/** The app's own bot account, the only author whose comment can be the card. */
export interface BotAccount {
  /** `<app slug>[bot]`, as GET /app's slug gives it. */
  login: string;
  /** The bot account's numeric user id, when known: then the login alone is not enough. */
  userId?: number;
  /** The app's id: a comment GitHub says was made through another app is never ours. */
  appId?: number;
}

/**
 * Whether a comment is the card this app wrote: by the app's bot account and starting with the
 * marker (the bounty card's, or a keyed card's: github/keyedCards.ts). Anyone can type the marker; only GitHub can make a comment's author our bot.
 */
export function isOwnCard(c: IssueComment, self: BotAccount, marker = CARD_MARKER): boolean {
  if (c.userType !== "Bot" || c.userLogin.toLowerCase() !== self.login.toLowerCase()) return false;
  if (self.userId !== undefined && c.userId !== self.userId) return false;
  if (self.appId !== undefined && c.viaAppId !== null && c.viaAppId !== self.appId) return false;
  return c.body.startsWith(marker);
}

export interface CardSyncerOptions {
  db: Db;
  github(installationId: number, owner: string, repo: string): Promise<RepoGitHub>;
  log: Logger;
  /** The app's bot account: a card is found again only among its comments. */
  bot: BotAccount;
  /** Wait this long after a change before editing, so a burst of commands becomes one edit. */
  debounceMs?: number;
  /** PAYOUT_UNCLAIMED_DAYS, which the card states when an award has an unclaimed charity. */
  unclaimedDays?: number;
  /** PAYOUT_MIN_SATS and PAYOUT_INTERVAL, for what a due or credited award waits for. */
  payouts?: CardPayouts;
}

/**
 * Keeps each issue's card (one bot comment, edited in place) and its bounty label in step with the
 * ledger. Changes bump a version; the syncer holding the bounty's lease edits until the version it
 * showed is the latest. Commands arriving during an edit are all shown by the next one: that is the
 * coalescing. The lease lives in the database, so several processes never create two cards.
 */
export class CardSyncer {
  private readonly inFlight = new Map<bigint, Promise<void>>();
  private readonly pending = new Set<bigint>();
  private stopped = false;

  constructor(private readonly opts: CardSyncerOptions) {}

  kick(bountyIds: Iterable<bigint>): void {
    for (const id of bountyIds) {
      if (this.stopped) return;
      if (this.inFlight.has(id)) {
        this.pending.add(id);
        continue;
      }
      const run = this.delay()
        .then(() => this.sync(id))
        .catch((err) => this.opts.log.error({ err, bounty: String(id) }, "card sync failed"))
        .finally(() => {
          this.inFlight.delete(id);
          if (this.pending.delete(id)) this.kick([id]);
        });
      this.inFlight.set(id, run);
    }
  }

  /** Picks up cards left stale by a crash or a failed edit. */
  async sweep(): Promise<void> {
    this.kick(await staleCards(this.opts.db));
  }

  /** True while a card edit is under way. */
  get busy(): boolean {
    return this.inFlight.size > 0;
  }

  async idle(): Promise<void> {
    while (this.inFlight.size) await Promise.all([...this.inFlight.values()]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.idle();
  }

  private delay(): Promise<void> {
    const ms = this.opts.debounceMs ?? 0;
    return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
  }

  private async sync(id: bigint): Promise<void> {
    const { db } = this.opts;
    if (!(await leaseCard(db, id, 120))) return; // another syncer holds it and will show this change
    try {
      for (;;) {
        const bounty = await getBounty(db, id);
        if (bounty.cardSyncedVersion >= bounty.cardVersion) {
          if (await releaseCard(db, id)) return;
          continue;
        }
        const pledges = await listPledges(db, id);
        const awards = await listAwardViews(db, id);
        const body = renderCard(bounty, pledges, awards, { unclaimedDays: this.opts.unclaimedDays, payouts: this.opts.payouts });
        const gh = await this.opts.github(bounty.installationId, bounty.owner, bounty.repo);
        let commentId = bounty.cardCommentId;
        if (commentId === null) {
          // A card created just before a crash is found again, never made twice; only our own comment.
          const existing = (await gh.listComments(bounty.issueNumber)).find((c) => isOwnCard(c, this.opts.bot));
          if (existing) {
            commentId = existing.id;
            if (existing.body !== body) await gh.updateComment(commentId, body);
          } else {
            commentId = await gh.createComment(bounty.issueNumber, body);
          }
        } else {
          await gh.updateComment(commentId, body);
        }
        const wantLabel = bounty.status === "open";
        if (wantLabel && !bounty.labelApplied) await gh.addLabel(bounty.issueNumber, bounty.labelName);
        if (!wantLabel && bounty.labelApplied) await gh.removeLabel(bounty.issueNumber, bounty.labelName);
        await recordCardSynced(db, id, { version: bounty.cardVersion, commentId, labelApplied: wantLabel });
      }
    } catch (err) {
      await abandonCard(db, id).catch(() => undefined);
      throw err;
    }
  }
}
