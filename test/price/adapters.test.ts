import { createServer } from "node:net";
import nock from "nock";
import { decimalToString } from "../../src/price/decimal.js";
import { fetchQuote, type FetchQuoteResult } from "../../src/price/adapters.js";
import type { Currency, PriceSource } from "../../src/price/sources.js";

const NOW = Date.UTC(2024, 5, 1, 12, 0, 0);
const now = () => NOW;
const coinbase: PriceSource = { kind: "coinbase", id: "coinbase" };
const kraken: PriceSource = { kind: "kraken", id: "kraken" };
const mempool: PriceSource = { kind: "mempool", id: "mempool:https://mempool.space", baseUrl: "https://mempool.space" };

beforeAll(() => nock.disableNetConnect());
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.abortPendingRequests();
  nock.cleanAll();
  expect(pending).toEqual([]);
});
afterAll(() => nock.enableNetConnect());

function price(r: FetchQuoteResult): string {
  if (!r.ok) throw new Error(`expected a price, got: ${r.error}`);
  return decimalToString(r.price);
}
function error(r: FetchQuoteResult): string {
  if (r.ok) throw new Error(`expected a failure, got ${decimalToString(r.price)}`);
  return r.error;
}

describe("coinbase", () => {
  const spot = (c: string) => nock("https://api.coinbase.com").get(`/v2/prices/BTC-${c}/spot`);

  test.each<[Currency, string]>([
    ["USD", "67012.34"],
    ["EUR", "61800.5"],
    ["GBP", "52700.01"],
  ])("reads the %s spot price", async (cur, amount) => {
    spot(cur).reply(200, { data: { amount, base: "BTC", currency: cur } });
    const r = await fetchQuote(coinbase, cur, { now });
    expect(price(r)).toBe(amount);
    expect(r.ok && r.at).toBe(NOW);
  });

  test("sends a JSON accept header", async () => {
    nock("https://api.coinbase.com", { reqheaders: { accept: "application/json" } })
      .get("/v2/prices/BTC-USD/spot")
      .reply(200, { data: { amount: "67012.34", base: "BTC", currency: "USD" } });
    expect(price(await fetchQuote(coinbase, "USD", { now }))).toBe("67012.34");
  });

  test.each<[string, unknown, RegExp]>([
    ["a number instead of a string", { data: { amount: 67012.34, base: "BTC", currency: "USD" } }, /data.amount is not a string/],
    ["the wrong currency", { data: { amount: "61800.00", base: "BTC", currency: "EUR" } }, /currency is "EUR", not "USD"/],
    ["the wrong base", { data: { amount: "3500.00", base: "ETH", currency: "USD" } }, /base is "ETH"/],
    ["a negative price", { data: { amount: "-67012.34", base: "BTC", currency: "USD" } }, /is not a decimal/],
    ["a zero price", { data: { amount: "0.00", base: "BTC", currency: "USD" } }, /is zero/],
    ["an exponent", { data: { amount: "6.7e4", base: "BTC", currency: "USD" } }, /is not a decimal/],
    ["NaN", { data: { amount: "NaN", base: "BTC", currency: "USD" } }, /is not a decimal/],
    ["an absurdly low price", { data: { amount: "67.01", base: "BTC", currency: "USD" } }, /implausible price 67.01 USD/],
    ["an absurdly high price", { data: { amount: "670120000000", base: "BTC", currency: "USD" } }, /implausible price/],
    ["an error document", { errors: [{ id: "not_found", message: "Invalid currency" }] }, /no data object/],
    ["an array", [1, 2], /no data object/],
  ])("refuses %s", async (_what, body, want) => {
    spot("USD").reply(200, body as nock.Body);
    expect(error(await fetchQuote(coinbase, "USD", { now }))).toMatch(want);
  });

  test("refuses an HTTP error", async () => {
    spot("USD").reply(503, "upstream unavailable");
    expect(error(await fetchQuote(coinbase, "USD", { now }))).toBe("HTTP 503");
  });

  test("refuses a body that is not JSON", async () => {
    spot("USD").reply(200, "<html>rate limited</html>");
    expect(error(await fetchQuote(coinbase, "USD", { now }))).toBe("malformed answer: not JSON");
  });

  test("refuses an oversized body", async () => {
    spot("USD").reply(200, JSON.stringify({ data: { amount: "67012.34", base: "BTC", currency: "USD", pad: "x".repeat(70_000) } }));
    expect(error(await fetchQuote(coinbase, "USD", { now }))).toMatch(/body of \d+ characters/);
  });

  test("refuses a declared oversized body without reading it", async () => {
    spot("USD").reply(200, "{}", { "content-length": "10000000" });
    expect(error(await fetchQuote(coinbase, "USD", { now }))).toBe("malformed answer: body of 10000000 bytes");
  });

  test("times out", async () => {
    spot("USD").delay(60_000).reply(200, { data: { amount: "67012.34", base: "BTC", currency: "USD" } });
    const t0 = Date.now();
    expect(error(await fetchQuote(coinbase, "USD", { now, timeoutMs: 100 }))).toBe("timed out after 100 ms");
    expect(Date.now() - t0).toBeLessThan(10_000); // did not wait for the reply
  });

  test("reports a connection error", async () => {
    spot("USD").replyWithError("ECONNRESET");
    expect(error(await fetchQuote(coinbase, "USD", { now }))).toMatch(/^request failed: .*ECONNRESET/);
  });
});

