import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";

/**
 * Sets keys in a .env file: an existing `KEY=` line is replaced in place, others are appended, every
 * other line is kept. Values are single-line (the private key goes to its own file), so the file
 * also works as `docker run --env-file`. Written mode 0600: it holds the webhook secret.
 */
export function updateEnvFile(file: string, values: Record<string, string>): void {
  for (const [k, v] of Object.entries(values)) {
    if (!/^[A-Z_][A-Z0-9_]*$/.test(k) || /[\r\n]/.test(v)) throw new Error(`cannot write ${k} to ${file}: not a single-line value`);
  }
  const lines = existsSync(file) ? readFileSync(file, "utf8").split("\n") : [];
  if (lines.at(-1) === "") lines.pop();
  const left = new Map(Object.entries(values));
  const out = lines.map((line) => {
    const m = /^\s*(?:export\s+)?([A-Z_][A-Z0-9_]*)\s*=/.exec(line);
    if (!m || !left.has(m[1]!)) return line;
    const v = left.get(m[1]!)!;
    left.delete(m[1]!);
    return `${m[1]}=${v}`;
  });
  for (const [k, v] of left) out.push(`${k}=${v}`);
  writeFileSync(file, `${out.join("\n")}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
}

/** Writes a secret file that must not exist yet (never overwrites a key), mode 0600. */
export function writeNewSecretFile(file: string, text: string): void {
  writeFileSync(file, text, { mode: 0o600, flag: "wx" });
}
