import nock from "nock";
import { type Decimal, decimalToString, parseDecimal } from "../../src/price/decimal.js";
import { PriceOracle, type PriceResult } from "../../src/price/oracle.js";
import { parsePriceSources, type PriceSource } from "../../src/price/sources.js";
import { fiatToSats } from "../../src/price/convert.js";
import { openPriceOracle } from "../../src/payouts/setup.js";

const T0 = Date.UTC(2024, 5, 1, 12, 0, 0);
const MIN = 60_000;
let clock = T0;
const now = () => clock;
const TWO_PERCENT: Decimal = { coef: 2n, scale: 2 };

beforeAll(() => nock.disableNetConnect());
beforeEach(() => {
  clock = T0;
});
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.abortPendingRequests();
  nock.cleanAll();
  expect(pending).toEqual([]);
});
afterAll(() => nock.enableNetConnect());

function sources(text: string): PriceSource[] {
  const r = parsePriceSources(text);
  if (!r.ok) throw new Error(r.error);
  return r.sources;
}
const ALL = "coinbase,kraken,mempool:https://mempool.space";

function oracle(text = ALL, extra: Partial<ConstructorParameters<typeof PriceOracle>[0]> = {}) {
  return new PriceOracle({ sources: sources(text), maxSpread: TWO_PERCENT, now, ...extra });
}

const cb = (amount: string) =>
  nock("https://api.coinbase.com")
    .get("/v2/prices/BTC-USD/spot")
    .reply(200, { data: { amount, base: "BTC", currency: "USD" } });
const cbDown = () => nock("https://api.coinbase.com").get("/v2/prices/BTC-USD/spot").reply(502, "Bad Gateway");
const kr = (last: string) =>
  nock("https://api.kraken.com")
    .get("/0/public/Ticker")
    .query({ pair: "XBTUSD" })
    .reply(200, { error: [], result: { XXBTZUSD: { a: [last, "1", "1.000"], b: [last, "1", "1.000"], c: [last, "0.001"], o: last } } });
const krDown = () =>
  nock("https://api.kraken.com").get("/0/public/Ticker").query({ pair: "XBTUSD" }).reply(200, { error: ["EService:Unavailable"] });
const mp = (usd: string, timeSec = Math.floor(clock / 1000) - 30) =>
  nock("https://mempool.space")
    .get("/api/v1/prices")
    .reply(200, `{"time":${timeSec},"USD":${usd},"EUR":61800,"GBP":52700}`);
const mpDown = () => nock("https://mempool.space").get("/api/v1/prices").replyWithError("connect ECONNREFUSED");
// Never answers within a test; the oracle in such tests has a short timeout and afterEach aborts the reply.
const mpSlow = () => nock("https://mempool.space").get("/api/v1/prices").delay(60_000).reply(200, { time: 1, USD: 1 });

function ok(r: PriceResult) {
  if (!r.ok) throw new Error(`refused: ${r.reason}`);
  return r;
}
function refused(r: PriceResult) {
  if (r.ok) throw new Error(`priced at ${r.rateText}`);
  return r;
}

test("the median of three agreeing sources", async () => {
  cb("60010.55");
  kr("60000.10000");
  mp("60100");
  const r = ok(await oracle().price("USD"));
  expect(r.rateText).toBe("60010.55");
  expect(r.fresh.map((q) => [q.source, q.priceText])).toEqual([
    ["kraken", "60000.1"],
    ["coinbase", "60010.55"],
    ["mempool:https://mempool.space", "60100"],
  ]);
  expect(r.partial).toBe(false);
  expect(r.failures).toEqual([]);
  expect(r.configured).toEqual(["coinbase", "kraken", "mempool:https://mempool.space"]);
  expect(r.at).toEqual(new Date(T0));
  expect(r.fresh.find((q) => q.source.startsWith("mempool"))!.at).toEqual(new Date(T0 - 30_000));
});

test("the median of two is their exact mean", async () => {
  cb("60000.01");
  kr("60000.02");
  const r = ok(await oracle("coinbase,kraken").price("USD"));
  expect(r.rateText).toBe("60000.015");
  expect(r.rate).toEqual(parseDecimal("60000.015"));
});

test("refuses two sources that differ by more than PRICE_MAX_SPREAD", async () => {
  cb("60000");
  kr("62000.00000");
  const r = refused(await oracle("coinbase,kraken").price("USD"));
  expect(r.refusal).toBe("spread");
  expect(r.reason).toBe("coinbase 60000.00 and kraken 62000.00 USD differ by 3.3%, more than PRICE_MAX_SPREAD 2%");
  expect(r.fresh).toHaveLength(2);
});

test("with three sources the outliers are named against the median", async () => {
  cb("60500");
  kr("62000");
  mp("60000");
  const r = refused(await oracle().price("USD"));
  // (62000 − 60000) / 60500 = 3.31%
  expect(r.reason).toBe(
    "mempool:https://mempool.space 60000.00 and kraken 62000.00 USD differ by 3.3%, more than PRICE_MAX_SPREAD 2%",
  );
});

