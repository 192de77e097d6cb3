/**
 * Every environment variable the app and the CLI read, in one list: the README's Environment table
 * and .env.example are generated from it (`npm run docs`), and a test fails when they drift or when
 * the code reads a variable that is not listed here. Parsing stays with each kind of setting
 * (settings.ts, bitcoin/config.ts, price/config.ts); this list says what exists and what it means.
 */
import { parseNetworkName, type NetworkName } from "../bitcoin/network.js";

export type EnvGroup = "GitHub App" | "Storage" | "Money" | "Payout wallet" | "Paying on merge" | "Prices";

export interface EnvVar {
  name: string;
  /** The .env.example section it is listed in. */
  group: EnvGroup;
  /** The default as shown to people in the README ("—" when there is none). */
  default: string;
  /** What .env.example sets it to (empty: unset). */
  example: string;
  /** The README's meaning column. */
  meaning: string;
  /** .env.example's comment lines above it; a variable without one follows the previous variable's comment. */
  comment?: string[];
}

export const ENV_GROUPS: readonly EnvGroup[] = ["GitHub App", "Storage", "Money", "Payout wallet", "Paying on merge", "Prices"];

export const ENV_VARS: readonly EnvVar[] = [
  // --- GitHub App ---
  {
    name: "APP_ID",
    group: "GitHub App",
    default: "—",
    example: "",
    meaning:
      "The GitHub App's id; checked against GitHub (`GET /app`) at start. Unset (and no key): `npm start` opens the setup page that registers the app. Set without a key, or a key without it: refused at start.",
    comment: [
      "The app's id; leave it and the key unset on first start to register the app through the setup page",
      "(which writes APP_ID, PRIVATE_KEY_PATH and WEBHOOK_SECRET here).",
    ],
  },
  {
    name: "PRIVATE_KEY",
    group: "GitHub App",
    default: "—",
    example: "",
    meaning:
      "The app's private key (RSA PEM; also read when quoted, `\\n`-escaped, with CRLF or base64-encoded; anything else is refused at start naming the variable).",
    comment: ['The app\'s private key (PEM; quoted, "\\n"-escaped or base64 is read too), or PRIVATE_KEY_PATH to a file holding it.'],
  },
  {
    name: "PRIVATE_KEY_PATH",
    group: "GitHub App",
    default: "—",
    example: "",
    meaning: "A path to the app's private key instead of `PRIVATE_KEY` (what the setup page writes); read and checked the same way.",
  },
  {
    name: "WEBHOOK_SECRET",
    group: "GitHub App",
    default: "— (required)",
    example: "",
    meaning:
      "Secret GitHub signs webhooks with (`openssl rand -hex 32`); deliveries with a bad signature are refused (400, logged with delivery id and event, never the body). Unset, or the old example value `development`, the app refuses to start; only the setup flow (no `APP_ID`) runs without it.",
    comment: ["Secret GitHub signs webhook deliveries with (required; e.g. `openssl rand -hex 32`, the same in the app's settings on GitHub)."],
  },
  {
    name: "ALLOWED_ACCOUNTS",
    group: "GitHub App",
    default: "the account that owns the app (`GET /app` at start)",
    example: "",
    meaning:
      "Comma-separated logins whose installations are served, e.g. `kubernetes,kubernetes-sigs`. Deliveries from other accounts' installations get a 2xx and are neither stored nor processed; each such account is logged once. If GitHub cannot say who owns the app, the app does not start.",
    comment: ["Comma-separated logins whose installations are served; unset: the account that owns the app."],
  },
  {
    name: "WEBHOOK_PATH",
    group: "GitHub App",
    default: "`/api/github/webhooks`",
    example: "/api/github/webhooks",
    meaning: "Path the app receives webhooks on.",
    comment: ["Path webhooks are received on."],
  },
  {
    name: "WEBHOOK_PROXY_URL",
    group: "GitHub App",
    default: "—",
    example: "",
    meaning:
      "A smee.io channel (https://smee.io/new), for a laptop: the setup page registers it as the webhook URL, and the running app relays every delivery posted there to its webhook route (signatures still checked).",
    comment: ["On a laptop: a smee.io channel (https://smee.io/new); the setup page registers it, the app relays from it."],
  },
  {
    name: "PUBLIC_URL",
    group: "GitHub App",
    default: "—",
    example: "",
    meaning:
      "Where GitHub reaches this server, e.g. `https://bounties.k8s.io`: the setup page registers `PUBLIC_URL` + `WEBHOOK_PATH` as the webhook URL. The setup page refuses to register without it or `WEBHOOK_PROXY_URL`, with both, or with a placeholder or `localhost` URL.",
    comment: ["On a server: where GitHub reaches it (https://…); the setup page registers PUBLIC_URL + WEBHOOK_PATH."],
  },
  {
    name: "GH_ORG",
    group: "GitHub App",
    default: "—",
    example: "",
    meaning: "The setup page registers the app under this organisation (`/organizations/<org>/settings/apps/new`) instead of your own account.",
    comment: ["Register the app under this GitHub organisation instead of your own account."],
  },
  {
    name: "HOST",
    group: "GitHub App",
    default: "`0.0.0.0`",
    example: "",
    meaning:
      'Where the HTTP server listens (routes: see "HTTP routes"). The setup page (no `APP_ID`) listens on `127.0.0.1` unless `HOST` is set.',
    comment: ["Where the HTTP server listens (unset: 0.0.0.0; the setup page, without APP_ID: 127.0.0.1)."],
  },
  {
    name: "PORT",
    group: "GitHub App",
    default: "`3000`",
    example: "3000",
    meaning: "The port the HTTP server listens on, at `HOST`.",
  },
  {
    name: "LOG_LEVEL",
    group: "GitHub App",
    default: "`info`",
    example: "info",
    meaning: "`trace`, `debug`, `info`, `warn`, `error`, `fatal` or `silent`; anything else is refused at start.",
    comment: ["trace, debug, info, warn, error, fatal or silent."],
  },
  {
    name: "LOG_FORMAT",
    group: "GitHub App",
    default: "`json`",
    example: "json",
    meaning:
      '`json`: one JSON object a line, `name: "bounty-bot"` (for a log pipeline); `pretty`: coloured lines for a person at a terminal (pino-pretty).',
    comment: ["json (one JSON object a line, for a log pipeline) or pretty (for a person at a terminal)."],
  },
  {
    name: "SHUTDOWN_TIMEOUT",
    group: "GitHub App",
    default: "`10s`",
    example: "10s",
    meaning:
      "On SIGTERM or SIGINT the app exits within this (keep it under Kubernetes' 30 s grace period), abandoning work not done by then; that work stays in the inbox/outbox and resumes on the next start.",
    comment: ["On SIGTERM/SIGINT the app exits within this; unfinished work resumes on the next start."],
  },
  {
    name: "METRICS_TOKEN",
    group: "GitHub App",
    default: "—",
    example: "",
    meaning: "When set, `GET /metrics` needs `Authorization: Bearer <token>` (401 otherwise).",
    comment: ['When set, GET /metrics needs "Authorization: Bearer <token>".'],
  },
  {
    name: "GHE_HOST",
    group: "GitHub App",
    default: "—",
    example: "",
    meaning:
      "A GitHub Enterprise Server (or a local stand-in: `GHE_PROTOCOL=http GHE_HOST=127.0.0.1:PORT`); the API is at `GHE_PROTOCOL://GHE_HOST/api/v3`.",
    comment: ["GitHub Enterprise Server host (or a local stand-in such as 127.0.0.1:8080) and its protocol."],
  },
  {
    name: "GHE_PROTOCOL",
    group: "GitHub App",
    default: "`https`",
    example: "https",
    meaning: "`http` or `https`: how `GHE_HOST` is reached.",
  },
  // --- Storage ---
  {
    name: "DATABASE_URL",
    group: "Storage",
    default: "—",
    example: "",
    meaning: "`postgres://…` to use PostgreSQL; unset, the embedded PGlite database is used. Its password is never shown in errors or logs.",
    comment: ["postgres://user:password@host:5432/db to use PostgreSQL; unset for the embedded database."],
  },
  {
    name: "DATA_DIR",
    group: "Storage",
    default: "`./data`",
    example: "./data",
    meaning: "Where the embedded database keeps its files.",
    comment: ["Where the embedded database keeps its files."],
  },
  {
    name: "INBOX_RETENTION",
    group: "Storage",
    default: "`30d`",
    example: "30d",
    meaning:
      "Processed webhook deliveries older than this lose their payload (checked hourly); a small tombstone with the delivery id and object key stays so that a replay is still recognised. Parked (failed) deliveries and the audit log are kept.",
    comment: ["Processed webhook deliveries older than this lose their payload (a tombstone stays); parked ones are kept."],
  },
  // --- Money ---
  {
    name: "BITCOIN_NETWORK",
    group: "Money",
    default: "`testnet`",
    example: "testnet",
    meaning: "`bitcoin`, `testnet`, `signet` or `regtest`. Mainnet only when named.",
    comment: ["bitcoin, testnet, signet or regtest. Mainnet only when named."],
  },
  {
    name: "DEFAULT_CURRENCY",
    group: "Money",
    default: "`usd`",
    example: "usd",
    meaning: "Default for repositories whose config sets no `currency`: `usd`, `eur`, `gbp`, `btc` or `sats`.",
    comment: ["Currency of a bare number for repositories whose config sets none: usd, eur, gbp, btc or sats."],
  },
  // --- Payout wallet ---
  {
    name: "WALLET_MNEMONIC",
    group: "Payout wallet",
    default: "—",
    example: "",
    meaning: "The payout wallet's BIP39 mnemonic (`bounty-bot wallet create` makes one). Never logged. Set this or `WALLET_MNEMONIC_FILE`, not both.",
    comment: [
      "The wallet's BIP39 mnemonic, or a file holding it (prefer the file). Never logged.",
      "`npx bounty-bot wallet create` makes a new one (written to WALLET_MNEMONIC_FILE when set).",
    ],
  },
  {
    name: "WALLET_MNEMONIC_FILE",
    group: "Payout wallet",
    default: "—",
    example: "",
    meaning: "A file holding the payout wallet's BIP39 mnemonic, instead of `WALLET_MNEMONIC` (`bounty-bot wallet create` writes a new one there). Never logged.",
  },
  {
    name: "WALLET_PASSPHRASE",
    group: "Payout wallet",
    default: "empty",
    example: "",
    meaning: "Optional BIP39 passphrase.",
    comment: ["Optional BIP39 passphrase."],
  },
  {
    name: "WALLET_SCRIPT",
    group: "Payout wallet",
    default: "`p2wpkh`",
    example: "p2wpkh",
    meaning: "`p2wpkh` (BIP84, `m/84'/coin'/0'`) or `p2tr` (BIP86, `m/86'/coin'/0'`).",
    comment: ["p2wpkh (BIP84) or p2tr (BIP86)."],
  },
  {
    name: "WALLET_GAP_LIMIT",
    group: "Payout wallet",
    default: "`20`",
    example: "20",
    meaning: "Address discovery gap limit.",
    comment: ["Address discovery gap limit."],
  },
  {
    name: "ESPLORA_URL",
    group: "Payout wallet",
    default: "mempool.space / Blockstream per network",
    example: "",
    meaning:
      "Esplora REST API the wallet uses. `user:password@` is sent as HTTP basic auth and a query (`?apikey=…`) on every request; both are shown as `***` in errors and logs.",
    comment: [
      "Esplora REST API; defaults to mempool.space / Blockstream for the network. user:password@ goes in a",
      "basic-auth header and a query (?apikey=…) on every request; neither is ever shown in logs.",
    ],
  },
  {
    name: "FEE_TARGET_BLOCKS",
    group: "Payout wallet",
    default: "`6`",
    example: "6",
    meaning: "Confirmation target for fee estimates.",
    comment: ["Fee estimate target in blocks, highest fee rate ever paid, and the long-term rate for waste."],
  },
  {
    name: "FEE_MAX_SAT_VB",
    group: "Payout wallet",
    default: "`200`",
    example: "200",
    meaning: "Highest fee rate the wallet ever pays (estimates are clamped to 1…this).",
  },
  {
    name: "FEE_LONG_TERM_SAT_VB",
    group: "Payout wallet",
    default: "`1`",
    example: "1",
    meaning:
      "Long-term fee rate for coin-selection waste: the wallet spends an extra coin or skips change only when that is cheaper even if fees stay at this rate. Bitcoin Core's consolidatefeerate is 10 (consolidates more at low fees, pays more now).",
  },
  {
    name: "PAYOUT_MAX_TX_SATS",
    group: "Payout wallet",
    default: "`5000000`",
    example: "5000000",
    meaning:
      "Most sats one payout transaction may send; over it nothing is signed. A payout that by itself is over it waits for `bounty-bot payouts approve <id>`, then goes in a transaction of its own (and its fee bumps), above this cap but within `PAYOUT_DAILY_CAP_SATS`.",
    comment: [
      "Spending caps enforced inside the wallet engine: per transaction, and per UTC day (sats).",
      "A payout over the per-transaction cap by itself waits for `npx bounty-bot payouts approve <id>`,",
      "then goes alone, within the daily cap.",
    ],
  },
  {
    name: "PAYOUT_DAILY_CAP_SATS",
    group: "Payout wallet",
    default: "`10000000`",
    example: "10000000",
    meaning: "Most sats sent per UTC day; over it nothing is signed. Payouts that do not fit what is left of today wait, with that reason; the others are paid.",
  },
  {
    name: "PAYOUT_MAX_OUTPUTS",
    group: "Payout wallet",
    default: "`500`",
    example: "500",
    meaning: "Payouts per transaction before a batch is split.",
    comment: ["Payouts per transaction before a batch is split."],
  },
  // --- Paying on merge ---
  {
    name: "PAYOUT_HOLD",
    group: "Paying on merge",
    default: "`24h`",
    example: "24h",
    meaning: "Hold before an award is paid (`0s`, `30s`, `10m`, `24h`, `7d`): a floor; a repository's `payout.hold` may make it longer, never shorter.",
    comment: [
      "How long an award waits for a revert before it is paid: 0s, 30s, 10m, 24h, 7d. A floor: a repository's",
      "payout.hold may make it longer, never shorter.",
    ],
  },
  {
    name: "ACCOUNT_BUDGETS",
    group: "Paying on merge",
    default: "—",
    example: "",
    meaning:
      "The most each listed account's pledges may total within a rolling window, e.g. `kubernetes=5000usd/30d,kubernetes-sigs=1000usd/30d`; pledges are valued when made (with `PRICE_SOURCES` when in another currency), and awards come only from pledges. A pledge over it is refused with what is left. An account not listed has no account budget.",
    comment: [
      "The most each listed account's pledges may total per rolling window, valued when pledged, e.g.",
      "kubernetes=5000usd/30d,kubernetes-sigs=1000usd/30d. An account not listed has no account budget.",
    ],
  },
  {
    name: "PAYOUT_MIN_SATS",
    group: "Paying on merge",
    default: "`10000`",
    example: "10000",
    meaning: "A balance is paid once it reaches this (and the dust limit of the address type).",
    comment: ["A recipient's balance is paid once it reaches this many sats (and the dust limit of the address type)."],
  },
  {
    name: "PAYOUT_UNCLAIMED_DAYS",
    group: "Paying on merge",
    default: "`30`",
    example: "30",
    meaning: "Days after asking a recipient for `/wallet` before the award goes to the `payout.unclaimed` charity.",
    comment: ["Without a /wallet for this many days after being asked, an award goes to the repository's payout.unclaimed charity."],
  },
  {
    name: "PAYOUT_INTERVAL",
    group: "Paying on merge",
    default: "`1h`",
    example: "1h",
    meaning: "Time between payout runs (`30s`, `10m`, `2h`); a run also happens at start.",
    comment: ["Time between payout runs: 30s, 10m, 1h, 2h."],
  },
  {
    name: "PAYOUT_CONFIRMATIONS",
    group: "Paying on merge",
    default: "`1`",
    example: "1",
    meaning: "Depth at which a payout transaction counts as confirmed.",
    comment: ["Confirmations before a payout counts as confirmed."],
  },
  {
    name: "PAYOUT_MODE",
    group: "Paying on merge",
    default: "`auto`",
    example: "auto",
    meaning: "`auto` pays due balances; `approve` keeps due payouts waiting until `npx bounty-bot payouts approve`.",
    comment: ["auto pays due balances; approve keeps them waiting until `npx bounty-bot payouts approve`."],
  },
  {
    name: "EXPLORER_URL",
    group: "Paying on merge",
    default: "mempool.space per network; none on regtest",
    example: "",
    meaning: "Prefix the txid is appended to for links in payout comments.",
    comment: ["Prefix the txid is appended to in payout comments; defaults to mempool.space per network, none on regtest."],
  },
  {
    name: "PAYOUT_BUMP_AFTER",
    group: "Paying on merge",
    default: "`2h`",
    example: "2h",
    meaning:
      "A payout transaction still unconfirmed this long after broadcast, paying less than today's fee estimate, is replaced (RBF) by one spending the same coins and paying the same outputs with a higher fee from the change; `off` never bumps.",
    comment: ["Fee-bump (RBF) a payout transaction unconfirmed this long whose fee rate is below today's estimate; off never bumps."],
  },
  // --- Prices ---
  {
    name: "PRICE_SOURCES",
    group: "Prices",
    default: "`coinbase,kraken,mempool:https://mempool.space`",
    example: "coinbase,kraken,mempool:https://mempool.space",
    meaning:
      "BTC price sources (`coinbase`, `kraken`, `mempool:<base-url>`, `fixed:USD=60000;EUR=55000;GBP=48000` for development only: refused on `BITCOIN_NETWORK=bitcoin`); the median of the sources that answered in the last 10 minutes is used.",
    comment: ["Comma list: coinbase, kraken, mempool:<base-url>, fixed:USD=60000;EUR=55000;GBP=48000 (development)."],
  },
  {
    name: "PRICE_MAX_SPREAD",
    group: "Prices",
    default: "`2%`",
    example: "2%",
    meaning: "The largest disagreement between `PRICE_SOURCES` tolerated; beyond it nothing is priced.",
    comment: ["Largest disagreement between sources before nothing is priced."],
  },
  {
    name: "PRICE_MIN_SOURCES",
    group: "Prices",
    default: "`2` on `bitcoin`, `1` elsewhere",
    example: "",
    meaning:
      "Fresh sources that must answer (and agree within `PRICE_MAX_SPREAD`) before anything is priced; fewer, and the award waits. At least 2 on mainnet, at most the number of `PRICE_SOURCES`.",
    comment: [
      "Fresh sources that must answer and agree before anything is priced; unset: 2 on bitcoin (the least",
      "allowed there; fixed: prices are refused on mainnet), 1 elsewhere.",
    ],
  },
];

