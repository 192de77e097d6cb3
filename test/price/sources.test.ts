import { decimalToString } from "../../src/price/decimal.js";
import { parseMaxSpread, parsePriceSources, type PriceSource } from "../../src/price/sources.js";
import { priceConfigFromEnv } from "../../src/price/config.js";
import { loadSettings } from "../../src/settings.js";

const ids = (s: PriceSource[]) => s.map((x) => x.id);

describe("parsePriceSources", () => {
  test("unset means coinbase, kraken and mempool.space", () => {
    const r = parsePriceSources(undefined);
    expect(r.ok && ids(r.sources)).toEqual(["coinbase", "kraken", "mempool:https://mempool.space"]);
    const m = r.ok ? r.sources[2] : undefined;
    expect(m).toEqual({ kind: "mempool", id: "mempool:https://mempool.space", baseUrl: "https://mempool.space" });
  });

  test.each<[string, string[]]>([
    ["coinbase", ["coinbase"]],
    [" Kraken , COINBASE ", ["kraken", "coinbase"]],
    ["mempool:https://mempool.space/", ["mempool:https://mempool.space"]],
    ["mempool:http://umbrel.local:3006,mempool:https://mempool.space", ["mempool:http://umbrel.local:3006", "mempool:https://mempool.space"]],
    ["mempool:https://example.org/mempool/", ["mempool:https://example.org/mempool"]],
    ["fixed:USD=60000;EUR=55000;GBP=48000", ["fixed"]],
  ])("%j → %j", (text, want) => {
    const r = parsePriceSources(text);
    if (!r.ok) throw new Error(r.error);
    expect(ids(r.sources)).toEqual(want);
  });

  test("fixed prices are exact decimals", () => {
    const r = parsePriceSources("fixed: usd = 60000.5 ; GBP=48000");
    if (!r.ok) throw new Error(r.error);
    const f = r.sources[0]!;
    if (f.kind !== "fixed") throw new Error("not fixed");
    expect(decimalToString(f.prices.USD!)).toBe("60000.5");
    expect(decimalToString(f.prices.GBP!)).toBe("48000");
    expect(f.prices.EUR).toBeUndefined();
  });

  test.each<[string, RegExp]>([
    ["", /PRICE_SOURCES is empty/],
    ["   ", /PRICE_SOURCES is empty/],
    ["coinbase,,kraken", /empty entry/],
    ["coinbase,", /empty entry/],
    ["binance", /unknown price source "binance"/],
    ["https://mempool.space", /unknown price source/],
    ["coinbase:pro", /coinbase takes no argument/],
    ["kraken:x", /kraken takes no argument/],
    ["mempool", /mempool needs a base URL/],
    ["mempool:", /mempool needs a base URL/],
    ["mempool:mempool.space", /not a valid URL/],
    ["mempool:ftp://mempool.space", /must use http or https/],
    ["mempool:https://mempool.space/?x=1", /query or fragment/],
    ["mempool:https://user:pw@mempool.space", /credentials/],
    ["coinbase,kraken,coinbase", /"coinbase" is listed twice/],
    ["mempool:https://mempool.space,mempool:https://MEMPOOL.space/", /listed twice/],
    ["fixed", /fixed needs prices/],
    ["fixed:USD", /not CUR=price/],
    ["fixed:JPY=9000000", /unknown currency "JPY"/],
    ["fixed:USD=60000;USD=61000", /USD twice/],
    ["fixed:USD=-5", /not a positive decimal/],
    ["fixed:USD=0", /not a positive decimal/],
    ["fixed:USD=6e4", /not a positive decimal/],
    ["fixed:USD=60000;", /empty entry/],
    ["fixed:USD=60000,EUR=55000", /unknown price source "EUR=55000"/],
  ])("%j is refused: %s", (text, want) => {
    const r = parsePriceSources(text);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toMatch(want);
      expect(r.error).toMatch(/^PRICE_SOURCES/);
    }
  });
});

describe("PRICE_SOURCES errors never echo credentials", () => {
  test.each([
    "mempool:https://user:hunter2secret@mempool.example",
    "mempool:https://ghp_hunter2secret@mempool.example",
    "mempool:https://mempool.example/?apikey=hunter2secret",
    "mempool:https://user:hunter2secret@mempool.example/?x=1",
    "mempool:ftp://user:hunter2secret@mempool.example",
    "coinbase,,mempool:https://user:hunter2secret@mempool.example",
    "mempool:https://user:hunter2secret@mempool.example,mempool:https://user:hunter2secret@mempool.example",
  ])("%s", (text) => {
    const r = parsePriceSources(text);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toMatch(/^PRICE_SOURCES/);
      expect(r.error).not.toContain("hunter2secret");
    }
    const c = priceConfigFromEnv({ PRICE_SOURCES: text });
    expect(!c.ok && c.error).not.toContain("hunter2secret");
  });
});

