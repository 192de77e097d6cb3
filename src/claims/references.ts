import { REMOVED, proseOnly } from "./markdown.js";

export interface RepoRef {
  owner: string;
  repo: string;
}

/** An issue or pull request: owner/repo#number. */
export interface IssueRef extends RepoRef {
  number: number;
}

/** GitHub owner (user or org) login characters; length 1–39. */
export const OWNER_RE_SRC = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})";
/** GitHub repository name characters; length 1–100. */
export const REPO_RE_SRC = "[A-Za-z0-9._-]{1,100}";

/**
 * One reference to an issue or PR, with capture groups:
 * 1 owner, 2 repo, 3 number — for owner/repo#N;
 * 4 number — for #N;
 * 5 owner, 6 repo, 7 "issues"|"pull", 8 number — for a github.com URL.
 */
export const REF_RE_SRC =
  `(?:(${OWNER_RE_SRC})/(${REPO_RE_SRC})#(\\d+)` +
  `|#(\\d+)` +
  `|https?://(?:www\\.)?github\\.com/(${OWNER_RE_SRC})/(${REPO_RE_SRC})/(issues|pull)/(\\d+))` +
  `(?![\\w])`;

/** Decodes a REF_RE_SRC match starting at group `g` (1 when the ref is the first group). */
export function refFromMatch(
  m: RegExpExecArray,
  g: number,
  here: RepoRef,
): (IssueRef & { urlKind?: "issues" | "pull" }) | null {
  let ref: (IssueRef & { urlKind?: "issues" | "pull" }) | null = null;
  if (m[g] !== undefined) ref = { owner: m[g]!, repo: m[g + 1]!, number: Number(m[g + 2]) };
  else if (m[g + 3] !== undefined) ref = { owner: here.owner, repo: here.repo, number: Number(m[g + 3]) };
  else if (m[g + 4] !== undefined) {
    ref = {
      owner: m[g + 4]!,
      repo: m[g + 5]!,
      number: Number(m[g + 7]),
      urlKind: m[g + 6]!.toLowerCase() as "issues" | "pull",
    };
  }
  if (ref === null || !Number.isSafeInteger(ref.number) || ref.number <= 0) return null;
  // "." and ".." are not repository names (and ../ must not escape a URL path).
  if (ref.repo === "." || ref.repo === "..") return null;
  return ref;
}

const CLOSING_RE = new RegExp(
  `(?<![\\w])(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)(?::[ \\t]*|[ \\t]+)${REF_RE_SRC}`,
  "gi",
);

/**
 * The issues a PR body closes, in order of first mention, deduplicated
 * (owner and repo compared case-insensitively, as GitHub does).
 *
 * Recognised like GitHub: a closing keyword (close, closes, closed, fix, fixes,
 * fixed, resolve, resolves, resolved; any case) then an optional colon, then
 * `#N`, `owner/repo#N` or `https://github.com/owner/repo/issues/N`. Each
 * reference needs its own keyword: "Fixes #1, #2" closes #1 only, as on
 * GitHub ("Fixes #1, fixes #2" closes both). Text in fenced code, inline code
 * and HTML comments is ignored — the Kubernetes PR template's
 * `<!-- Usage: Fixes #<issue number> -->` closes nothing. A URL to /pull/N is
 * not an issue and is skipped.
 */
export function closingReferences(body: string, here: RepoRef): IssueRef[] {
  const text = proseOnly(body, REMOVED);
  const out: IssueRef[] = [];
  const seen = new Set<string>();
  for (const m of text.matchAll(CLOSING_RE)) {
    const ref = refFromMatch(m as RegExpExecArray, 1, here);
    if (ref === null || ref.urlKind === "pull") continue;
    const key = refKey(ref);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ owner: ref.owner, repo: ref.repo, number: ref.number });
  }
  return out;
}

/** Case-insensitive identity of an issue reference. */
export function refKey(r: IssueRef): string {
  return `${r.owner.toLowerCase()}/${r.repo.toLowerCase()}#${r.number}`;
}