test("a spread of exactly PRICE_MAX_SPREAD is accepted", async () => {
  cb("99000");
  kr("101000");
  const r = ok(await oracle("coinbase,kraken").price("USD"));
  expect(r.rateText).toBe("100000");
});

test("a spread a hair above the limit is refused and shown with enough digits", async () => {
  cb("99000");
  kr("101000.01");
  const r = refused(await oracle("coinbase,kraken").price("USD"));
  expect(r.reason).toBe(
    "coinbase 99000.00 and kraken 101000.01 USD differ by 2.00001%, more than PRICE_MAX_SPREAD 2%",
  );
});

test("a configured spread of 2.5% is honoured and named", async () => {
  cb("60000");
  kr("61400");
  const o = oracle("coinbase,kraken", { maxSpread: { coef: 25n, scale: 3 } });
  ok(await o.price("USD")); // 1400 / 60700 = 2.31%
  cb("60000");
  kr("61600");
  expect(refused(await o.price("USD")).reason).toMatch(/differ by 2.6%, more than PRICE_MAX_SPREAD 2.5%$/);
});

test("one of three answering is enough, and says so", async () => {
  cbDown();
  krDown();
  mp("60100");
  const r = ok(await oracle().price("USD"));
  expect(r.rateText).toBe("60100");
  expect(r.partial).toBe(true);
  expect(r.fresh.map((q) => q.source)).toEqual(["mempool:https://mempool.space"]);
  expect(r.failures).toEqual([
    { source: "coinbase", error: "HTTP 502" },
    { source: "kraken", error: "kraken error: EService:Unavailable" },
  ]);
});

test("with minSources, too few fresh quotes is a refusal naming what answered", async () => {
  cbDown();
  kr("60000");
  mpDown();
  const r = refused(await oracle(ALL, { minSources: 2 }).price("USD"));
  expect(r.refusal).toBe("too-few-sources");
  expect(r.reason).toBe(
    "only 1 of the 2 price sources PRICE_MIN_SOURCES asks for gave a fresh USD price (kraken); " +
      "coinbase: HTTP 502; mempool:https://mempool.space: request failed: connect ECONNREFUSED",
  );
  expect(r.fresh.map((q) => q.source)).toEqual(["kraken"]);
});

test("with minSources, enough agreeing sources price as usual", async () => {
  cb("60000");
  kr("60100");
  mpDown();
  const r = ok(await oracle(ALL, { minSources: 2 }).price("USD"));
  expect(r.rateText).toBe("60050");
  expect(r.partial).toBe(true);
});

test("with minSources, enough sources that disagree are still refused", async () => {
  cb("60000");
  kr("65000");
  mpDown();
  expect(refused(await oracle(ALL, { minSources: 2 }).price("USD")).refusal).toBe("spread");
});

test("the oracle the app opens on mainnet needs two agreeing sources and refuses fixed prices at start", async () => {
  expect(() => openPriceOracle({ BITCOIN_NETWORK: "bitcoin", PRICE_SOURCES: "fixed:USD=60000" })).toThrow(
    /^Invalid price configuration: PRICE_SOURCES: fixed prices are for development and are refused on BITCOIN_NETWORK=bitcoin/,
  );
  cbDown();
  kr("60000");
  mpDown();
  const mainnet = openPriceOracle({ BITCOIN_NETWORK: "bitcoin" });
  expect(refused(await mainnet.price("USD")).refusal).toBe("too-few-sources");
  cbDown();
  kr("60000");
  mpDown();
  expect(ok(await openPriceOracle({ BITCOIN_NETWORK: "testnet" }).price("USD")).rateText).toBe("60000");
});

test("minSources outside 1…the number of sources is a programming error", () => {
  expect(() => oracle("coinbase,kraken", { minSources: 3 })).toThrow(RangeError);
  expect(() => oracle("coinbase,kraken", { minSources: 0 })).toThrow(RangeError);
});

test("a slow source does not hold up the others", async () => {
  cb("60000");
  kr("60050");
  mpSlow();
  const t0 = Date.now();
  const r = ok(await oracle(ALL, { timeoutMs: 1500 }).price("USD"));
  expect(Date.now() - t0).toBeLessThan(10_000);
  expect(r.rateText).toBe("60025");
  expect(r.failures).toEqual([{ source: "mempool:https://mempool.space", error: "timed out after 1500 ms" }]);
});

test("nothing answering is a refusal that says why per source", async () => {
  cbDown();
  krDown();
  mpSlow();
  const r = refused(await oracle(ALL, { timeoutMs: 1500 }).price("USD"));
  expect(r.refusal).toBe("no-fresh-price");
  expect(r.reason).toBe(
    "no fresh USD price (none within 10 min): coinbase: HTTP 502; kraken: kraken error: EService:Unavailable; " +
      "mempool:https://mempool.space: timed out after 1500 ms",
  );
});

