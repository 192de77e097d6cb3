import { CONFIG_DEFAULTS, loadWalletConfig } from "../../src/bitcoin/config.js";
import { ENV_NAMES, ENV_SCHEMA, ENV_VARS, readEnv } from "../../src/config/env.js";
import { accountBudgets, decimal, duration, integer, logins, oneOf, sats, type EnvContext, type EnvParser } from "../../src/config/parse.js";
import { priceConfigFromEnv } from "../../src/price/config.js";
import { loadSettings } from "../../src/settings.js";

const MNEMONIC = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
const ctx: EnvContext = { network: "testnet", mainnet: false, currency: "USD" };
const empty = readEnv({});

/** The message of what loadSettings throws, or "" when it accepts the environment. */
function refusal(env: Record<string, string>, options = { wallet: true }): string {
  try {
    loadSettings(env, options);
    return "";
  } catch (err) {
    return (err as Error).message;
  }
}

describe("the environment schema's defaults", () => {
  it("an empty environment parses without a problem", () => {
    expect([...empty.errors]).toEqual([]);
    expect(empty.given.size).toBe(0);
  });

  // The README shows a default as `text`: setting that text must give what leaving the variable unset gives.
  const literal = ENV_VARS.flatMap((v) => {
    const m = /^`([^`]*)`$/.exec(v.default);
    return m ? [[v.name, m[1]!] as const] : v.default === "empty" ? [[v.name, ""] as const] : [];
  });
  it.each(literal)("%s: the README's default %j is what an empty environment parses to", (name, text) => {
    const set = readEnv({ [name]: text });
    expect(set.errors.get(name)).toBeUndefined();
    expect(set.values[name]).toEqual(empty.values[name]);
  });

  it("a README default of — means no value, and one in words comes with a default that depends on the network", () => {
    expect(literal.length).toBeGreaterThan(25);
    for (const v of ENV_VARS) {
      const spec = ENV_SCHEMA[v.name];
      if (v.default === "—") expect([v.name, empty.values[v.name]]).toEqual([v.name, undefined]);
      else if (!literal.some(([n]) => n === v.name)) expect([v.name, "shownDefault" in spec]).toEqual([v.name, true]);
    }
  });

  it("the defaults that depend on the network are the ones the README describes", () => {
    const on = (network: string) => readEnv({ BITCOIN_NETWORK: network }).values;
    expect([on("bitcoin").PRICE_MIN_SOURCES, on("testnet").PRICE_MIN_SOURCES, on("regtest").PRICE_MIN_SOURCES]).toEqual([2, 1, 1]);
    expect(on("bitcoin").ESPLORA_URL.url).toBe("https://mempool.space/api");
    expect(on("signet").ESPLORA_URL.url).toBe("https://mempool.space/signet/api");
    expect(on("bitcoin").EXPLORER_URL).toBe("https://mempool.space/tx/");
    expect(on("regtest").EXPLORER_URL).toBeUndefined();
  });

  it("the settings, the wallet and the prices use the schema's defaults", () => {
    const v = empty.values;
    const s = loadSettings({});
    expect(s).toMatchObject({
      port: v.PORT,
      host: v.HOST,
      hostSet: false,
      webhookPath: v.WEBHOOK_PATH,
      dataDir: v.DATA_DIR,
      network: "testnet",
      defaultCurrency: "USD",
      inboxRetentionMs: v.INBOX_RETENTION,
      shutdownTimeoutMs: v.SHUTDOWN_TIMEOUT,
      depositConfirmations: 2,
      payout: { holdMs: v.PAYOUT_HOLD, minSats: 10_000n, intervalMs: v.PAYOUT_INTERVAL, confirmations: 1, mode: "auto", bumpAfterMs: v.PAYOUT_BUMP_AFTER, unclaimedDays: 30 },
    });
    expect(CONFIG_DEFAULTS).toEqual({ feeTargetBlocks: 6, maxFeeSatVb: 200, longTermFeeSatVb: 1, maxTxSats: 5_000_000n, dailyCapSats: 10_000_000n, maxOutputs: 500, gapLimit: 20 });
    const w = loadWalletConfig({ WALLET_MNEMONIC: MNEMONIC });
    expect(w).toMatchObject({ feeTargetBlocks: v.FEE_TARGET_BLOCKS, maxTxSats: v.PAYOUT_MAX_TX_SATS, dailyCapSats: v.PAYOUT_DAILY_CAP_SATS, gapLimit: v.WALLET_GAP_LIMIT, script: "p2wpkh" });
    const p = priceConfigFromEnv({});
    expect(p).toMatchObject({ ok: true, config: { minSources: 1, sources: v.PRICE_SOURCES.sources } });
  });

  it("every variable has a parser, and a default the parser accepts (else reading any environment fails)", () => {
    for (const name of ENV_NAMES) expect([name, typeof (ENV_SCHEMA[name] as { parse: unknown }).parse]).toEqual([name, "function"]);
    for (const network of ["bitcoin", "testnet", "signet", "regtest"]) expect([...readEnv({ BITCOIN_NETWORK: network }).errors]).toEqual([]);
  });
});

describe("DEPOSIT_CONFIRMATIONS", () => {
  it("is 2 unless set, and any whole number of at least 1", () => {
    expect(loadSettings({}).depositConfirmations).toBe(2);
    expect(loadSettings({ DEPOSIT_CONFIRMATIONS: "1" }).depositConfirmations).toBe(1);
    expect(loadSettings({ DEPOSIT_CONFIRMATIONS: " 6 " }).depositConfirmations).toBe(6);
  });

  it.each(["0", "-1", "1.5", "two", "1e3"])("%j is refused at start: a deposit is never credited unconfirmed", (text) => {
    expect(refusal({ DEPOSIT_CONFIRMATIONS: text }, { wallet: false })).toBe(
      `Invalid environment: DEPOSIT_CONFIRMATIONS must be a whole number of at least 1, not ${JSON.stringify(text)}`,
    );
  });
});

describe("one list of every problem at start", () => {
  it("problems of single variables and rules between variables come out together", () => {
    const message = refusal({
      BITCOIN_NETWORK: "bitcoin",
      APP_ID: "12",
      PORT: "70000",
      DEPOSIT_CONFIRMATIONS: "0",
      PAYOUT_HOLD: "soon",
      PRICE_SOURCES: "coinbase,kraken",
      PRICE_MIN_SOURCES: "3",
      WALLET_MNEMONIC: MNEMONIC,
      ESPLORA_URL: "https://mempool.space/testnet/api",
      FEE_MAX_SAT_VB: "0",
    });
    expect(message.split("\n")).toEqual([
      "Invalid environment:",
      '- PORT must be a port number, not "70000"',
      '- DEPOSIT_CONFIRMATIONS must be a whole number of at least 1, not "0"',
      expect.stringMatching(/^- PAYOUT_HOLD: "soon" is not a duration/),
      "- APP_ID is set but PRIVATE_KEY (or PRIVATE_KEY_PATH) is not: set both, or neither to register an app with the setup page",
      "- PRICE_MIN_SOURCES is 3 but PRICE_SOURCES lists 2 sources; list more sources",
      '- FEE_MAX_SAT_VB must be a number from 1 to 10000 (up to 3 decimals), not "0"',
      "- WALLET_MNEMONIC is a published test mnemonic; anyone could spend its coins. Refusing to use it on mainnet.",
      "- ESPLORA_URL points at a test network server but BITCOIN_NETWORK is bitcoin.",
    ]);
  });

  it("each bad ACCOUNT_BUDGETS entry is its own line", () => {
    expect(refusal({ ACCOUNT_BUDGETS: "kubernetes=lots/30d,=5usd/1d" }).split("\n")).toEqual([
      "Invalid environment:",
      expect.stringMatching(/^- ACCOUNT_BUDGETS: kubernetes: /),
      '- ACCOUNT_BUDGETS: "=5usd/1d" is not <account>=<amount>/<window>, like kubernetes=5000usd/30d',
    ]);
  });

  it("a bare budget amount is in DEFAULT_CURRENCY, read before it", () => {
    const s = loadSettings({ DEFAULT_CURRENCY: "eur", ACCOUNT_BUDGETS: "kubernetes=5000/30d" });
    expect(s.accountBudgets.get("kubernetes")).toEqual({ limit: { currency: "EUR", minor: 500_000n }, windowMs: 30 * 86_400_000 });
  });
});

describe("the shared parsers", () => {
  const parse = <T>(p: EnvParser<T>, text: string) => p(text, "X", ctx);
  it.each<[string, EnvParser<unknown>, string, unknown]>([
    ["integer in range", integer({ min: 1, max: 10 }), "10", { ok: true, value: 10 }],
    ["integer over max", integer({ min: 1, max: 10 }), "11", { ok: false, error: 'X must be a whole number from 1 to 10, not "11"' }],
    ["integer under min", integer({ min: 1 }), "0", { ok: false, error: 'X must be a whole number of at least 1, not "0"' }],
    ["integer past 2^53", integer({ min: 1 }), "9007199254740993", { ok: false, error: 'X must be a whole number of at least 1, not "9007199254740993"' }],
    ["decimal", decimal({ min: 1, max: 5 }), "2.125", { ok: true, value: 2.125 }],
    ["decimal, 4 places", decimal({ min: 1, max: 5 }), "2.1255", { ok: false, error: 'X must be a number from 1 to 5 (up to 3 decimals), not "2.1255"' }],
    ["sats", sats, "2100000000000000", { ok: true, value: 2_100_000_000_000_000n }],
    ["sats over 21M BTC", sats, "2100000000000001", { ok: false, error: 'X must be a positive whole number of sats, not "2100000000000001"' }],
    ["sats zero", sats, "0", { ok: false, error: 'X must be a positive whole number of sats, not "0"' }],
    ["duration", duration(), "1h30m", { ok: true, value: 5_400_000 }],
    ["duration off", duration({ off: true }), "OFF", { ok: true, value: null }],
    ["off without off", duration(), "off", { ok: false, error: expect.stringMatching(/^X: "off" is not a duration/) }],
    ["duration under min", duration({ min: [1000, "1s"] }), "0s", { ok: false, error: "X must be at least 1s" }],
    ["oneOf, any case", oneOf(["auto", "approve"]), "Approve", { ok: true, value: "approve" }],
    ["oneOf, two", oneOf(["auto", "approve"]), "never", { ok: false, error: 'X must be auto or approve, not "never"' }],
    ["oneOf, more", oneOf(["a", "b", "c"]), "d", { ok: false, error: 'X must be one of a, b, c, not "d"' }],
    ["logins", logins, "Kubernetes, kubernetes-sigs,kubernetes", { ok: true, value: ["kubernetes", "kubernetes-sigs"] }],
    ["logins, bad", logins, "kubernetes,-x", { ok: false, error: 'X must be comma-separated GitHub logins (e.g. kubernetes,kubernetes-sigs), not "kubernetes,-x"' }],
    ["a long bad value is not echoed", integer({ min: 1 }), "x".repeat(25), { ok: false, error: "X must be a whole number of at least 1, not the value given (not shown: too long)" }],
  ])("%s", (_, parser, text, expected) => {
    expect(parse(parser, text)).toEqual(expected);
  });

  it("account budgets list every bad entry", () => {
    expect(parse(accountBudgets, "a=1usd/1d,a=2usd/1d,b")).toEqual({
      ok: false,
      error: ["X: a is listed twice", 'X: "b" is not <account>=<amount>/<window>, like kubernetes=5000usd/30d'],
    });
  });
});
