export interface CoAuthor {
  name: string;
  /** As written; compare with `email.toLowerCase()`. */
  email: string;
  /** From a GitHub noreply address. */
  login?: string;
  /** From a `12345+login@users.noreply.github.com` address. */
  id?: number;
}

const TRAILER_RE = /^([A-Za-z0-9][A-Za-z0-9-]*)[ \t]*:[ \t]*(.*)$/;
const CONTINUATION_RE = /^[ \t]+\S/;
/** Lines git itself writes into a trailer block; with one present, git accepts a block that is 25% trailers. */
const GIT_GENERATED = [/^signed-off-by:/i, /^\(cherry picked from commit [0-9a-f]+\)$/i];

const NOREPLY_ID_RE = /^(\d+)\+([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))@users\.noreply\.github\.com$/i;
const NOREPLY_RE = /^([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))@users\.noreply\.github\.com$/i;
const VALUE_RE = /^([^<>]*?)\s*<([^<>\s]+@[^<>\s]+)>\s*$/;

/**
 * The trailer lines of one commit message: its last paragraph, if that
 * paragraph is not the subject and is a trailer block by git's rule (all
 * lines are `Key: value` trailers or indented continuations; or at least 25%
 * are and one is a git-generated line such as Signed-off-by).
 * Continuations are folded into their trailer.
 */
export function trailerBlock(message: string): Array<{ key: string; value: string }> {
  const lines = message.replace(/\r\n?/g, "\n").split("\n");
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === "") lines.pop();
  let start = lines.length;
  while (start > 0 && lines[start - 1]!.trim() !== "") start--;
  // The subject (the first paragraph) is never a trailer block.
  const firstNonBlank = lines.findIndex((l) => l.trim() !== "");
  if (start <= firstNonBlank || start === lines.length) return [];
  const block = lines.slice(start);

  const trailers: Array<{ key: string; value: string }> = [];
  let trailerLines = 0;
  let otherLines = 0;
  let gitGenerated = false;
  let lastWasTrailer = false;
  for (const line of block) {
    if (lastWasTrailer && CONTINUATION_RE.test(line)) {
      const t = trailers[trailers.length - 1]!;
      t.value = `${t.value} ${line.trim()}`.trim();
      continue;
    }
    const m = TRAILER_RE.exec(line);
    if (m) {
      trailerLines++;
      trailers.push({ key: m[1]!, value: m[2]!.trim() });
      if (GIT_GENERATED.some((re) => re.test(line))) gitGenerated = true;
      lastWasTrailer = true;
    } else {
      if (GIT_GENERATED.some((re) => re.test(line.trim()))) gitGenerated = true;
      otherLines++;
      lastWasTrailer = false;
    }
  }
  if (trailerLines === 0) return [];
  if (otherLines > 0 && !(gitGenerated && trailerLines * 3 >= otherLines)) return [];
  return trailers;
}

/**
 * Co-authors named by `Co-authored-by: Name <email>` trailers (key in any
 * case) in the trailer blocks of the given commit messages, in order of first
 * appearance, deduplicated by email (case-insensitively).
 *
 * GitHub noreply addresses give the account: `12345+login@users.noreply.github.com`
 * gives id 12345 and the login, `login@users.noreply.github.com` (older
 * accounts) the login only. A trailer without a `<…@…>` address is skipped.
 * A `Co-authored-by:` line in the body above the trailer block is prose, not
 * a trailer, and is ignored.
 */
export function coAuthors(commitMessages: readonly string[]): CoAuthor[] {
  const out: CoAuthor[] = [];
  const seen = new Set<string>();
  for (const msg of commitMessages) {
    for (const t of trailerBlock(msg)) {
      if (t.key.toLowerCase() !== "co-authored-by") continue;
      const m = VALUE_RE.exec(t.value);
      if (!m) continue;
      const email = m[2]!;
      const key = email.toLowerCase();
      if (seen.has(key)) continue;
      seen.add(key);
      const a: CoAuthor = { name: m[1]!.trim(), email };
      const withId = NOREPLY_ID_RE.exec(email);
      const plain = withId ? null : NOREPLY_RE.exec(email);
      if (withId) {
        const id = Number(withId[1]);
        if (Number.isSafeInteger(id) && id > 0) a.id = id;
        a.login = withId[2]!;
      } else if (plain) {
        a.login = plain[1]!;
      }
      out.push(a);
    }
  }
  return out;
}
