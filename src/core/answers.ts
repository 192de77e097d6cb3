/**
 * What counts as a reply to something paid (a question's answer, a survey's response): the
 * comment's text besides its command lines and HTML comments, long enough. Pure.
 */
import { extractCommands } from "./commands.js";

/** A comment's text besides its command lines, whitespace collapsed. */
export function answerText(body: string | null | undefined): string {
  if (!body) return "";
  const commands = new Set(extractCommands(body).map((c) => c.line));
  return body
    .split(/\r\n|\r|\n/)
    .filter((l) => !commands.has(l.trim()))
    .join(" ")
    .replace(/<!--[\s\S]*?-->/g, " ")
    .replace(/\s+/g, " ")
    .trim();
}

/** Whether a comment is long enough to count: at least `min` characters besides commands. */
export function longEnough(body: string | null | undefined, min: number): boolean {
  return Array.from(answerText(body)).length >= min;
}
