/**
 * Blanks out the parts of a GitHub Markdown body that GitHub does not render as text, so that
 * nothing hidden there can act as a reference: fenced code blocks (``` and ~~~), indented
 * (4-space) code blocks, HTML comments, HTML tags with their attributes (`<a title="Fixes #1">`),
 * link reference definitions (`[x]: https://… "Fixes #1"`), and inline code spans. Each removed
 * character becomes `fill` (default a space) and line breaks are kept, so the result has the
 * same lines and columns as the input. With a non-space fill (REMOVED), a keyword is never glued
 * to a reference across a removed part: "Fixes <!-- x --> #2" does not read as "Fixes #2".
 *
 * This is a line scanner, not a full CommonMark parser. It follows CommonMark where it matters
 * here: a fence is up to 3 spaces of indent then 3+ backticks or tildes and is closed by a fence
 * of the same character at least as long; an unclosed fence or comment runs to the end of the
 * body; an indented code block starts after a blank line (it cannot interrupt a paragraph) and
 * runs over indented and blank lines. Where it errs, it errs towards hiding: a line shaped like a
 * link reference definition is hidden even inside a paragraph, an indented list continuation
 * after a blank line is taken for code, and a `<tag` never closed hides the rest of its paragraph.
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
  let tag: Tag | null = null;

  let inIndented = false;
  // Whether the line before could not be continued by this one as a paragraph.
  let afterBlock = true;
  let afterDefinition = false;

  for (const line of lines) {
    if (fence) {
      const close = /^ {0,3}(`{3,}|~{3,})[ \t]*$/.exec(line);
      if (close && close[1]![0] === fence.ch && close[1]!.length >= fence.len) fence = null;
      out.push(blank(line));
      afterBlock = true;
      continue;
    }
    const isBlank = line.trim() === "";
    // A blank line ends a paragraph, and with it a tag never closed (that was text, not a tag).
    if (isBlank) tag = null;
    if (!inComment && tag === null) {
      if (inIndented && (isBlank || indentWidth(line) >= 4)) {
        out.push(blank(line));
        continue;
      }
      inIndented = false;
      if (afterBlock && !isBlank && indentWidth(line) >= 4) {
        inIndented = true;
        out.push(blank(line));
        continue;
      }
      const open = /^ {0,3}(`{3,}|~{3,})(.*)$/.exec(line);
      // A backtick fence's info string may not contain backticks.
      if (open && !(open[1]![0] === "`" && open[2]!.includes("`"))) {
        fence = { ch: open[1]![0]!, len: open[1]!.length };
        out.push(blank(line));
        continue;
      }
      const definition = LINK_DEFINITION_RE.test(line);
      if (definition || (afterDefinition && LINK_TITLE_RE.test(line))) {
        out.push(blank(line));
        // A definition's title may follow on the next line.
        afterDefinition = definition;
        afterBlock = true;
        continue;
      }
    }
    afterDefinition = false;
    const r = scanLine(line, { inComment, tag }, blank);
    ({ inComment, tag } = r);
    out.push(r.text);
    afterBlock = isBlank;
  }
  return out.join("\n");
}

/** `[label]: destination` with an optional title: never rendered, whatever it says. */
const LINK_DEFINITION_RE = /^ {0,3}\[(?:[^\]\\]|\\.)+\]:/;

/** A link title alone on a line (a definition's title may follow it on the next line). */
const LINK_TITLE_RE = /^[ \t]*(?:"[^"]*"|'[^']*'|\([^)]*\))[ \t]*$/;

/** The start of an opening or closing HTML tag; autolinks (`<https://…>`) are not tags. */
const TAG_START_RE = /^<\/?[A-Za-z][A-Za-z0-9-]*(?=[\s/>]|$)/;

/** Inside an HTML tag (its attributes may span lines), and inside which quote, if any. */
interface Tag {
  quote: string | null;
}

/** Columns of leading whitespace, a tab reaching the next multiple of 4. */
function indentWidth(line: string): number {
  let w = 0;
  for (const ch of line) {
    if (ch === " ") w++;
    else if (ch === "\t") w += 4 - (w % 4);
    else break;
  }
  return w;
}

/** Blanks comments, HTML tags and inline code spans within one line. */
function scanLine(
  line: string,
  state: { inComment: boolean; tag: Tag | null },
  blank: (s: string) => string,
): { text: string; inComment: boolean; tag: Tag | null } {
  let { inComment, tag } = state;
  let text = "";
  let i = 0;
  while (i < line.length) {
    if (tag) {
      let j = i;
      while (j < line.length && tag !== null) {
        const c = line[j++]!;
        if (tag.quote !== null) {
          if (c === tag.quote) tag = { quote: null };
        } else if (c === '"' || c === "'") tag = { quote: c };
        else if (c === ">") tag = null;
      }
      text += blank(line.slice(i, j));
      i = j;
      continue;
    }
    if (inComment) {
      const end = line.indexOf("-->", i);
      if (end < 0) return { text: text + blank(line.slice(i)), inComment: true, tag };
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
    if (ch === "<") {
      const start = TAG_START_RE.exec(line.slice(i));
      if (start) {
        tag = { quote: null };
        text += blank(start[0]);
        i += start[0].length;
        continue;
      }
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
  return { text, inComment, tag };
}
