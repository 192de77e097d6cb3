import { REMOVED, proseOnly } from "./markdown.js";
import { type IssueRef, type RepoRef, OWNER_RE_SRC, REPO_RE_SRC } from "./references.js";

/**
 * What a reverting PR reverts.
 * - `pr`: the reverted PR is named (owner/repo#number).
 * - `title`: the PR's title is `Revert "<title>"`; the reverted PR is the one with exactly that title.
 */
export type RevertTarget = ({ kind: "pr" } & IssueRef) | { kind: "title"; title: string };

/**
 * A visible description line "Reverts owner/repo#N" — exactly what GitHub's Revert button
 * writes — or "Reverts #N" for this repository; case-insensitive, at the start of a line.
 * Nothing looser ("This reverts …", "Revert: …", URLs): a revert cancels someone's award.
 */
const BODY_RE = new RegExp(`^[ \\t]*reverts[ \\t]+(?:(${OWNER_RE_SRC})/(${REPO_RE_SRC}))?#(\\d+)(?![\\w])`, "gim");

/** `Revert "<title>"`, as GitHub's Revert button and git write it (straight double quotes). */
const TITLE_RE = /^Revert "(.+)"$/;

/**
 * Whether a PR reverts another, and which.
 *
 * The description wins: its first "Reverts owner/repo#N" line in text GitHub renders (not in
 * code, comments, HTML attributes or link definitions) names the PR, whatever the title.
 * Otherwise a title that is exactly `Revert "<title>"` names the PR by its exact title.
 * Anything else is not a revert (null) — "Revert to the old default" is a feature title.
 * Only a PR merged into the default branch may revert: the caller checks that.
 *
 * A PR that reverts several PRs gives only the first one named.
 */
export function revertOf(pr: { title: string; body: string | null }, here: RepoRef): RevertTarget | null {
  const body = proseOnly(pr.body ?? "", REMOVED);
  for (const m of body.matchAll(BODY_RE)) {
    const number = Number(m[3]);
    if (!Number.isSafeInteger(number) || number <= 0) continue;
    const [owner, repo] = m[1] === undefined ? [here.owner, here.repo] : [m[1], m[2]!];
    if (repo === "." || repo === "..") continue;
    return { kind: "pr", owner, repo, number };
  }
  const t = TITLE_RE.exec(pr.title);
  return t ? { kind: "title", title: t[1]! } : null;
}
