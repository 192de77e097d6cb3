import type { Logger } from "pino";
import { closingReferences, refKey } from "../claims/references.js";
import type { Closer } from "../claims/closer.js";
import type { ClosingIssue, RepoGitHub } from "./client.js";

/** The merged pull request, as its webhook describes it. */
export interface MergedPull {
  number: number;
  body: string | null;
  /** The branch it was merged into. */
  baseRef: string;
}

/** The repository the pull request was merged in. */
export interface PullRepo {
  owner: string;
  repo: string;
  repoId: number;
  defaultBranch: string | null;
}

/**
 * GraphQL answered with errors rather than data (e.g. a GitHub stand-in that does not implement
 * the query). A rate limit is not this: that is retried.
 */
function answeredWithErrors(err: unknown): boolean {
  if (!(err instanceof Error) || err.name !== "GraphqlResponseError") return false;
  const errors = (err as Error & { errors?: Array<{ type?: string }> }).errors ?? [];
  return !errors.some((e) => e.type === "RATE_LIMITED");
}

/**
 * The issues a merged PR closes. When GitHub's GraphQL answers, its `closingIssuesReferences`
 * (keywords and manual links, as GitHub honours them) is the whole list. Only when GraphQL
 * answers with errors are the closing keywords in the description's visible text read instead
 * (see proseOnly), and only for a PR into the default branch, as GitHub does. References to
 * repositories of another account are dropped: an installation belongs to one account, and a PR
 * elsewhere must not claim this account's bounties.
 */
export async function issuesClosedBy(
  gh: RepoGitHub,
  pr: MergedPull,
  here: PullRepo,
  repoOf: (owner: string, repo: string) => Promise<RepoGitHub>,
  log: Logger,
): Promise<ClosingIssue[]> {
  let linked: ClosingIssue[] | null = null;
  try {
    linked = await gh.closingIssues(pr.number);
  } catch (err) {
    if (!answeredWithErrors(err)) throw err;
    log.warn({ err, pr: pr.number }, "GitHub did not list the issues this PR closes; using the keywords in its description");
  }
  const keywords =
    linked === null && (here.defaultBranch === null || pr.baseRef === here.defaultBranch)
      ? closingReferences(pr.body ?? "", here)
      : [];

  const out: ClosingIssue[] = [];
  const seen = new Set<string>();
  const sameAccount = (owner: string) => owner.toLowerCase() === here.owner.toLowerCase();
  for (const ref of linked ?? []) {
    const key = refKey(ref);
    if (seen.has(key)) continue;
    seen.add(key);
    if (sameAccount(ref.owner)) out.push(ref);
    else log.info({ ref: key, pr: pr.number }, "ignoring a closing reference to another account's repository");
  }
  for (const ref of keywords) {
    const key = refKey(ref);
    if (seen.has(key)) continue;
    seen.add(key);
    if (!sameAccount(ref.owner)) {
      log.info({ ref: key, pr: pr.number }, "ignoring a closing reference to another account's repository");
      continue;
    }
    const sameRepo = ref.repo.toLowerCase() === here.repo.toLowerCase();
    const repoId = sameRepo ? here.repoId : await (await repoOf(ref.owner, ref.repo)).repositoryId();
    if (repoId === null) {
      log.info({ ref: key, pr: pr.number }, "ignoring a closing reference to a repository the app cannot see");
      continue;
    }
    out.push({ owner: sameRepo ? here.owner : ref.owner, repo: sameRepo ? here.repo : ref.repo, repoId, number: ref.number });
  }
  return out;
}

/**
 * What GitHub says closed an issue last. A GraphQL error answer (or an issue GitHub does not
 * know) is `failed`, which awards nothing; a rate limit or an HTTP error is thrown, so the
 * delivery is retried.
 */
export async function closerOf(gh: RepoGitHub, issueNumber: number, log: Logger): Promise<Closer> {
  try {
    const closer = await gh.issueCloser(issueNumber);
    if (closer === null) {
      log.warn({ issue: issueNumber }, "GitHub does not know this issue; cannot tell which pull request closed it");
      return { kind: "failed" };
    }
    return closer.pull ? { kind: "pull", repoId: closer.pull.repoId, number: closer.pull.number } : { kind: "none" };
  } catch (err) {
    if (!answeredWithErrors(err)) throw err;
    log.warn({ err, issue: issueNumber }, "GitHub did not say what closed this issue");
    return { kind: "failed" };
  }
}
