/**
 * Every environment variable the app and the CLI read, in one schema: its group and meaning, the
 * text it defaults to and the parser it is read with. `readEnv` parses a whole environment at once;
 * settings.ts, bitcoin/config.ts and price/config.ts take their values from it and add only the
 * rules that involve several variables. The README's Environment table and .env.example are
 * generated from it (`npm run docs`), and a test fails when they drift, when a documented default
 * is not what an empty environment parses to, or when the code reads a variable that is not here.
 */
import { DEFAULT_ESPLORA_URL } from "../bitcoin/esplora.js";
import { parseNetworkName, type NetworkName } from "../bitcoin/network.js";
import { DEFAULT_MAX_SPREAD, DEFAULT_PRICE_SOURCES, parseMaxSpread, parsePriceSources } from "../price/sources.js";
import {
  accountBudgets,
  credentialUrl,
  currency,
  decimal,
  duration,
  type EnvContext,
  type EnvParser,
  fail,
  httpUrl,
  integer,
  login,
  logins,
  ok,
  oneOf,
  postgresUrl,
  privateKey,
  sats,
  text,
  urlPrefix,
} from "./parse.js";

export type EnvGroup = "GitHub App" | "Storage" | "Money" | "Ledger" | "Payout wallet" | "Paying on merge" | "Prices";

export const ENV_GROUPS: readonly EnvGroup[] = ["GitHub App", "Storage", "Money", "Ledger", "Payout wallet", "Paying on merge", "Prices"];

/** One variable of the schema. */
export interface EnvSpec<T> {
  /** The .env.example section it is listed in. The "Payout wallet" group is what loadWalletConfig reads. */
  group: EnvGroup;
  /**
   * The text used when the variable is unset (or blank), parsed like a set value, so the default
   * the code uses is the default the README shows; a function when it depends on the network.
   * None: the setting has no value.
   */
  fallback?: string | ((ctx: EnvContext) => string | undefined);
  /** The README's default column in words, when `fallback` is a function or says too little. */
  shownDefault?: string;
  /** Read as given: not trimmed, and set-but-empty is a value (a passphrase; a list that must not be empty). */
  raw?: true;
  parse: EnvParser<T>;
  /** What .env.example sets it to (empty: unset). */
  example: string;
  /** The README's meaning column. */
  meaning: string;
  /** .env.example's comment lines above it; a variable without one follows the previous variable's comment. */
  comment?: string[];
}

/** A variable as the docs show it. */
export interface EnvVar {
  name: EnvName;
  group: EnvGroup;
  /** The default as shown to people in the README ("—" when there is none). */
  default: string;
  example: string;
  meaning: string;
  comment?: string[];
}

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** mempool.space's transaction pages per network; regtest has no public explorer. */
export const DEFAULT_EXPLORER_URL: Record<NetworkName, string | null> = {
  bitcoin: "https://mempool.space/tx/",
  testnet: "https://mempool.space/testnet/tx/",
  signet: "https://mempool.space/signet/tx/",
  regtest: null,
};

/** Market prices guard real money on mainnet: two sources must agree, and none may be made up. */
export const MAINNET_MIN_SOURCES = 2;

/** BITCOIN_NETWORK's parser, the only one: the network (testnet when unset); mainnet only when named. */
const network: EnvParser<NetworkName> = (t, name) => {
  try {
    return ok(parseNetworkName(t));
  } catch (err) {
    return fail(`${name}: ${(err as Error).message}`);
  }
};
const priceSources: EnvParser<ReturnType<typeof parsePriceSources> & { ok: true }> = (t) => {
  const r = parsePriceSources(t);
  return r.ok ? ok(r) : fail(r.error);
};
const maxSpread: EnvParser<ReturnType<typeof parseMaxSpread> & { ok: true }> = (t) => {
  const r = parseMaxSpread(t);
  return r.ok ? ok(r) : fail(r.error);
};

