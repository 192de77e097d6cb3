import { listAnd } from "../core/words.js";

/**
 * Which merged pull request's claim wins an issue's bounty. Pure: the caller reads the claims and
 * asks GitHub what closed the issue.
 */

/** What GitHub says closed the issue last. */
export type Closer =
  /** A pull request (its repository's id and number) is the latest ClosedEvent's closer. */
  | { kind: "pull"; repoId: number; number: number }
  /** A person or a commit closed it; GitHub names no pull request. */
  | { kind: "none" }
  /** GitHub could not say (the query failed or does not know the issue). */
  | { kind: "failed" };

/** The parts of a claim the choice reads. */
export interface ClaimOfPull {
  prRepoId: number;
  prOwner: string;
  prRepo: string;
  prNumber: number;
}

export type WaitReason =
  /** Two or more claims, and GitHub names none of them as the closer. */
  | "ambiguous"
  /** GitHub names a pull request as the closer that has no claim (yet: its webhook may follow). */
  | "closer-unclaimed"
  /** GitHub could not say what closed the issue. */
  | "closer-unknown";

export type ClaimChoice<C> = { kind: "award"; claim: C } | { kind: "none" } | { kind: "wait"; why: WaitReason; claims: C[] };

/**
 * The claim to award, from the claims counted for the issue (pending, and merged since the issue
 * was last opened):
 * - the claim of the pull request GitHub names as the closer wins;
 * - GitHub names a pull request that has no claim: wait (its claim may arrive with its own
 *   webhook; the other claims did not close the issue);
 * - no pull request closed it (a person or a commit did): exactly one claim wins, several wait;
 * - GitHub could not say: wait.
 * Waiting awards nothing: a funder can `/award`, or the closer's claim settles it.
 */
export function chooseClaim<C extends ClaimOfPull>(claims: readonly C[], closer: Closer): ClaimChoice<C> {
  if (claims.length === 0) return { kind: "none" };
  if (closer.kind === "failed") return { kind: "wait", why: "closer-unknown", claims: [...claims] };
  if (closer.kind === "pull") {
    const won = claims.find((c) => c.prRepoId === closer.repoId && c.prNumber === closer.number);
    return won ? { kind: "award", claim: won } : { kind: "wait", why: "closer-unclaimed", claims: [...claims] };
  }
  if (claims.length === 1) return { kind: "award", claim: claims[0]! };
  return { kind: "wait", why: "ambiguous", claims: [...claims] };
}

/** How an issue's comment names a PR: `#12` in the same repository, `owner/repo#12` elsewhere. */
export function pullRef(issueRepoId: number, pr: { repoId: number; owner: string; repo: string; number: number }): string {
  return issueRepoId === pr.repoId ? `#${pr.number}` : `${pr.owner}/${pr.repo}#${pr.number}`;
}

/**
 * Why a bounty waits, in words for its card's status line and the reply: who claims it and what
 * GitHub said. See waitStatus and the reply for what to do about it.
 */
export function waitText(issueRepoId: number, why: WaitReason, claims: readonly ClaimOfPull[], closer: Closer): string {
  const refs = listAnd(
    claims.map((c) => pullRef(issueRepoId, { repoId: c.prRepoId, owner: c.prOwner, repo: c.prRepo, number: c.prNumber })),
  );
  const claimsIt = claims.length === 1 ? `${refs} claims it` : `${refs} claim it`;
  if (why === "ambiguous") return `${claimsIt}, and GitHub names none of them as what closed the issue`;
  if (why === "closer-unclaimed" && closer.kind === "pull") {
    const by = closer.repoId === issueRepoId ? `#${closer.number}` : "a pull request in another repository";
    return `GitHub says ${by} closed the issue, which claims no bounty here, while ${claimsIt}`;
  }
  return `GitHub did not say what closed the issue, and ${claimsIt}`;
}

const WAIT_PREFIX = "no award yet: ";

/** The card's status line while a bounty waits for a funder to choose. */
export const waitStatus = (text: string): string => `${WAIT_PREFIX}${text}; a funder can award it with \`/award @login\``;

/** Whether a status line is waitStatus's (it is about one close of the issue, and goes with a reopening). */
export const isWaitStatus = (reason: string | null): boolean => reason?.startsWith(WAIT_PREFIX) ?? false;