describe("kraken", () => {
  const ticker = (pairQuery: string) => nock("https://api.kraken.com").get("/0/public/Ticker").query({ pair: pairQuery });
  const answer = (pair: string, last: string) => ({
    error: [],
    result: {
      [pair]: {
        a: ["67012.20000", "1", "1.000"],
        b: ["67012.10000", "2", "2.000"],
        c: [last, "0.00150000"],
        v: ["1234.56789012", "2345.67890123"],
        p: ["66800.12345", "66750.54321"],
        t: [12345, 23456],
        l: ["66000.00000", "65900.00000"],
        h: ["67500.00000", "67600.00000"],
        o: "66900.00000",
      },
    },
  });

  test.each<[Currency, string, string, string]>([
    ["USD", "XBTUSD", "XXBTZUSD", "67012.10000"],
    ["EUR", "XBTEUR", "XXBTZEUR", "61800.00000"],
    ["GBP", "XBTGBP", "XXBTZGBP", "52700.90000"],
  ])("reads the last %s trade from pair %s (answered as %s)", async (cur, q, pair, last) => {
    ticker(q).reply(200, answer(pair, last));
    const r = await fetchQuote(kraken, cur, { now });
    expect(price(r)).toBe(last.replace(/0+$/, "").replace(/\.$/, ""));
    expect(r.ok && r.at).toBe(NOW);
  });

  test.each<[string, unknown, RegExp]>([
    ["an API error", { error: ["EQuery:Unknown asset pair"] }, /kraken error: EQuery:Unknown asset pair/],
    ["the wrong pair", answer("XETHZUSD", "3500.00000"), /no XXBTZUSD ticker/],
    ["no error array", { result: answer("XXBTZUSD", "67012.1").result }, /no error array/],
    ["no result", { error: [] }, /no result object/],
    ["a last trade that is not an array", { error: [], result: { XXBTZUSD: { c: "67012.1" } } }, /c is not a \[price, volume\] array/],
    ["a numeric price", { error: [], result: { XXBTZUSD: { c: [67012.1, "1"] } } }, /c\[0\] is not a string/],
    ["a zero price", answer("XXBTZUSD", "0.00000"), /is zero/],
    ["a negative price", answer("XXBTZUSD", "-1.00000"), /is not a decimal/],
    ["an absurd price", answer("XXBTZUSD", "1.00000"), /implausible price 1 USD/],
  ])("refuses %s", async (_what, body, want) => {
    ticker("XBTUSD").reply(200, body as nock.Body);
    expect(error(await fetchQuote(kraken, "USD", { now }))).toMatch(want);
  });

  test("times out", async () => {
    ticker("XBTUSD").delay(60_000).reply(200, answer("XXBTZUSD", "67012.10000"));
    expect(error(await fetchQuote(kraken, "USD", { now, timeoutMs: 50 }))).toBe("timed out after 50 ms");
  });
});