export const ENV_SCHEMA = {
  APP_ID: {
    group: "GitHub App",
    example: "",
    meaning:
      "The GitHub App's id; checked against GitHub (`GET /app`) at start. Unset (and no key): `npm start` opens the setup page that registers the app. Set without a key, or a key without it: refused at start.",
    comment: [
      "The app's id; leave it and the key unset on first start to register the app through the setup page",
      "(which writes APP_ID, PRIVATE_KEY_PATH and WEBHOOK_SECRET here).",
    ],
    parse: integer({ min: 1, what: "a positive integer" }),
  },
  PRIVATE_KEY: {
    group: "GitHub App",
    example: "",
    meaning:
      "The app's private key (RSA PEM; also read when quoted, `\\n`-escaped, with CRLF or base64-encoded; anything else is refused at start naming the variable).",
    comment: ['The app\'s private key (PEM; quoted, "\\n"-escaped or base64 is read too), or PRIVATE_KEY_PATH to a file holding it.'],
    parse: privateKey,
  },
  PRIVATE_KEY_PATH: {
    group: "GitHub App",
    example: "",
    meaning: "A path to the app's private key instead of `PRIVATE_KEY` (what the setup page writes); read and checked the same way.",
    parse: text,
  },
  WEBHOOK_SECRET: {
    group: "GitHub App",
    example: "",
    meaning:
      "Secret GitHub signs webhooks with (`openssl rand -hex 32`); deliveries with a bad signature are refused (400, logged with delivery id and event, never the body). Unset, or the old example value `development`, the app refuses to start; only the setup flow (no `APP_ID`) runs without it.",
    comment: ["Secret GitHub signs webhook deliveries with (required; e.g. `openssl rand -hex 32`, the same in the app's settings on GitHub)."],
    shownDefault: "— (required)",
    parse: text,
  },
  ALLOWED_ACCOUNTS: {
    group: "GitHub App",
    example: "",
    meaning:
      "Comma-separated logins whose installations are served, e.g. `kubernetes,kubernetes-sigs`. Deliveries from other accounts' installations get a 2xx and are neither stored nor processed; each such account is logged once. If GitHub cannot say who owns the app, the app does not start.",
    comment: ["Comma-separated logins whose installations are served; unset: the account that owns the app."],
    shownDefault: "the account that owns the app (`GET /app` at start)",
    parse: logins,
  },
  WEBHOOK_PATH: {
    group: "GitHub App",
    example: "/api/github/webhooks",
    meaning: "Path the app receives webhooks on.",
    comment: ["Path webhooks are received on."],
    fallback: "/api/github/webhooks",
    parse: text,
  },
  WEBHOOK_PROXY_URL: {
    group: "GitHub App",
    example: "",
    meaning:
      "A smee.io channel (https://smee.io/new), for a laptop: the setup page registers it as the webhook URL, and the running app relays every delivery posted there to its webhook route (signatures still checked).",
    comment: ["On a laptop: a smee.io channel (https://smee.io/new); the setup page registers it, the app relays from it."],
    parse: httpUrl,
  },
  PUBLIC_URL: {
    group: "GitHub App",
    example: "",
    meaning:
      "Where GitHub reaches this server, e.g. `https://bounties.k8s.io`: the setup page registers `PUBLIC_URL` + `WEBHOOK_PATH` as the webhook URL. The setup page refuses to register without it or `WEBHOOK_PROXY_URL`, with both, or with a placeholder or `localhost` URL.",
    comment: ["On a server: where GitHub reaches it (https://…); the setup page registers PUBLIC_URL + WEBHOOK_PATH."],
    parse: httpUrl,
  },
  GH_ORG: {
    group: "GitHub App",
    example: "",
    meaning: "The setup page registers the app under this organisation (`/organizations/<org>/settings/apps/new`) instead of your own account.",
    comment: ["Register the app under this GitHub organisation instead of your own account."],
    parse: login("a GitHub organisation"),
  },
  HOST: {
    group: "GitHub App",
    example: "",
    meaning:
      'Where the HTTP server listens (routes: see "HTTP routes"). The setup page (no `APP_ID`) listens on `127.0.0.1` unless `HOST` is set.',
    comment: ["Where the HTTP server listens (unset: 0.0.0.0; the setup page, without APP_ID: 127.0.0.1)."],
    fallback: "0.0.0.0",
    parse: text,
  },
  PORT: {
    group: "GitHub App",
    example: "3000",
    meaning: "The port the HTTP server listens on, at `HOST`.",
    fallback: "3000",
    parse: integer({ min: 0, max: 65535, what: "a port number" }),
  },
  LOG_LEVEL: {
    group: "GitHub App",
    example: "info",
    meaning: "`trace`, `debug`, `info`, `warn`, `error`, `fatal` or `silent`; anything else is refused at start.",
    comment: ["trace, debug, info, warn, error, fatal or silent."],
    fallback: "info",
    parse: oneOf(LOG_LEVELS),
  },
  LOG_FORMAT: {
    group: "GitHub App",
    example: "json",
    meaning:
      '`json`: one JSON object a line, `name: "bounty-bot"` (for a log pipeline); `pretty`: coloured lines for a person at a terminal (pino-pretty).',
    comment: ["json (one JSON object a line, for a log pipeline) or pretty (for a person at a terminal)."],
    fallback: "json",
    parse: oneOf(["json", "pretty"]),
  },
  SHUTDOWN_TIMEOUT: {
    group: "GitHub App",
    example: "10s",
    meaning:
      "On SIGTERM or SIGINT the app exits within this (keep it under Kubernetes' 30 s grace period), abandoning work not done by then; that work stays in the inbox/outbox and resumes on the next start.",
    comment: ["On SIGTERM/SIGINT the app exits within this; unfinished work resumes on the next start."],
    fallback: "10s",
    parse: duration(),
  },
  METRICS_TOKEN: {
    group: "GitHub App",
    example: "",
    meaning: "When set, `GET /metrics` needs `Authorization: Bearer <token>` (401 otherwise).",
    comment: ['When set, GET /metrics needs "Authorization: Bearer <token>".'],
    parse: text,
  },
  GHE_HOST: {
    group: "GitHub App",
    example: "",
    meaning:
      "A GitHub Enterprise Server (or a local stand-in: `GHE_PROTOCOL=http GHE_HOST=127.0.0.1:PORT`); the API is at `GHE_PROTOCOL://GHE_HOST/api/v3`.",
    comment: ["GitHub Enterprise Server host (or a local stand-in such as 127.0.0.1:8080) and its protocol."],
    parse: text,
  },
  GHE_PROTOCOL: {
    group: "GitHub App",
    example: "https",
    meaning: "`http` or `https`: how `GHE_HOST` is reached.",
    fallback: "https",
    parse: oneOf(["http", "https"]),
  },
  BOARD: {
    group: "GitHub App",
    example: "on",
    meaning:
      "`off` turns off the public board: `/board`, `/board/experts`, `/board/leaderboard`, `/board/payouts`, `/u/<login>` and their JSON twins under `/api/v1/` (the rewards API and `/api/v1/solvency` stay).",
    comment: ["The public board (/board, /u/<login> and their /api/v1/ twins): on or off."],
    fallback: "on",
    parse: oneOf(["on", "off"]),
  },
  BOARD_PRIVATE_REPOS: {
    group: "GitHub App",
    example: "off",
    meaning: "`on` shows bounties, payouts and answers of repositories that are not public on the board; `off` leaves them out (as is every repository no delivery has yet said is public).",
    fallback: "off",
    parse: oneOf(["on", "off"]),
  },
  // --- Storage ---
  DATABASE_URL: {
    group: "Storage",
    example: "",
    meaning: "`postgres://…` to use PostgreSQL; unset, the embedded PGlite database is used. Its password is never shown in errors or logs.",
    comment: ["postgres://user:password@host:5432/db to use PostgreSQL; unset for the embedded database."],
    parse: postgresUrl,
  },
  DATA_DIR: {
    group: "Storage",
    example: "./data",
    meaning: "Where the embedded database keeps its files.",
    comment: ["Where the embedded database keeps its files."],
    fallback: "./data",
    parse: text,
  },
  INBOX_RETENTION: {
    group: "Storage",
    example: "30d",
    meaning:
      "Processed webhook deliveries older than this lose their payload (checked hourly); a small tombstone with the delivery id and object key stays so that a replay is still recognised. Parked (failed) deliveries and the audit log are kept.",
    comment: ["Processed webhook deliveries older than this lose their payload (a tombstone stays); parked ones are kept."],
    fallback: "30d",
    parse: duration(),
  },
  // --- Money ---
  BITCOIN_NETWORK: {
    group: "Money",
    example: "testnet",
    meaning: "`bitcoin`, `testnet`, `signet` or `regtest`. Mainnet only when named.",
    comment: ["bitcoin, testnet, signet or regtest. Mainnet only when named."],
    fallback: "testnet",
    parse: network,
  },
  DEFAULT_CURRENCY: {
    group: "Money",
    example: "usd",
    meaning: "Default for repositories whose config sets no `currency`: `usd`, `eur`, `gbp`, `btc` or `sats`.",
    comment: ["Currency of a bare number for repositories whose config sets none: usd, eur, gbp, btc or sats."],
    fallback: "usd",
    parse: currency("usd, eur, gbp, btc or sats"),
  },
  DEPOSIT_CONFIRMATIONS: {
    group: "Ledger",
    example: "2",
    meaning: "Confirmations an incoming deposit needs before it is credited to the depositor's funds (the local chain and tests may set 1).",
    comment: ["Confirmations an incoming deposit needs before it is credited to the depositor's funds."],
    fallback: "2",
    parse: integer({ min: 1 }),
  },
  // --- Payout wallet ---
  WALLET_MNEMONIC: {
    group: "Payout wallet",
    example: "",
    meaning: "The payout wallet's BIP39 mnemonic (`bounty-bot wallet create` makes one). Never logged. Set this or `WALLET_MNEMONIC_FILE`, not both.",
    comment: [
      "The wallet's BIP39 mnemonic, or a file holding it (prefer the file). Never logged.",
      "`npx bounty-bot wallet create` makes a new one (written to WALLET_MNEMONIC_FILE when set).",
    ],
    parse: text,
  },
  WALLET_MNEMONIC_FILE: {
    group: "Payout wallet",
    example: "",
    meaning: "A file holding the payout wallet's BIP39 mnemonic, instead of `WALLET_MNEMONIC` (`bounty-bot wallet create` writes a new one there). Never logged.",
    parse: text,
  },
  WALLET_PASSPHRASE: {
    group: "Payout wallet",
    example: "",
    meaning: "Optional BIP39 passphrase.",
    comment: ["Optional BIP39 passphrase."],
    fallback: "",
    raw: true,
    parse: text,
  },
  WALLET_SCRIPT: {
    group: "Payout wallet",
    example: "p2wpkh",
    meaning: "`p2wpkh` (BIP84, `m/84'/coin'/0'`) or `p2tr` (BIP86, `m/86'/coin'/0'`).",
    comment: ["p2wpkh (BIP84) or p2tr (BIP86)."],
    fallback: "p2wpkh",
    parse: oneOf(["p2wpkh", "p2tr"], '"p2wpkh" (BIP84, default) or "p2tr" (BIP86)'),
  },
  WALLET_GAP_LIMIT: {
    group: "Payout wallet",
    example: "20",
    meaning: "Address discovery gap limit.",
    comment: ["Address discovery gap limit."],
    fallback: "20",
    parse: integer({ min: 1, max: 1000 }),
  },
  ESPLORA_URL: {
    group: "Payout wallet",
    example: "",
    meaning:
      "Esplora REST API the wallet uses. `user:password@` is sent as HTTP basic auth and a query (`?apikey=…`) on every request; both are shown as `***` in errors and logs.",
    comment: [
      "Esplora REST API; defaults to mempool.space / Blockstream for the network. user:password@ goes in a",
      "basic-auth header and a query (?apikey=…) on every request; neither is ever shown in logs.",
    ],
    fallback: ({ network }) => DEFAULT_ESPLORA_URL[network],
    shownDefault: "mempool.space / Blockstream per network",
    parse: credentialUrl,
  },
  CHAIN_BACKEND: {
    group: "Payout wallet",
    example: "esplora",
    meaning: "Where the wallet reads the chain and sends transactions: `esplora` (`ESPLORA_URL`) or `core` (your own Bitcoin Core node over JSON-RPC, `BITCOIN_RPC_URL`; the wallet is watched there watch-only, keys never leave the app).",
    comment: ["esplora (ESPLORA_URL) or core (your own Bitcoin Core node over JSON-RPC; watch-only there, keys stay here)."],
    fallback: "esplora",
    parse: oneOf(["esplora", "core"]),
  },
  BITCOIN_RPC_URL: {
    group: "Payout wallet",
    example: "",
    meaning: "Bitcoin Core's JSON-RPC address when `CHAIN_BACKEND=core`, e.g. `http://127.0.0.1:8332` (regtest 18443). Never shown with credentials.",
    comment: ["Bitcoin Core JSON-RPC (CHAIN_BACKEND=core): its URL, and the cookie file or rpcuser/rpcpassword (one of the two)."],
    parse: credentialUrl,
  },
  BITCOIN_RPC_COOKIE_FILE: {
    group: "Payout wallet",
    example: "",
    meaning: "Bitcoin Core's `.cookie` file (e.g. `~/.bitcoin/.cookie`), read at start and again when Core answers 401 (it changes at every restart). Set this or `BITCOIN_RPC_USER`/`BITCOIN_RPC_PASSWORD`.",
    parse: text,
  },
  BITCOIN_RPC_USER: {
    group: "Payout wallet",
    example: "",
    meaning: "Bitcoin Core `rpcuser` (or an `rpcauth` user), with `BITCOIN_RPC_PASSWORD`.",
    parse: text,
  },
  BITCOIN_RPC_PASSWORD: {
    group: "Payout wallet",
    example: "",
    meaning: "Bitcoin Core RPC password for `BITCOIN_RPC_USER`. Never logged.",
    parse: text,
  },
  BITCOIN_RPC_WALLET: {
    group: "Payout wallet",
    example: "bounty-bot",
    meaning: "The watch-only descriptor wallet the app creates (or loads) in Bitcoin Core for its addresses.",
    fallback: "bounty-bot",
    parse: text,
  },
  FEE_TARGET_BLOCKS: {
    group: "Payout wallet",
    example: "6",
    meaning: "Confirmation target for fee estimates.",
    comment: ["Fee estimate target in blocks, highest fee rate ever paid, and the long-term rate for waste."],
    fallback: "6",
    parse: integer({ min: 1, max: 1008 }),
  },
  FEE_MAX_SAT_VB: {
    group: "Payout wallet",
    example: "200",
    meaning: "Highest fee rate the wallet ever pays (estimates are clamped to 1…this).",
    fallback: "200",
    parse: decimal({ min: 1, max: 10_000 }),
  },
  FEE_LONG_TERM_SAT_VB: {
    group: "Payout wallet",
    example: "1",
    meaning:
      "Long-term fee rate for coin-selection waste: the wallet spends an extra coin or skips change only when that is cheaper even if fees stay at this rate. Bitcoin Core's consolidatefeerate is 10 (consolidates more at low fees, pays more now).",
    /*
     * The relay floor, not Core's consolidatefeerate of 10: no later spend can
     * be cheaper, so the wallet only spends an extra coin or skips change when
     * that is cheaper even if fees stay at the floor, never on a bet that fees
     * will rise (issue 3's fee-efficiency goal is about what a batch costs now).
     */
    fallback: "1",
    parse: decimal({ min: 1, max: 10_000 }),
  },
  PAYOUT_MAX_TX_SATS: {
    group: "Payout wallet",
    example: "5000000",
    meaning:
      "Most sats one payout transaction may send; over it nothing is signed. A payout that by itself is over it waits for `bounty-bot payouts approve <id>`, then goes in a transaction of its own (and its fee bumps), above this cap but within `PAYOUT_DAILY_CAP_SATS`.",
    comment: [
      "Spending caps enforced inside the wallet engine: per transaction, and per UTC day (sats).",
      "A payout over the per-transaction cap by itself waits for `npx bounty-bot payouts approve <id>`,",
      "then goes alone, within the daily cap.",
    ],
    fallback: "5000000",
    parse: sats,
  },
  PAYOUT_DAILY_CAP_SATS: {
    group: "Payout wallet",
    example: "10000000",
    meaning: "Most sats sent per UTC day; over it nothing is signed. Payouts that do not fit what is left of today wait, with that reason; the others are paid.",
    fallback: "10000000",
    parse: sats,
  },
  PAYOUT_MAX_OUTPUTS: {
    group: "Payout wallet",
    example: "500",
    meaning: "Payouts per transaction before a batch is split.",
    comment: ["Payouts per transaction before a batch is split."],
    fallback: "500",
    parse: integer({ min: 1, max: 2500 }),
  },
  // --- Paying on merge ---
  PAYOUT_HOLD: {
    group: "Paying on merge",
    example: "24h",
    meaning: "Hold before an award is paid (`0s`, `30s`, `10m`, `24h`, `7d`): a floor; a repository's `payout.hold` may make it longer, never shorter.",
    comment: [
      "How long an award waits for a revert before it is paid: 0s, 30s, 10m, 24h, 7d. A floor: a repository's",
      "payout.hold may make it longer, never shorter.",
    ],
    fallback: "24h",
    parse: duration(),
  },
  ACCOUNT_BUDGETS: {
    group: "Paying on merge",
    example: "",
    meaning:
      "The most each listed account's pledges may total within a rolling window, e.g. `kubernetes=5000usd/30d,kubernetes-sigs=1000usd/30d`; pledges are valued when made (with `PRICE_SOURCES` when in another currency), and awards come only from pledges. A pledge over it is refused with what is left. An account not listed has no account budget.",
    comment: [
      "The most each listed account's pledges may total per rolling window, valued when pledged, e.g.",
      "kubernetes=5000usd/30d,kubernetes-sigs=1000usd/30d. An account not listed has no account budget.",
    ],
    parse: accountBudgets,
  },
  PAYOUT_MIN_SATS: {
    group: "Paying on merge",
    example: "10000",
    meaning: "A balance is paid once it reaches this (and the dust limit of the address type).",
    comment: ["A recipient's balance is paid once it reaches this many sats (and the dust limit of the address type)."],
    fallback: "10000",
    parse: sats,
  },
  PAYOUT_UNCLAIMED_DAYS: {
    group: "Paying on merge",
    example: "30",
    meaning: "Days after asking a recipient for `/wallet` before the award goes to the `payout.unclaimed` charity.",
    comment: ["Without a /wallet for this many days after being asked, an award goes to the repository's payout.unclaimed charity."],
    fallback: "30",
    parse: integer({ min: 1 }),
  },
  PAYOUT_INTERVAL: {
    group: "Paying on merge",
    example: "1h",
    meaning: "Time between payout runs (`30s`, `10m`, `2h`); a run also happens at start.",
    comment: ["Time between payout runs: 30s, 10m, 1h, 2h."],
    fallback: "1h",
    parse: duration({ min: [1000, "1s"] }),
  },
  PAYOUT_MAX_DELAY: {
    group: "Paying on merge",
    example: "0",
    meaning:
      "How long a due payout may wait for low fees (`24h` recommended on mainnet): each run records the fee estimate, and sends the batch when the same hours a week earlier were the low of the payout's window (before a week of records: when the estimate is low against the last day's), bidding below the estimate, or at once at the current rate when the oldest deadline is near; payouts due while a batch is unconfirmed join it by replacement (RBF) when cheaper; a batch still unconfirmed near its deadline is fee-bumped (RBF; not with PAYOUT_BUMP_AFTER=off). `0` pays at the next run at the current estimate.",
    comment: ["How long a due payout may wait for low fees (24h recommended on mainnet); 0 pays at the next run."],
    fallback: "0",
    parse: (t, name, ctx) => (t.trim() === "0" ? ok(0) : duration()(t, name, ctx)),
  },
  PAYOUT_CONFIRMATIONS: {
    group: "Paying on merge",
    example: "1",
    meaning: "Depth at which a payout transaction counts as confirmed.",
    comment: ["Confirmations before a payout counts as confirmed."],
    fallback: "1",
    parse: integer({ min: 1 }),
  },
  PAYOUT_MODE: {
    group: "Paying on merge",
    example: "auto",
    meaning: "`auto` pays due balances; `approve` keeps due payouts waiting until `npx bounty-bot payouts approve`.",
    comment: ["auto pays due balances; approve keeps them waiting until `npx bounty-bot payouts approve`."],
    fallback: "auto",
    parse: oneOf(["auto", "approve"]),
  },
  EXPLORER_URL: {
    group: "Paying on merge",
    example: "",
    meaning: "Prefix the txid is appended to for links in payout comments.",
    comment: ["Prefix the txid is appended to in payout comments; defaults to mempool.space per network, none on regtest."],
    fallback: ({ network }) => DEFAULT_EXPLORER_URL[network] ?? undefined,
    shownDefault: "mempool.space per network; none on regtest",
    parse: urlPrefix("https://mempool.space/tx/"),
  },
  PAYOUT_BUMP_AFTER: {
    group: "Paying on merge",
    example: "2h",
    meaning:
      "A payout transaction still unconfirmed this long after broadcast, paying less than today's fee estimate, is replaced (RBF) by one spending the same coins and paying the same outputs with a higher fee from the change; `off` never bumps.",
    comment: ["Fee-bump (RBF) a payout transaction unconfirmed this long whose fee rate is below today's estimate; off never bumps."],
    fallback: "2h",
    parse: duration({ off: true }),
  },
  // --- Prices ---
  PRICE_SOURCES: {
    group: "Prices",
    example: "coinbase,kraken,mempool:https://mempool.space",
    meaning:
      "BTC price sources (`coinbase`, `kraken`, `mempool:<base-url>`, `fixed:USD=60000;EUR=55000;GBP=48000` for development only: refused on `BITCOIN_NETWORK=bitcoin`); the median of the sources that answered in the last 10 minutes is used.",
    comment: ["Comma list: coinbase, kraken, mempool:<base-url>, fixed:USD=60000;EUR=55000;GBP=48000 (development)."],
    fallback: DEFAULT_PRICE_SOURCES,
    raw: true,
    parse: priceSources,
  },
  PRICE_MAX_SPREAD: {
    group: "Prices",
    example: "2%",
    meaning: "The largest disagreement between `PRICE_SOURCES` tolerated; beyond it nothing is priced.",
    comment: ["Largest disagreement between sources before nothing is priced."],
    fallback: DEFAULT_MAX_SPREAD,
    raw: true,
    parse: maxSpread,
  },
  PRICE_MIN_SOURCES: {
    group: "Prices",
    example: "",
    meaning:
      "Fresh sources that must answer (and agree within `PRICE_MAX_SPREAD`) before anything is priced; fewer, and the award waits. At least 2 on mainnet, at most the number of `PRICE_SOURCES`.",
    comment: [
      "Fresh sources that must answer and agree before anything is priced; unset: 2 on bitcoin (the least",
      "allowed there; fixed: prices are refused on mainnet), 1 elsewhere.",
    ],
    fallback: ({ mainnet }) => (mainnet ? String(MAINNET_MIN_SOURCES) : "1"),
    shownDefault: "`2` on `bitcoin`, `1` elsewhere",
    parse: integer({ min: 1 }),
  },
} satisfies Record<string, EnvSpec<any>>;


