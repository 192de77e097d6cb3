/**
 * Blanks out the parts of a GitHub Markdown body where GitHub does not act on
 * references: fenced code blocks (``` and ~~~), HTML comments, and inline code
 * spans. Each removed character becomes `fill` (default a space) and line
 * breaks are kept, so the result has the same lines and columns as the input.
 * With a non-space fill (REMOVED), a keyword is never glued to a reference
 * across a removed part: "Fixes <!-- x --> #2" does not read as "Fixes #2".
 *
 * This is a line scanner, not a full CommonMark parser. It follows CommonMark
 * where it matters here: a fence is up to 3 spaces of indent then 3+ backticks
 * or tildes and is closed by a fence of the same character at least as long;
 * an unclosed fence or comment runs to the end of the body. Indented (4-space)
 * code blocks are not recognised.
 */
/** A fill that is neither whitespace nor a word character. */
export const REMOVED = "\u0000";

export function proseOnly(body: string, fill = " "): string {
  if (fill.length !== 1) throw new RangeError("proseOnly: fill must be one character");
  const blank = (x: string) => fill.repeat(x.length);
  const lines = body.replace(/\r\n?/g, "\n").split("\n");
  const out: string[] = [];
  let fence: { ch: string; len: number } | null = null;
  let inComment = false;

  for (const line of lines) {
    if (fence) {
      const close = /^ {0,3}(`{3,}|~{3,})[ \t]*$/.exec(line);
      if (close && close[1]![0] === fence.ch && close[1]!.length >= fence.len) fence = null;
      out.push(blank(line));
      continue;
    }
    if (!inComment) {
      const open = /^ {0,3}(`{3,}|~{3,})(.*)$/.exec(line);
      // A backtick fence's info string may not contain backticks.
      if (open && !(open[1]![0] === "`" && open[2]!.includes("`"))) {
        fence = { ch: open[1]![0]!, len: open[1]!.length };
        out.push(blank(line));
        continue;
      }
    }
    const r = scanLine(line, inComment, blank);
    inComment = r.inComment;
    out.push(r.text);
  }
  return out.join("\n");
}

/** Blanks comments and inline code spans within one line. */
function scanLine(
  line: string,
  inComment: boolean,
  blank: (s: string) => string,
): { text: string; inComment: boolean } {
  let text = "";
  let i = 0;
  while (i < line.length) {
    if (inComment) {
      const end = line.indexOf("-->", i);
      if (end < 0) return { text: text + blank(line.slice(i)), inComment: true };
      text += blank(line.slice(i, end + 3));
      i = end + 3;
      inComment = false;
      continue;
    }
    const ch = line[i]!;
    if (ch === "<" && line.startsWith("<!--", i)) {
      inComment = true;
      text += blank("<!--");
      i += 4;
      continue;
    }
    if (ch === "`") {
      let n = 0;
      while (line[i + n] === "`") n++;
      const ticks = "`".repeat(n);
      // The span closes at the next run of exactly n backticks.
      let j = i + n;
      let closeAt = -1;
      while (j < line.length) {
        const k = line.indexOf(ticks, j);
        if (k < 0) break;
        let m = 0;
        while (line[k + m] === "`") m++;
        if (m === n) {
          closeAt = k;
          break;
        }
        j = k + m;
      }
      if (closeAt < 0) {
        text += ticks; // a lone backtick run is literal text
        i += n;
      } else {
        text += blank(line.slice(i, closeAt + n));
        i = closeAt + n;
      }
      continue;
    }
    text += ch;
    i++;
  }
  return { text, inComment };
}
