/**
 * Deterministic ids shared by the GitHub stand-in and the webhook payload
 * builders, so a payload built without access to the stand-in (e.g. in another
 * process) still names the same user and repository ids the stand-in serves.
 *
 * Ranges mimic github.com today on purpose: comment and issue ids are above
 * 2^31, so a column or a parser that assumes 32-bit ids fails in tests rather
 * than in production.
 */

/** 32-bit FNV-1a; stable across processes and Node versions. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(text, "utf8")) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** Default id of a user or organization account (logins are case-insensitive). */
export function defaultAccountId(login: string): number {
  return 1_000_000 + (fnv1a(`account:${login.toLowerCase()}`) % 150_000_000);
}

/** Default id of a repository ("owner/name", case-insensitive). */
export function defaultRepoId(fullName: string): number {
  return 100_000_000 + (fnv1a(`repo:${fullName.toLowerCase()}`) % 800_000_000);
}

/** Default id of issue `number` in repository `fullName`. Above 2^31 like github.com's. */
export function defaultIssueId(fullName: string, number: number): number {
  return 2_500_000_000 + (fnv1a(`issue:${fullName.toLowerCase()}`) % 1_000) * 1_000_000 + (number % 1_000_000);
}

/** Legacy-format GraphQL node id, as in GitHub's examples: base64 of "0<len(Type)>:<Type><id>" ("MDQ6VXNlcjE=" is "04:User1"). */
export function nodeId(type: string, id: number | string): string {
  return Buffer.from(`0${type.length}:${type}${id}`).toString("base64");
}

/** ISO-8601 timestamp without milliseconds, as GitHub formats them. */
export function githubTime(ms: number = Date.now()): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}
