/**
 * Prow-style slash commands in issue and pull-request comments.
 *
 * A command is a line that starts with `/name` (after at most three spaces,
 * which Markdown renders as plain text), followed by the end of the line or
 * whitespace and then the arguments. Lines that GitHub would not show as
 * plain text are skipped: fenced code blocks (``` or ~~~, also when opened
 * on a list item), indented code (4+ spaces), block quotes and HTML comments.
 *
 * The scanner is a single left-to-right pass over the lines with `indexOf`
 * and anchored, non-nested patterns only, so its running time is linear in
 * the length of the body whatever the body holds.
 */

export interface CommandLine {
  /** Lowercased command name without the slash: "bounty". */
  name: string;
  /** Text after the name on the same line, HTML comments removed, trimmed. */
  args: string;
  /** The original line, trimmed, for quoting in replies. */
  line: string;
}

interface Fence {
  char: "`" | "~";
  length: number;
  /** Column where the fence's container content starts (0 at top level, the list item's content column otherwise). */
  base: number;
}

const NAME_RE = /^\/([A-Za-z][A-Za-z0-9_-]*)(?=\s|$)/;
const LIST_MARKER_RE = /^(?:[-*+]|[0-9]{1,9}[.)])/;

/** Number of leading spaces (tabs are not counted and stop the count). */
function leadingSpaces(line: string): number {
  let i = 0;
  while (i < line.length && line.charCodeAt(i) === 32) i++;
  return i;
}

function isBlank(line: string): boolean {
  return line.trim() === "";
}

/** A run of `ch` starting at `i`: its length. */
function runLength(line: string, i: number, ch: string): number {
  let j = i;
  while (j < line.length && line[j] === ch) j++;
  return j - i;
}

/**
 * If `line` opens a fenced code block, the fence. Recognises a fence after
 * up to 3 spaces, or as the first content of (nested) list items such as
 * "- ```" or "1. ~~~".
 */
function openFence(line: string): Fence | null {
  let i = leadingSpaces(line);
  if (i > 3) return null;
  let base = 0;
  // Any number of list markers, each followed by 1-4 spaces.
  for (;;) {
    const m = LIST_MARKER_RE.exec(line.slice(i, i + 11));
    if (m === null) break;
    const afterMarker = i + m[0].length;
    const spaces = leadingSpaces(line.slice(afterMarker, afterMarker + 6));
    if (spaces === 0 || spaces > 4) break;
    i = afterMarker + spaces;
    base = i;
  }
  const ch = line[i];
  if (ch !== "`" && ch !== "~") return null;
  const length = runLength(line, i, ch);
  if (length < 3) return null;
  // A backtick fence's info string may not contain backticks (that is inline code).
  if (ch === "`" && line.indexOf("`", i + length) !== -1) return null;
  return { char: ch, length, base };
}

/** Whether `line` closes `fence`. */
function closesFence(line: string, fence: Fence): boolean {
  const indent = leadingSpaces(line);
  if (indent < fence.base || indent > fence.base + 3) return false;
  const length = runLength(line, indent, fence.char);
  if (length < fence.length) return false;
  return line.slice(indent + length).trim() === "";
}

/**
 * Remove HTML comments from one line given whether the line starts inside a
 * comment. Returns the visible text and whether the line ends inside one.
 */
function stripComments(line: string, inComment: boolean): { visible: string; inComment: boolean } {
  let visible = "";
  let pos = 0;
  for (;;) {
    if (inComment) {
      const end = line.indexOf("-->", pos);
      if (end === -1) return { visible, inComment: true };
      pos = end + 3;
      inComment = false;
    } else {
      const start = line.indexOf("<!--", pos);
      if (start === -1) return { visible: visible + line.slice(pos), inComment: false };
      visible += line.slice(pos, start);
      pos = start + 4;
      inComment = true;
    }
  }
}

/**
 * All slash commands in a comment body, in order. Never throws; `null` and
 * `undefined` bodies (GitHub sends `null` for empty ones) give `[]`.
 */
export function extractCommands(body: string | null | undefined): CommandLine[] {
  if (typeof body !== "string" || body === "") return [];
  const lines = body.split(/\r\n|\r|\n/);
  const out: CommandLine[] = [];
  let fence: Fence | null = null;
  let inComment = false;

  for (const line of lines) {
    if (fence !== null) {
      if (closesFence(line, fence)) {
        fence = null;
        continue;
      }
      // A fence opened in a list item ends with the item: a non-blank line
      // indented less than the item's content.
      if (fence.base > 0 && !isBlank(line) && leadingSpaces(line) < fence.base) {
        fence = null;
      } else {
        continue;
      }
    }

    const startsInComment = inComment;
    if (!startsInComment) {
      const opened = openFence(line);
      if (opened !== null) {
        fence = opened;
        continue;
      }
    }

    const stripped = stripComments(line, inComment);
    inComment = stripped.inComment;
    if (startsInComment) continue;

    const indent = leadingSpaces(line);
    if (indent > 3) continue; // indented code, or not at the start of the line
    if (line[indent] !== "/") continue; // also skips quotes (">") and everything else

    const m = NAME_RE.exec(line.slice(indent));
    if (m === null) continue;
    const name = m[1]!;
    // The name and what precedes it hold no "<!--", so they are the same in the visible text.
    const args = stripped.visible.slice(indent + 1 + name.length).trim();
    out.push({ name: name.toLowerCase(), args, line: line.trim() });
  }
  return out;
}
