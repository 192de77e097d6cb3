import { reportLines } from "../../src/cli/payouts.js";
import type { AccountSpec } from "../../src/ledger/rules.js";
import type { RunReport } from "../../src/payouts/run.js";
import { accountBalance } from "../../src/store/ledger.js";
import { commentInputFrom, issueCommentCreated, issueInputFrom, issuesClosed } from "../sandbox/payloads.js";
import { deliver } from "../sandbox/webhooks.js";
import { botWrites, quoted } from "./github.js";
import type { DemoWorld } from "./world.js";

export const REPO = "example/widgets";
export const INSTALLATION = 1;

/** A ledger account as the transcript shows it: posted, and what pending transfers hold out and in. */
export interface Balance {
  posted: bigint;
  out: bigint;
  in: bigint;
}

/** A step that did not happen: the demo stops and says which and why. */
export class DemoFailure extends Error {}

/** The story's moves: people act on the stand-in, GitHub delivers webhooks, the transcript shows what the app did. */
export class Stage {
  /** How much of the stand-in's request log the transcript has shown. */
  #mark = 0;
  /** The issues (and pull requests) the story has opened, in order. */
  readonly issues: number[] = [];
  constructor(
    readonly w: DemoWorld,
    readonly say: (...lines: string[]) => void,
    readonly timeout: number,
  ) {}

  /** Prints what the bot wrote to GitHub since the last call. */
  showBotWrites(): void {
    this.say("  GitHub received from bounty-bot:", ...botWrites(this.w.github, REPO, this.issues, this.#mark), "");
    this.#mark = this.w.github.requests.length;
  }

  /** A person comments on an issue; GitHub delivers the webhook; the app answers. */
  async comment(who: { id: number; login: string }, issue: number, body: string): Promise<void> {
    const c = this.w.github.addComment(REPO, issue, { author: who.login, body });
    this.say(`  @${who.login} comments on issue #${issue}:`, ...quoted(body, "    > "));
    await this.hook(
      "issue_comment",
      issueCommentCreated({ repo: REPO, installationId: INSTALLATION, issue: issueInputFrom(this.w.github.issue(REPO, issue)), comment: commentInputFrom(c) }),
      "issue_comment.created",
    );
    await this.settled(`the app handling "${body.split("\n")[0]}"`);
    this.showBotWrites();
  }

  /** A person closes an issue as completed on the stand-in, through its REST API; GitHub tells the app. */
  async closeIssue(login: string, number: number): Promise<void> {
    this.say(`  @${login} closes issue #${number} as completed.`);
    const res = await fetch(`${this.w.github.apiUrl}/repos/${REPO}/issues/${number}`, {
      method: "PATCH",
      headers: { authorization: `token ${this.w.github.userToken(login)}`, "content-type": "application/json" },
      body: JSON.stringify({ state: "closed", state_reason: "completed" }),
      signal: AbortSignal.timeout(this.timeout),
    });
    if (!res.ok) throw new DemoFailure(`the stand-in refused to close issue #${number}: ${res.status}`);
    const issue = issueInputFrom(this.w.github.issue(REPO, number));
    await this.hook("issues", issuesClosed({ repo: REPO, installationId: INSTALLATION, issue, state_reason: "completed", sender: login }), "issues.closed (completed)");
  }

  /** Delivers a webhook signed as GitHub signs it; the app must accept it. */
  async hook(event: string, payload: object, label: string): Promise<void> {
    const res = await within(this.timeout, `delivering ${label}`, deliver(this.w.hookUrl, this.w.secret, event, payload));
    if (res.status !== 200) throw new DemoFailure(`the app answered ${res.status} to the ${label} webhook: ${res.body}`);
    this.say(`  webhook ${label} → the app answered ${res.status}`);
  }

  settled(what: string): Promise<void> {
    return within(this.timeout, what, this.w.bot.settled());
  }

  /** One payout run, as the scheduler would start it (deposits are watched first), and its report. */
  async payoutRun(opts: { quiet?: boolean } = {}): Promise<RunReport> {
    const report = await within(this.timeout, "the payout run", this.w.bot.payouts!.runNow());
    if (!opts.quiet) this.say("  bot.payouts.runNow():", ...reportLines(report).map((l) => `    ${l}`), "");
    return report;
  }

  /** An account's posted balance (credits less debits) and what pending transfers hold out of it and into it. */
  async balance(account: AccountSpec): Promise<Balance> {
    const b = await accountBalance(this.w.db, account);
    return { posted: b.creditsPosted - b.debitsPosted, out: b.debitsPending, in: b.creditsPending };
  }

  /** The accounts' balances, one line each, by their ledger keys. */
  async showLedger(accounts: ReadonlyArray<{ who: string; account: AccountSpec }>): Promise<Map<string, Balance>> {
    const found = new Map<string, Balance>();
    for (const a of accounts) found.set(a.account.key, await this.balance(a.account));
    const width = Math.max(...accounts.map((a) => a.account.key.length));
    const lines = accounts.map(({ who, account }) => {
      const b = found.get(account.key)!;
      const pending = [b.out ? `${b.out} of it held by a pending transfer out` : "", b.in ? `${b.in} pending in` : ""].filter(Boolean);
      return `    ${account.key.padEnd(width)}  ${String(b.posted).padStart(7)} sats${pending.length ? ` (${pending.join(", ")})` : ""}  ${who}`;
    });
    this.say("  the ledger (src/store/ledger.ts accountBalance):", ...lines, "");
    return found;
  }
}

/** Rejects with a DemoFailure naming the step if it takes longer than `ms`. */
export async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new DemoFailure(`${what} did not finish within ${ms / 1000} s`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