describe("mempool", () => {
  const prices = (base = "https://mempool.space", path = "/api/v1/prices") => nock(base).get(path);
  const T = NOW / 1000 - 120;
  const answer = { time: T, USD: 67012, EUR: 61800.5, GBP: 52700, CAD: 91500, CHF: 60600, AUD: 100800, JPY: 10500000 };

  test.each<[Currency, string]>([
    ["USD", "67012"],
    ["EUR", "61800.5"],
    ["GBP", "52700"],
  ])("reads %s and its own timestamp", async (cur, want) => {
    prices().reply(200, answer);
    const r = await fetchQuote(mempool, cur, { now });
    expect(price(r)).toBe(want);
    expect(r.ok && r.at).toBe(T * 1000);
  });

  test("uses the configured base URL with a path", async () => {
    prices("http://umbrel.local:3006", "/mempool/api/v1/prices").reply(200, answer);
    const src: PriceSource = { kind: "mempool", id: "mempool:http://umbrel.local:3006/mempool", baseUrl: "http://umbrel.local:3006/mempool" };
    expect(price(await fetchQuote(src, "USD", { now }))).toBe("67012");
  });

  test("keeps the exact digits of a fractional JSON number", async () => {
    prices().reply(200, '{"time":' + T + ',"USD":67012.37,"EUR":61800.1,"GBP":52700.03}');
    expect(price(await fetchQuote(mempool, "USD", { now }))).toBe("67012.37");
  });

  test("keeps digits a double cannot hold", async () => {
    // JSON.parse gives 67012.123456789; the server wrote more.
    prices().reply(200, '{"time":' + T + ',"USD":67012.123456789012345}');
    expect(price(await fetchQuote(mempool, "USD", { now }))).toBe("67012.123456789012345");
  });

  test("finds the literal despite whitespace and key order", async () => {
    prices().reply(200, '{\n  "EUR": 61800.5,\n  "USD" : 67012.50,\n  "time": ' + T + "\n}");
    expect(price(await fetchQuote(mempool, "USD", { now }))).toBe("67012.5");
  });

  test("a timestamp slightly ahead of our clock is clamped to now", async () => {
    prices().reply(200, { ...answer, time: NOW / 1000 + 30 });
    const r = await fetchQuote(mempool, "USD", { now });
    expect(r.ok && r.at).toBe(NOW);
  });

  test.each<[string, string, RegExp]>([
    ["-1 for a missing rate", `{"time":${T},"USD":-1}`, /USD is -1/],
    ["zero", `{"time":${T},"USD":0}`, /USD is 0/],
    ["a string price", `{"time":${T},"USD":"67012"}`, /USD is not a number/],
    ["a missing currency", `{"time":${T},"EUR":61800}`, /USD is not a number/],
    ["an exponent-sized number", `{"time":${T},"USD":1e21}`, /is not a plain decimal/],
    ["a tiny number", `{"time":${T},"USD":1e-7}`, /is not a plain decimal/],
    ["a duplicated key", `{"time":${T},"USD":1,"USD":67012}`, /cannot find the one USD number/],
    ["a nested copy of the key", `{"time":${T},"USD":67012,"old":{"USD":60000}}`, /cannot find the one USD number/],
    ["an absurd price", `{"time":${T},"USD":99999999999}`, /implausible price 99999999999 USD/],
    ["no time", `{"USD":67012}`, /time is not a positive integer/],
    ["a fractional time", `{"time":${T}.5,"USD":67012}`, /time is not a positive integer/],
    ["a time in milliseconds", `{"time":${NOW},"USD":67012}`, /is in the future/],
    ["a time far in the future", `{"time":${NOW / 1000 + 3600},"USD":67012}`, /is in the future/],
    ["null", `null`, /not an object/],
  ])("refuses %s", async (_what, body, want) => {
    prices().reply(200, body, { "content-type": "application/json" });
    expect(error(await fetchQuote(mempool, "USD", { now }))).toMatch(want);
  });

  test("refuses an HTTP error", async () => {
    prices().reply(429, { error: "rate limited" });
    expect(error(await fetchQuote(mempool, "USD", { now }))).toBe("HTTP 429");
  });

  test("times out", async () => {
    prices().delay(60_000).reply(200, answer);
    expect(error(await fetchQuote(mempool, "USD", { now, timeoutMs: 50 }))).toBe("timed out after 50 ms");
  });
});

describe("fixed", () => {
  const fixed: PriceSource = { kind: "fixed", id: "fixed", prices: { USD: { coef: 60000n, scale: 0 } } };
  test("answers without a request, timed now", async () => {
    const r = await fetchQuote(fixed, "USD", { now });
    expect(price(r)).toBe("60000");
    expect(r.ok && r.at).toBe(NOW);
  });
  test("has no price for a currency it was not given", async () => {
    expect(error(await fetchQuote(fixed, "EUR", { now }))).toBe("no fixed EUR price configured");
  });
  test("is still checked for plausibility", async () => {
    const silly: PriceSource = { kind: "fixed", id: "fixed", prices: { USD: { coef: 5n, scale: 0 } } };
    expect(error(await fetchQuote(silly, "USD", { now }))).toMatch(/implausible price 5 USD/);
  });
});

describe("errors never echo credentials", () => {
  /** A loopback port nothing listens on. */
  async function closedPort(): Promise<number> {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    const port = (srv.address() as { port: number }).port;
    await new Promise<void>((r) => srv.close(() => r()));
    return port;
  }
  beforeEach(() => nock.enableNetConnect("127.0.0.1"));
  afterEach(() => nock.disableNetConnect());

  test.each(["http://user:hunter2secret@127.0.0.1:PORT", "http://127.0.0.1:PORT/x?token=hunter2secret&y=1"])(
    "a mempool source at %s",
    async (base) => {
      const baseUrl = base.replace("PORT", String(await closedPort()));
      const source: PriceSource = { kind: "mempool", id: "mempool:private", baseUrl };
      const e = error(await fetchQuote(source, "USD", { now, timeoutMs: 2000 }));
      expect(e).toMatch(/^request failed/);
      expect(e).not.toContain("hunter2secret");
    },
  );
});
