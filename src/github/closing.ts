import type { Logger } from "pino";
import { closingReferences, refKey } from "../claims/references.js";
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
 * The issues a merged PR closes: GitHub's `closingIssuesReferences` (keywords and manual links),
 * then closing keywords in the description, which GitHub honours only for PRs into the default
 * branch. References to repositories of another account are dropped: an installation belongs to
 * one account, and a PR elsewhere must not claim this account's bounties.
 */
export async function issuesClosedBy(
  gh: RepoGitHub,
  pr: MergedPull,
  here: PullRepo,
  repoOf: (owner: string, repo: string) => Promise<RepoGitHub>,
  log: Logger,
): Promise<ClosingIssue[]> {
  let linked: ClosingIssue[] = [];
  try {
    linked = await gh.closingIssues(pr.number);
  } catch (err) {
    if (!answeredWithErrors(err)) throw err;
    log.warn({ err, pr: pr.number }, "GitHub did not list the issues this PR closes; using the keywords in its description");
  }
  const keywords =
    here.defaultBranch === null || pr.baseRef === here.defaultBranch ? closingReferences(pr.body ?? "", here) : [];

  const out: ClosingIssue[] = [];
  const seen = new Set<string>();
  const sameAccount = (owner: string) => owner.toLowerCase() === here.owner.toLowerCase();
  for (const ref of linked) {
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
