/** GitHub refuses a comment body longer than this. */
export const MAX_COMMENT_CHARS = 65_536;
/** A quoted command line is cut to this: it only shows which line an answer is for. */
const MAX_QUOTE_CHARS = 300;
/** Room kept for the closing "…and K more" line. */
const SUMMARY_ROOM = 200;
const SEPARATOR = "\n\n---\n\n";

const cut = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/**
 * A reply in Prow's manner: quote the line that triggered it, then address its author. It always
 * fits in one GitHub comment: blocks are answered in order while they fit, and the rest (with
 * `notRun` commands the caller did not run at all) are counted in a last line.
 */
export function replyTo(login: string, blocks: Array<{ line: string; message: string }>, notRun = 0): string {
  const budget = MAX_COMMENT_CHARS - SUMMARY_ROOM;
  const parts: string[] = [];
  let used = 0;
  for (const b of blocks) {
    const quote = `> ${cut(b.line.replace(/\n/g, " "), MAX_QUOTE_CHARS)}\n\n@${login}: `;
    const room = budget - used - (parts.length ? SEPARATOR.length : 0) - quote.length;
    // The first answer is cut to fit rather than dropped; later ones wait for a shorter comment.
    if (room < b.message.length && (parts.length > 0 || room < 1)) break;
    const part = quote + cut(b.message, room);
    used += part.length + (parts.length ? SEPARATOR.length : 0);
    parts.push(part);
  }
  const left = blocks.length - parts.length + notRun;
  if (left > 0) {
    parts.push(`@${login}: …and ${left} more command${left === 1 ? "" : "s"} not answered; put fewer commands in one comment.`);
  }
  return parts.join(SEPARATOR);
}
