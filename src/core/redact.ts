/**
 * Credentials never echo: URLs in error messages and log lines are shown with their password (or a
 * lone user part, which is often a token) and secret-looking query values replaced by `***`.
 * Pure text in, text out; every module that shows a URL it was configured with goes through here.
 */

export const REDACTED = "***";

/** Query parameters whose values are secrets (matched case-insensitively, `-` and `_` ignored). */
const SECRET_PARAMS = new Set([
  "token",
  "accesstoken",
  "authtoken",
  "apikey",
  "key",
  "secret",
  "clientsecret",
  "password",
  "pass",
  "passwd",
  "pwd",
  "auth",
  "signature",
  "sig",
  "sslpassword",
]);

const isSecretParam = (name: string) => SECRET_PARAMS.has(name.toLowerCase().replace(/[-_]/g, ""));

/** `?name=value` or `&name=value` (also `;`), the value up to the next separator or space. */
const QUERY_PARAM = /([?&;])([^\s=&;#?]+)=([^\s&;#]*)/g;

/**
 * One URL, or any text holding URLs, with credentials replaced. Text without any is unchanged.
 * Linear in the length of the text: no regular expression here can backtrack far.
 */
export function redact(text: string): string {
  return text.split(/(\s+)/).map(redactUserInfo).join("").replace(QUERY_PARAM, (m, sep: string, name: string) =>
    isSecretParam(name) ? `${sep}${name}=${REDACTED}` : m,
  );
}

/**
 * In one whitespace-free token, everything between the first `scheme://` and the last `@`: the
 * user info, cut where a URL parser would not (a password with an unescaped `/`, `#`, `?` or `@`
 * still hides all of it; a list of URLs hides all of theirs). user:password keeps the user (it
 * helps to know who failed to log in); a lone part may be a token and is hidden whole.
 */
function redactUserInfo(token: string): string {
  const sep = token.indexOf("://");
  if (sep <= 0 || !/[a-z0-9+.-]/i.test(token[sep - 1]!)) return token;
  const at = token.lastIndexOf("@");
  if (at < sep + 3) return token;
  const info = token.slice(sep + 3, at);
  const colon = info.indexOf(":");
  const shown = colon < 0 || /[/?#@]/.test(info.slice(0, colon)) ? REDACTED : `${info.slice(0, colon)}:${REDACTED}`;
  return `${token.slice(0, sep + 3)}${shown}${token.slice(at)}`;
}

/**
 * An error safe to log or show: the same name and (redacted) message, its cause redacted too, and
 * none of the original's other fields (Node's ERR_INVALID_URL keeps the whole URL in `input`, a
 * driver error may keep its connection settings).
 */
export function redactError(err: unknown): Error {
  const src = err instanceof Error ? err : new Error(String(err));
  const out = new Error(redact(src.message), src.cause === undefined ? undefined : { cause: redactError(src.cause) });
  out.name = src.name;
  const code = (src as { code?: unknown }).code;
  if (typeof code === "string") (out as Error & { code?: string }).code = code;
  out.stack = `${out.name}: ${out.message}\n${(src.stack ?? "").split("\n").slice(1).join("\n")}`;
  return out;
}