/** Read by the CLI to name who approved, but the operating system's, not the app's: not documented here. */
export const SYSTEM_ENV = ["USER", "USERNAME"] as const;

/** BITCOIN_NETWORK, read once for every kind of setting: the network, whether mainnet was named, or why it is refused. */
export function networkFromEnv(env: Readonly<Record<string, string | undefined>>):
  | { ok: true; network: NetworkName; mainnet: boolean }
  | { ok: false; error: string } {
  try {
    const network = parseNetworkName(env.BITCOIN_NETWORK);
    return { ok: true, network, mainnet: env.BITCOIN_NETWORK?.trim().toLowerCase() === "bitcoin" };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

const ENV_TABLE_START = "<!-- env-table:start -->";
const ENV_TABLE_END = "<!-- env-table:end -->";

/** The README's Environment table, one row a variable, in .env.example's order. */
export function renderEnvTable(vars: readonly EnvVar[] = ENV_VARS): string {
  const rows = vars.map((v) => `| \`${v.name}\` | ${v.default} | ${v.meaning.replace(/\|/g, "\\|")} |`);
  return ["| variable | default | meaning |", "| --- | --- | --- |", ...rows].join("\n") + "\n";
}

/** The whole .env.example. */
export function renderEnvExample(vars: readonly EnvVar[] = ENV_VARS): string {
  const lines = ["# bounty-bot environment. Variables set in the real environment win over this file."];
  for (const group of ENV_GROUPS) {
    lines.push("", `# --- ${group} ---`);
    for (const v of vars.filter((x) => x.group === group)) {
      for (const c of v.comment ?? []) lines.push(`# ${c}`);
      lines.push(`${v.name}=${v.example}`);
    }
  }
  return lines.join("\n") + "\n";
}

/** README with the text between the env-table markers replaced by the rendered table. */
export function withEnvTable(readme: string, table = renderEnvTable()): string {
  const start = readme.indexOf(ENV_TABLE_START);
  const end = readme.indexOf(ENV_TABLE_END);
  if (start === -1 || end < start) throw new Error(`README.md has no ${ENV_TABLE_START} … ${ENV_TABLE_END} section`);
  return readme.slice(0, start + ENV_TABLE_START.length) + "\n" + table + readme.slice(end);
}
