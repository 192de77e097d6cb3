/** A reply in Prow's manner: quote the line that triggered it, then address its author. */
export function replyTo(login: string, blocks: Array<{ line: string; message: string }>): string {
  return blocks
    .map((b) => `> ${b.line.replace(/\n/g, " ")}\n\n@${login}: ${b.message}`)
    .join("\n\n---\n\n");
}
