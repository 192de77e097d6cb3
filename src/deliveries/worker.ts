import { Drainer } from "../core/drainer.js";
import { featureEvents } from "../features/index.js";
import type { Metrics } from "../metrics.js";
import { completeDelivery, failDelivery, pendingDeliveries, type Delivery } from "../store/inbox.js";
import { onComment } from "./comment.js";
import { onIssueClosed, onIssueLabel, onIssueReopened } from "./issues.js";
import { onPullRequestClosed } from "./pulls.js";
import type { Apply, Deps } from "./types.js";

/**
 * Routes a stored delivery to everything that handles it (bounties, then each feature that acts on
 * the event): each reads GitHub, and their effects are recorded together in one transaction.
 */
export async function prepare(d: Delivery, deps: Deps): Promise<Apply | null> {
  const applies: Apply[] = [];
  const core = await prepareCore(d, deps);
  if (core) applies.push(core);
  for (const f of featureEvents(d.event, d.action)) {
    const apply = await f.handle({ id: d.id, event: d.event, action: d.action, payload: d.payload }, deps);
    if (apply) applies.push(apply);
  }
  if (applies.length <= 1) return applies[0] ?? null;
  return async (tx) => {
    const bountyIds: bigint[] = [];
    const commands: Array<{ name: string; outcome: string }> = [];
    for (const apply of applies) {
      const r = await apply(tx);
      bountyIds.push(...r.bountyIds);
      commands.push(...(r.commands ?? []));
    }
    return { bountyIds, commands };
  };
}

async function prepareCore(d: Delivery, deps: Deps): Promise<Apply | null> {
  switch (d.event) {
    case "issue_comment":
    case "discussion_comment":
      return onComment(d.id, d.event, d.payload, deps);
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
  /** Deliveries of different issues processed at once (default 4): one issue's GitHub outage does not hold the others. */
  concurrency?: number;
  metrics?: Metrics;
}

/** The issue or pull request a delivery is about (the SQL of pendingDeliveries keeps the same lanes in order); its own id otherwise. */
export function laneOf(d: Delivery): string {
  const p = d.payload as { repository?: { id?: number }; issue?: { number?: number }; pull_request?: { number?: number }; discussion?: { number?: number } } | null;
  // Issues, pull requests and Discussions share one number sequence in a repository.
  const n = p?.issue?.number ?? p?.pull_request?.number ?? p?.discussion?.number;
  return p?.repository?.id !== undefined && n !== undefined ? `${p.repository.id}#${n}` : `delivery:${d.id}`;
}

/**
 * Processes the inbox: deliveries of one issue in arrival order, up to `concurrency` issues at
 * once, so a delivery whose GitHub calls fail or hang (each bounded by the Octokit timeout) backs
 * off without holding other issues. Each delivery's effects and its "processed" mark commit
 * together, one commit at a time in this process, so after a crash nothing is lost and nothing
 * is done twice; several processes may share the inbox. Once stopped, a delivery whose GitHub
 * reads were cut short is abandoned as it was: unprocessed, its attempts untouched.
 */
export class InboxWorker extends Drainer {
  constructor(
    private readonly deps: Deps,
    private readonly opts: InboxWorkerOptions,
  ) {
    super((err) => deps.log.error({ err }, "inbox drain failed"));
  }

  /** Commits go one at a time: lanes overlap in their GitHub reads only. */
  #commits: Promise<unknown> = Promise.resolve();
  /** Wakes a drain that waits on its running lanes: a new delivery may be for another issue. */
  #wake: () => void = () => undefined;

  override kick(): void {
    super.kick();
    this.#wake();
  }

  protected async drain(): Promise<void> {
    const running = new Map<string, Promise<void>>();
    const limit = Math.max(1, this.opts.concurrency ?? 4);
    for (;;) {
      let batch: Delivery[] = [];
      if (!this.stopped && running.size < limit) {
        try {
          batch = await pendingDeliveries(this.deps.db, 50);
        } catch (err) {
          this.deps.log.error({ err }, "cannot read the webhook inbox");
        }
      }
      for (const d of batch) {
        if (this.stopped || running.size >= limit) break;
        const lane = laneOf(d);
        // The lane's head is still being processed (the query returned it again): wait for it.
        if (running.has(lane)) continue;
        running.set(lane, this.processOne(d).finally(() => running.delete(lane)));
      }
      if (running.size === 0) return;
      await Promise.race([...running.values(), new Promise<void>((r) => (this.#wake = r))]);
      this.#wake = () => undefined;
    }
  }

  async processOne(d: Delivery): Promise<void> {
    const started = Date.now();
    const log = this.deps.log.child({ delivery: d.id, event: d.event, action: d.action });
    const done = (outcome: string, err?: unknown) => {
      const line = { event: d.event, action: d.action, delivery: d.id, outcome, ms: Date.now() - started, ...(err ? { err } : {}) };
      if (outcome === "parked") {
        this.deps.log.error(line, `webhook parked after its retries: see bounty-bot deliveries list --failed, then deliveries retry ${d.id}`);
      } else if (outcome === "retry") this.deps.log.warn(line, "processing a webhook failed; it is retried later");
      else this.deps.log.info(line, outcome === "abandoned" ? "delivery abandoned at shutdown: left in the inbox for the next start" : "delivery processed");
      if (outcome === "done" || outcome === "ignored") this.opts.metrics?.deliveriesProcessed.inc({ event: d.event, outcome });
      else if (outcome === "retry" || outcome === "parked") this.opts.metrics?.deliveriesFailed.inc({ event: d.event, outcome });
    };
    try {
      const apply = await prepare(d, this.deps);
      const commit = this.#commits.then(() =>
        this.deps.db.transaction(async (tx) => {
          const r = apply ? await apply(tx) : { bountyIds: [] };
          if (!(await completeDelivery(tx, d.id, apply ? "done" : "ignored"))) throw new AlreadyProcessed();
          return r;
        }),
      );
      this.#commits = commit.catch(() => undefined);
      const result = await commit;
      if (apply) this.opts.onCommitted(result.bountyIds);
      for (const c of result.commands ?? []) this.opts.metrics?.commands.inc({ command: c.name, outcome: c.outcome });
      done(apply ? "done" : "ignored");
    } catch (err) {
      if (err instanceof AlreadyProcessed) return;
      // Cut short by the shutdown (its GitHub requests aborted): nothing was written, nothing is counted.
      if (this.stopped) return done("abandoned");
      const outcome = await failDelivery(this.deps.db, d.id, String((err as Error)?.message ?? err), this.opts.maxAttempts ?? 8).catch(
        () => "retry" as const,
      );
      done(outcome, err);
    }
  }
}
