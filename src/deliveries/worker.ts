import { Drainer } from "../core/drainer.js";
import { completeDelivery, failDelivery, pendingDeliveries, type Delivery } from "../store/inbox.js";
import { onIssueComment } from "./comment.js";
import { onIssueClosed, onIssueLabel, onIssueReopened } from "./issues.js";
import { onPullRequestClosed } from "./pulls.js";
import type { Apply, Deps } from "./types.js";

/** Routes a stored delivery to what handles it: reads GitHub, returns the effects to record. */
export async function prepare(d: Delivery, deps: Deps): Promise<Apply | null> {
  switch (d.event) {
    case "issue_comment":
      return onIssueComment(d.id, d.payload, deps);
    case "issues":
      if (d.action === "closed") return onIssueClosed(d.id, d.payload, deps);
      if (d.action === "reopened") return onIssueReopened(d.id, d.payload);
      if (d.action === "labeled" || d.action === "unlabeled") return onIssueLabel(d.id, d.payload, deps);
      return null;
    case "pull_request":
      return d.action === "closed" ? onPullRequestClosed(d.id, d.payload, deps) : null;
    default:
      return null;
  }
}

class AlreadyProcessed extends Error {}

export interface InboxWorkerOptions {
  /** Called after a delivery's effects commit, with the bounties whose card changed. */
  onCommitted(bountyIds: bigint[]): void;
  maxAttempts?: number;
}

/**
 * Processes the inbox in arrival order, one delivery at a time per process. Each delivery's
 * effects and its "processed" mark commit together, so after a crash nothing is lost and
 * nothing is done twice; several processes may share the inbox.
 */
export class InboxWorker extends Drainer {
  constructor(
    private readonly deps: Deps,
    private readonly opts: InboxWorkerOptions,
  ) {
    super((err) => deps.log.error({ err }, "inbox drain failed"));
  }

  protected async drain(): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      let batch: Delivery[];
      try {
        batch = await pendingDeliveries(this.deps.db, 50);
      } catch (err) {
        this.deps.log.error({ err }, "cannot read the webhook inbox");
        return;
      }
      if (batch.length === 0) return;
      for (const d of batch) {
        if (this.stopped) return;
        await this.processOne(d);
      }
    }
  }

  async processOne(d: Delivery): Promise<void> {
    const log = this.deps.log.child({ delivery: d.id, event: d.event, action: d.action });
    try {
      const apply = await prepare(d, this.deps);
      const result = await this.deps.db.transaction(async (tx) => {
        const r = apply ? await apply(tx) : { bountyIds: [] };
        if (!(await completeDelivery(tx, d.id, apply ? "done" : "ignored"))) throw new AlreadyProcessed();
        return r;
      });
      if (apply) this.opts.onCommitted(result.bountyIds);
    } catch (err) {
      if (err instanceof AlreadyProcessed) return;
      const outcome = await failDelivery(this.deps.db, d.id, String((err as Error)?.message ?? err), this.opts.maxAttempts ?? 8).catch(
        () => "retry" as const,
      );
      if (outcome === "parked") log.error({ err }, `webhook parked after its retries: see bounty-bot deliveries list --failed, then deliveries retry ${d.id}`);
      else log.warn({ err, outcome }, "processing a webhook failed");
    }
  }
}