/** Read by the CLI to name who approved, but the operating system's, not the app's: not documented here. */
export const SYSTEM_ENV = ["USER", "USERNAME"] as const;

export type EnvName = keyof typeof ENV_SCHEMA;
type ValueOf<S> = S extends EnvSpec<infer T> ? (S extends { fallback: string | ((ctx: EnvContext) => string) } ? T : T | undefined) : never;
/** Every variable's value: parsed as set, else its default; undefined for a setting without one. */
export type EnvValues = { [K in EnvName]: ValueOf<(typeof ENV_SCHEMA)[K]> };

export const ENV_NAMES = Object.keys(ENV_SCHEMA) as EnvName[];

const specOf = (name: EnvName): EnvSpec<unknown> => ENV_SCHEMA[name];
const fallbackText = (spec: EnvSpec<unknown>, ctx: EnvContext) => (typeof spec.fallback === "function" ? spec.fallback(ctx) : spec.fallback);

export const ENV_VARS: readonly EnvVar[] = ENV_NAMES.map((name) => {
  const s = specOf(name);
  const shown = s.shownDefault ?? (typeof s.fallback === "string" ? (s.fallback === "" ? "empty" : `\`${s.fallback}\``) : "—");
  return { name, group: s.group, default: shown, example: s.example, meaning: s.meaning, ...(s.comment ? { comment: s.comment } : {}) };
});

