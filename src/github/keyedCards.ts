import type { Logger } from "pino";
import type { Db } from "../store/db.js";
import { abandonCard, getCard, leaseCard, recordCardSynced, releaseCard, staleCards } from "../store/cards.js";
import { isOwnCard, type BotAccount } from "./cards.js";
import type { RepoGitHub } from "./client.js";
import { createThreadComment, listThreadComments, updateThreadComment, type CommentRef } from "./threads.js";

/**
 * A kind of card a feature shows (a question, a survey): its key is `<kind>:<id>`, and `render`
 * gives the comment's Markdown from the store (null when there is nothing to show any more).
 * The syncer adds the marker; features register kinds in their Feature's `cards`.
 */
export interface CardKind {
  kind: string;
  render(db: Db, id: string): Promise<string | null>;
}

/** The hidden first line that finds a keyed card again among an issue's comments. */
export const cardMarker = (key: string): string => `<!-- bounty-bot:card:${key} -->`;

export interface KeyedCardSyncerOptions {
  db: Db;
  github(installationId: number, owner: string, repo: string): Promise<RepoGitHub>;
  log: Logger;
  bot: BotAccount;
  kinds: readonly CardKind[];
  debounceMs?: number;
}

/**
 * Keeps each keyed card (the cards table) in step with what it shows, by the bounty card's cycle:
 * lease the card, render, find our comment (once, after a crash: never a second card) or create
 * it, compare, update, record the version shown, and go again while a newer version arrived.
 */
export class KeyedCardSyncer {
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly pending = new Set<string>();
  /** Sweeps reading which cards are stale: idle() waits for them too, so nothing kicked is missed. */
  private readonly sweeping = new Set<Promise<void>>();
  private stopped = false;

  constructor(private readonly opts: KeyedCardSyncerOptions) {}

  kick(keys: Iterable<string>): void {
    for (const key of keys) {
      if (this.stopped) return;
      if (this.inFlight.has(key)) {
        this.pending.add(key);
        continue;
      }
      const run = this.delay()
        .then(() => this.sync(key))
        .catch((err) => this.opts.log.error({ err, card: key }, "card sync failed"))
        .finally(() => {
          this.inFlight.delete(key);
          if (this.pending.delete(key)) this.kick([key]);
        });
      this.inFlight.set(key, run);
    }
  }

  /** Every card whose change is not shown yet (after a commit, a crash or a failed edit). */
  sweep(): Promise<void> {
    const run = staleCards(this.opts.db).then((keys) => this.kick(keys));
    const tracked = run.catch(() => undefined).finally(() => this.sweeping.delete(tracked));
    this.sweeping.add(tracked);
    return run;
  }

  get busy(): boolean {
    return this.inFlight.size > 0 || this.sweeping.size > 0;
  }

  async idle(): Promise<void> {
    while (this.inFlight.size || this.sweeping.size) await Promise.all([...this.inFlight.values(), ...this.sweeping]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.idle();
  }

  private delay(): Promise<void> {
    const ms = this.opts.debounceMs ?? 0;
    return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
  }

  private async sync(key: string): Promise<void> {
    const { db } = this.opts;
    const at = key.indexOf(":");
    const kind = this.opts.kinds.find((k) => k.kind === key.slice(0, at));
    if (at < 0 || !kind) throw new Error(`no card kind renders ${key}`);
    if (!(await leaseCard(db, key, 120))) return; // another syncer holds it and will show this change
    try {
      for (;;) {
        const card = await getCard(db, key);
        if (!card) return;
        if (card.syncedVersion >= card.version) {
          if (await releaseCard(db, key)) return;
          continue;
        }
        const rendered = await kind.render(db, key.slice(at + 1));
        if (rendered === null) {
          // What it showed is gone: nothing to write.
          await recordCardSynced(db, key, { version: card.version, commentId: null });
          continue;
        }
        const marker = cardMarker(key);
        const gh = await this.opts.github(card.installationId, card.owner, card.repo);
        // An issue by number, a Discussion by node id: github/threads.ts writes either.
        let comment: CommentRef | null = card.commentId === null ? null : { id: card.commentId, nodeId: card.commentNodeId };
        const body = `${marker}\n${rendered}`;
        if (comment === null) {
          const existing = (await listThreadComments(gh, card)).find((c) => isOwnCard(c, this.opts.bot, marker));
          if (existing) {
            comment = { id: existing.id, nodeId: existing.nodeId };
            if (existing.body !== body) await updateThreadComment(gh, card, comment, body);
          } else {
            comment = await createThreadComment(gh, card, body);
          }
        } else {
          await updateThreadComment(gh, card, comment, body);
        }
        await recordCardSynced(db, key, { version: card.version, commentId: comment.id, commentNodeId: comment.nodeId });
      }
    } catch (err) {
      await abandonCard(db, key).catch(() => undefined);
      throw err;
    }
  }
}
