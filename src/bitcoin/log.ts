import pino, { type Logger } from "pino";

/**
 * Logging for the wallet. Key material is kept out of logs by construction
 * (it lives in #private fields and Secret wrappers); these redactions are the
 * second line of defence against someone logging the wrong object.
 */
export const REDACT_PATHS = [
  "mnemonic",
  "*.mnemonic",
  "passphrase",
  "*.passphrase",
  "seed",
  "*.seed",
  "xprv",
  "*.xprv",
  "xpriv",
  "*.xpriv",
  "privateKey",
  "*.privateKey",
  "wif",
  "*.wif",
  "WALLET_MNEMONIC",
  "*.WALLET_MNEMONIC",
  "env.WALLET_MNEMONIC",
  "WALLET_PASSPHRASE",
  "*.WALLET_PASSPHRASE",
];

// Extended private keys (xprv/tprv/yprv/zprv/uprv/vprv) and WIF private keys.
const SECRET_PATTERNS = [/\b[xtyzuv]prv[1-9A-HJ-NP-Za-km-z]{100,112}\b/g, /\b[59KLc][1-9A-HJ-NP-Za-km-z]{50,51}\b/g];

/** Replaces anything shaped like a private key in strings, deep. */
export function scrubSecrets<T>(value: T, depth = 0): T {
  if (typeof value === "string") {
    let s: string = value;
    for (const p of SECRET_PATTERNS) s = s.replace(p, "[redacted]");
    return s as T;
  }
  if (depth > 6 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => scrubSecrets(v, depth + 1)) as T;
  if (value instanceof Error) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrubSecrets(v, depth + 1);
  return out as T;
}

const redact = { paths: REDACT_PATHS, censor: "[redacted]" };
const scrubLog = (o: object): Record<string, unknown> => scrubSecrets(o) as Record<string, unknown>;

/**
 * The wallet's logger: a child of the app's pino logger (Probot's app.log)
 * with redaction, or a standalone pino logger writing to `destination`.
 */
export function walletLogger(opts: { parent?: Logger; destination?: pino.DestinationStream; level?: string } = {}): Logger {
  if (opts.parent) return opts.parent.child({ component: "bitcoin-wallet" }, { redact, formatters: { log: scrubLog } });
  const base = pino({ level: opts.level ?? "info", redact, formatters: { log: scrubLog } }, opts.destination ?? pino.destination(2));
  return base.child({ component: "bitcoin-wallet" });
}