/** An environment parsed by the schema: every value, and every problem, by variable. */
export interface EnvRead {
  values: EnvValues;
  /** Each bad variable's problems; its value is then its default (or undefined). */
  errors: ReadonlyMap<EnvName, readonly string[]>;
  /** The variables that were set (not blank). */
  given: ReadonlySet<EnvName>;
  context: EnvContext;
}

/** Parses every variable of the schema; BITCOIN_NETWORK and DEFAULT_CURRENCY first, since other variables depend on them. */
export function readEnv(env: Readonly<Record<string, string | undefined>>): EnvRead {
  const values: Partial<Record<EnvName, unknown>> = {};
  const errors = new Map<EnvName, string[]>();
  const given = new Set<EnvName>();
  const context: EnvContext = { network: "testnet", mainnet: false, currency: "USD" };
  const fallbackValue = (name: EnvName) => {
    const t = fallbackText(specOf(name), context);
    if (t === undefined) return undefined;
    const r = specOf(name).parse(t, name, context);
    if (!r.ok) throw new Error(`${name}: its default ${JSON.stringify(t)} does not parse: ${[r.error].flat().join("; ")}`);
    return r.value;
  };
  const read = (name: EnvName) => {
    const spec = specOf(name);
    const raw = env[name];
    const t = spec.raw ? raw : raw?.trim() || undefined;
    if (t === undefined) {
      values[name] = fallbackValue(name);
      return;
    }
    given.add(name);
    const r = spec.parse(t, name, context);
    if (r.ok) values[name] = r.value;
    else {
      errors.set(name, [r.error].flat());
      values[name] = fallbackValue(name);
    }
  };
  read("BITCOIN_NETWORK");
  context.network = values.BITCOIN_NETWORK as NetworkName;
  context.mainnet = context.network === "bitcoin";
  read("DEFAULT_CURRENCY");
  context.currency = values.DEFAULT_CURRENCY as EnvContext["currency"];
  for (const name of ENV_NAMES) if (!(name in values)) read(name);
  return { values: values as EnvValues, errors, given, context };
}

/** The problems of these variables, in the schema's order. */
export function errorsOf(read: EnvRead, names: readonly EnvName[]): string[] {
  return ENV_NAMES.filter((n) => names.includes(n)).flatMap((n) => read.errors.get(n) ?? []);
}

/** The variables of some groups. */
export function namesIn(...groups: EnvGroup[]): EnvName[] {
  return ENV_NAMES.filter((n) => groups.includes(specOf(n).group));
}

/** BITCOIN_NETWORK alone: the network, whether mainnet was named, or why it is refused. */
export function networkFromEnv(env: Readonly<Record<string, string | undefined>>):
  | { ok: true; network: NetworkName; mainnet: boolean }
  | { ok: false; error: string } {
  const r = network(env.BITCOIN_NETWORK?.trim() ?? "", "BITCOIN_NETWORK", { network: "testnet", mainnet: false, currency: "USD" });
  return r.ok ? { ok: true, network: r.value, mainnet: r.value === "bitcoin" } : { ok: false, error: [r.error].flat().join("; ") };
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