describe("parseMaxSpread", () => {
  test.each<[string | undefined, string]>([
    [undefined, "0.02"],
    ["2%", "0.02"],
    [" 2 % ", "0.02"],
    ["0.02", "0.02"],
    ["2.5%", "0.025"],
    ["0.5%", "0.005"],
    ["0", "0"],
    ["0%", "0"],
    ["50%", "0.5"],
    ["0.5", "0.5"],
  ])("%j → %s", (text, want) => {
    const r = parseMaxSpread(text);
    if (!r.ok) throw new Error(r.error);
    expect(decimalToString(r.maxSpread)).toBe(want);
  });

  test.each<[string, RegExp]>([
    ["2", /ambiguous.*"2%"/],
    ["1", /ambiguous/],
    ["51%", /between 0% and 50%/],
    ["0.6", /60%; it must be between/],
    ["-2%", /not a percentage/],
    ["two percent", /not a percentage/],
    ["", /not a percentage/],
    ["%", /not a percentage/],
    ["2e-2", /not a percentage/],
  ])("%j is refused", (text, want) => {
    const r = parseMaxSpread(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(want);
  });
});

describe("priceConfigFromEnv", () => {
  test("defaults", () => {
    const r = priceConfigFromEnv({});
    if (!r.ok) throw new Error(r.error);
    expect(ids(r.config.sources)).toEqual(["coinbase", "kraken", "mempool:https://mempool.space"]);
    expect(decimalToString(r.config.maxSpread)).toBe("0.02");
  });

  test("reads both variables", () => {
    const r = priceConfigFromEnv({ PRICE_SOURCES: "fixed:USD=60000", PRICE_MAX_SPREAD: "1%" });
    if (!r.ok) throw new Error(r.error);
    expect(ids(r.config.sources)).toEqual(["fixed"]);
    expect(decimalToString(r.config.maxSpread)).toBe("0.01");
  });

  test("reports the bad variable", () => {
    expect(priceConfigFromEnv({ PRICE_SOURCES: "bitstamp" })).toEqual({ ok: false, error: expect.stringMatching(/PRICE_SOURCES/) });
    expect(priceConfigFromEnv({ PRICE_MAX_SPREAD: "5" })).toEqual({ ok: false, error: expect.stringMatching(/PRICE_MAX_SPREAD/) });
  });

  test("off mainnet one fresh source is enough unless PRICE_MIN_SOURCES says more", () => {
    for (const net of [undefined, "testnet", "signet", "regtest"]) {
      const r = priceConfigFromEnv({ BITCOIN_NETWORK: net });
      expect(r.ok && r.config.minSources).toBe(1);
    }
    const r = priceConfigFromEnv({ BITCOIN_NETWORK: "regtest", PRICE_MIN_SOURCES: "3" });
    expect(r.ok && r.config.minSources).toBe(3);
    expect(priceConfigFromEnv({ BITCOIN_NETWORK: "regtest", PRICE_SOURCES: "fixed:USD=60000" }).ok).toBe(true);
  });

  test("on mainnet two sources must agree by default, and fixed prices are refused", () => {
    const r = priceConfigFromEnv({ BITCOIN_NETWORK: "bitcoin" });
    expect(r.ok && r.config.minSources).toBe(2);
    expect(priceConfigFromEnv({ BITCOIN_NETWORK: " Bitcoin ", PRICE_MIN_SOURCES: "3" })).toMatchObject({ ok: true, config: { minSources: 3 } });
    expect(priceConfigFromEnv({ BITCOIN_NETWORK: "bitcoin", PRICE_SOURCES: "coinbase,kraken,fixed:USD=60000" })).toEqual({
      ok: false,
      error: "PRICE_SOURCES: fixed prices are for development and are refused on BITCOIN_NETWORK=bitcoin; list market sources (coinbase, kraken, mempool:<base-url>)",
    });
    expect(priceConfigFromEnv({ BITCOIN_NETWORK: "bitcoin", PRICE_MIN_SOURCES: "1" })).toEqual({
      ok: false,
      error: "PRICE_MIN_SOURCES must be at least 2 on BITCOIN_NETWORK=bitcoin (prices need two sources that agree), not 1",
    });
    expect(priceConfigFromEnv({ BITCOIN_NETWORK: "bitcoin", PRICE_SOURCES: "coinbase" })).toEqual({
      ok: false,
      error: "PRICE_MIN_SOURCES is 2 but PRICE_SOURCES lists 1 source; list more sources",
    });
  });

  test.each(["0", "-1", "two", "1.5", ""])("PRICE_MIN_SOURCES %j is refused", (v) => {
    const r = priceConfigFromEnv({ PRICE_MIN_SOURCES: v });
    if (v === "") {
      expect(r.ok && r.config.minSources).toBe(1); // blank is unset
      return;
    }
    expect(r).toEqual({ ok: false, error: `PRICE_MIN_SOURCES must be a whole number of at least 1, not "${v}"` });
  });
});

describe("the price configuration is checked with every other setting at start", () => {
  test("fixed prices on mainnet are among loadSettings's errors", () => {
    expect(() => loadSettings({ BITCOIN_NETWORK: "bitcoin", PRICE_SOURCES: "fixed:USD=60000", PORT: "x" })).toThrow(
      /Invalid environment:\n- PORT must be a port number[^]*\n- PRICE_SOURCES: fixed prices are for development and are refused on BITCOIN_NETWORK=bitcoin/,
    );
    expect(() => loadSettings({ BITCOIN_NETWORK: "bitcoin", PRICE_MIN_SOURCES: "1" })).toThrow(/PRICE_MIN_SOURCES must be at least 2/);
    expect(() => loadSettings({ BITCOIN_NETWORK: "regtest", PRICE_SOURCES: "fixed:USD=60000" })).not.toThrow();
  });
});
