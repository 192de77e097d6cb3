import type { Logger } from "pino";
import { Drainer } from "../core/drainer.js";
import type { Db } from "../store/db.js";
import { claimOutbox, markFailed, markSent, pendingOutbox } from "../store/outbox.js";
import type { RepoGitHub } from "./client.js";
import { createThreadComment, reactInThread } from "./threads.js";

/** Sends queued replies and reactions (in issues and Discussions: github/threads.ts), each once; failures are retried with backoff. */
export class OutboxSender extends Drainer {
  constructor(
    private readonly opts: {
      db: Db;
      github(installationId: number, owner: string, repo: string): Promise<RepoGitHub>;
      log: Logger;
      maxAttempts?: number;
    },
  ) {
    super((err) => opts.log.error({ err }, "outbox drain failed"));
  }

  protected async drain(): Promise<void> {
    for (;;) {
      const items = await pendingOutbox(this.opts.db, 20);
      if (items.length === 0 || this.stopped) return;
      let sent = 0;
      for (const item of items) {
        if (this.stopped) return;
        if (!(await claimOutbox(this.opts.db, item.id))) continue;
        try {
          const gh = await this.opts.github(item.installationId, item.owner, item.repo);
          if (item.kind === "reply") await createThreadComment(gh, item, item.body);
          else await reactInThread(gh, item, { id: item.commentId!, nodeId: item.commentNodeId }, item.body as "+1");
          await markSent(this.opts.db, item.id);
          sent++;
        } catch (err) {
          this.opts.log.warn({ err, outbox: String(item.id) }, "sending a reply failed; will retry");
          await markFailed(this.opts.db, item.id, String((err as Error)?.message ?? err), this.opts.maxAttempts ?? 8);
        }
      }
      if (sent === 0) return;
    }
  }
}
