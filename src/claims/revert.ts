import { REMOVED, proseOnly } from "./markdown.js";
import { type IssueRef, type RepoRef, REF_RE_SRC, refFromMatch } from "./references.js";

/**
 * What a reverting PR reverts.
 * - `pr`: the reverted PR is named (owner/repo#number).
 * - `unknown`: the PR is a revert (its title says so) but names no PR; the
 *   caller has to find the reverted PR some other way (e.g. by title or by the
 *   reverted commits) or ask a maintainer.
 */
export type RevertTarget =
  | ({ kind: "pr" } & IssueRef)
  | { kind: "unknown"; title: string };

/**
 * A body line "Reverts owner/repo#N" — exactly what GitHub's Revert button
 * writes — or "Reverts #N", "Reverts https://github.com/o/r/pull/N", also
 * "Revert #N" and "This reverts #N"; case-insensitive, at the start of a line.
 * ("This reverts commit <sha>." from git names a commit, not a PR, and does not match.)
 */
const BODY_RE = new RegExp(`^[ \\t]*(?:this[ \\t]+)?reverts?:?[ \\t]+${REF_RE_SRC}`, "gim");

/** `Revert "Add foo"` (GitHub, git), `Revert: …`, or `Revert #N` / `Revert owner/repo#N` / a PR URL. */
const TITLE_QUOTED_RE = /^\s*revert(?:\s*:\s*|\s+)["'“‘]/i;
const TITLE_COLON_RE = /^\s*revert\s*:/i;
const TITLE_REF_RE = new RegExp(`^\\s*revert:?\\s+${REF_RE_SRC}`, "i");

/**
 * Whether a PR reverts another, and which.
 *
 * The body wins: its first "Reverts <ref>" line (outside code and comments)
 * names the PR, whatever the title. Otherwise a title `Revert #N` (or
 * owner/repo#N, or a PR URL) names it. Otherwise a title of GitHub's form
 * `Revert "…"` or `Revert: …` marks a revert of an unknown PR. Anything else
 * is not a revert (null) — "Revert to the old default" is a feature title.
 *
 * A PR that reverts several PRs gives only the first one named.
 * A URL must point at /pull/N or /issues/N (GitHub redirects between them).
 */
export function revertOf(pr: { title: string; body: string | null }, here: RepoRef): RevertTarget | null {
  const body = proseOnly(pr.body ?? "", REMOVED);
  for (const m of body.matchAll(BODY_RE)) {
    const ref = refFromMatch(m as RegExpExecArray, 1, here);
    if (ref) return { kind: "pr", owner: ref.owner, repo: ref.repo, number: ref.number };
  }
  const t = TITLE_REF_RE.exec(pr.title);
  if (t) {
    const ref = refFromMatch(t, 1, here);
    if (ref) return { kind: "pr", owner: ref.owner, repo: ref.repo, number: ref.number };
  }
  if (TITLE_QUOTED_RE.test(pr.title) || TITLE_COLON_RE.test(pr.title)) {
    return { kind: "unknown", title: pr.title };
  }
  return null;
}