test("a garbage answer is a failed source, never a price", async () => {
  cb("0.00");
  kr("-60000");
  nock("https://mempool.space").get("/api/v1/prices").reply(200, `{"time":${T0 / 1000},"USD":-1}`);
  const r = refused(await oracle().price("USD"));
  expect(r.failures.map((f) => f.source)).toEqual(["coinbase", "kraken", "mempool:https://mempool.space"]);
  expect(r.fresh).toEqual([]);
});

test("last good quotes are used while fresh, then the oracle refuses", async () => {
  const o = oracle();
  cb("60000");
  kr("60010");
  mp("60020", T0 / 1000);
  expect(ok(await o.price("USD")).rateText).toBe("60010");

  clock = T0 + 9 * MIN;
  cbDown();
  krDown();
  mpDown();
  const later = ok(await o.price("USD"));
  expect(later.rateText).toBe("60010");
  expect(later.failures).toHaveLength(3);
  expect(later.fresh.map((q) => q.at.getTime())).toEqual([T0, T0, T0]);

  clock = T0 + 10 * MIN; // exactly 10 minutes old still counts
  cbDown();
  krDown();
  mpDown();
  ok(await o.price("USD"));

  clock = T0 + 11 * MIN;
  cbDown();
  krDown();
  mpDown();
  const r = refused(await o.price("USD"));
  expect(r.stale.map((q) => q.source)).toEqual(["coinbase", "kraken", "mempool:https://mempool.space"]);
  expect(r.reason).toBe(
    "no fresh USD price (none within 10 min): coinbase: HTTP 502 (last good quote 11 min old); " +
      "kraken: kraken error: EService:Unavailable (last good quote 11 min old); " +
      "mempool:https://mempool.space: request failed: connect ECONNREFUSED (last good quote 11 min old)",
  );
});

test("a mempool answer with an old timestamp is stale", async () => {
  cbDown();
  krDown();
  mp("60000", T0 / 1000 - 15 * 60);
  const r = refused(await oracle().price("USD"));
  expect(r.reason).toMatch(/mempool:https:\/\/mempool.space: last good quote 15 min old$/);
  expect(r.failures.map((f) => f.source)).toEqual(["coinbase", "kraken"]);
});

test("a stale quote does not take part in the median or the spread", async () => {
  const o = oracle();
  cb("60000");
  krDown();
  mpDown();
  ok(await o.price("USD"));

  clock = T0 + 20 * MIN;
  cbDown();
  kr("70000");
  mp("70100");
  const r = ok(await o.price("USD"));
  expect(r.rateText).toBe("70050");
  expect(r.stale.map((q) => [q.source, q.priceText])).toEqual([["coinbase", "60000"]]);
});

test("an older mempool answer does not replace a newer one", async () => {
  const o = oracle("mempool:https://mempool.space");
  mp("60000", T0 / 1000);
  ok(await o.price("USD"));
  clock = T0 + MIN;
  mp("59000", T0 / 1000 - 60);
  expect(ok(await o.price("USD")).rateText).toBe("60000");
  expect(o.lastQuote("mempool:https://mempool.space", "USD")!.at).toEqual(new Date(T0));
});

test("the freshness window is configurable", async () => {
  const o = oracle("coinbase", { maxAgeMs: MIN });
  cb("60000");
  ok(await o.price("USD"));
  clock = T0 + 2 * MIN;
  cbDown();
  expect(refused(await o.price("USD")).reason).toBe(
    "no fresh USD price (none within 1 min): coinbase: HTTP 502 (last good quote 2 min old)",
  );
});

test("quotes are kept per currency", async () => {
  const o = oracle("coinbase");
  cb("60000");
  ok(await o.price("USD"));
  nock("https://api.coinbase.com").get("/v2/prices/BTC-EUR/spot").reply(500);
  expect(refused(await o.price("EUR")).reason).toBe("no fresh EUR price (none within 10 min): coinbase: HTTP 500");
});

test("a lone fixed source prices every configured currency", async () => {
  const o = oracle("fixed:USD=60000;EUR=55000;GBP=48000");
  const r = ok(await o.price("GBP"));
  expect(r.rateText).toBe("48000");
  expect(r.partial).toBe(false);
  // £500 at 48000 £/BTC
  expect(fiatToSats(50_000n, "GBP", r.rateText)).toBe(1_041_667n);
  expect(fiatToSats(50_000n, "GBP", r.rate)).toBe(1_041_667n);
});

test("a zero spread accepts only identical quotes", async () => {
  const o = oracle("coinbase,fixed:USD=60000", { maxSpread: { coef: 0n, scale: 0 } });
  cb("60000.00");
  expect(ok(await o.price("USD")).rateText).toBe("60000");
  cb("60000.01");
  expect(refused(await o.price("USD")).refusal).toBe("spread");
});

test("the rate of a successful answer round-trips through its text", async () => {
  cb("61234.56");
  const r = ok(await oracle("coinbase").price("USD"));
  expect(decimalToString(parseDecimal(r.rateText)!)).toBe(r.rateText);
});

test("no sources is a programming error", () => {
  expect(() => new PriceOracle({ sources: [], maxSpread: TWO_PERCENT })).toThrow(RangeError);
});
