import { inspect } from "node:util";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { EsploraBackend } from "../../src/bitcoin/esplora.js";
import { ChainRequestError, ChainUnavailableError, TxRejectedError, estimateFor } from "../../src/bitcoin/backend.js";

/** A loopback server answering from a queue of canned responses, recording what it was asked. */
async function scripted(responses: Array<[number, string]>) {
  const seen: Array<{ method: string; url: string; body: string }> = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      seen.push({ method: req.method!, url: req.url!, body });
      const [status, text] = responses.shift() ?? [500, "out of script"];
      res.writeHead(status, { "content-type": "text/plain" });
      res.end(text);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    seen,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

const TXID = "a".repeat(64);
const fast = { retries: 3, backoffMs: 1, maxBackoffMs: 2 };

describe("EsploraBackend", () => {
  it("retries 5xx and 429 with backoff, then succeeds", async () => {
    const s = await scripted([[503, "busy"], [429, "slow down"], [502, "bad gateway"], [200, "812345\n"]]);
    const delays: number[] = [];
    const b = new EsploraBackend({ url: s.url, retries: 3, backoffMs: 8, sleep: async (ms) => void delays.push(ms) });
    expect(await b.getTipHeight()).toBe(812345);
    expect(s.seen).toHaveLength(4);
    // Exponential with jitter: each delay within [d/2, d] of 8, 16, 32.
    expect(delays[0]).toBeGreaterThanOrEqual(4);
    expect(delays[0]).toBeLessThanOrEqual(8);
    expect(delays[2]).toBeGreaterThanOrEqual(16);
    expect(delays[2]).toBeLessThanOrEqual(32);
    await s.close();
  });

  it("gives up with ChainUnavailableError after the retries", async () => {
    const s = await scripted([[500, "x"], [500, "x"], [500, "x"], [500, "x"], [200, "1"]]);
    const b = new EsploraBackend({ url: s.url, ...fast });
    const err = await b.getTipHeight().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChainUnavailableError);
    expect((err as ChainUnavailableError).status).toBe(500);
    expect((err as Error).message).toMatch(/failed 4 times \(last: HTTP 500\)/);
    expect(s.seen).toHaveLength(4);
    await s.close();
  });

  it("turns connection failures into ChainUnavailableError", async () => {
    const s = await scripted([]);
    await s.close(); // nothing listens on this port any more
    const b = new EsploraBackend({ url: s.url, ...fast });
    await expect(b.getFeeEstimates()).rejects.toBeInstanceOf(ChainUnavailableError);
  });

  it("posts the raw hex and carries the node's reason on 400", async () => {
    const s = await scripted([
      [200, TXID],
      [400, 'sendrawtransaction RPC error: {"code":-26,"message":"min relay fee not met, 100 < 141"}'],
    ]);
    const b = new EsploraBackend({ url: s.url, ...fast });
    expect(await b.broadcast("0200beef")).toBe(TXID);
    expect(s.seen[0]).toMatchObject({ method: "POST", url: "/tx", body: "0200beef" });
    const err = await b.broadcast("0200beef").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TxRejectedError);
    expect((err as TxRejectedError).reason).toBe("min relay fee not met, 100 < 141");
    expect(s.seen).toHaveLength(2); // a rejection is not retried
    await s.close();
  });

  it("parses the Esplora shapes", async () => {
    const s = await scripted([
      [200, JSON.stringify([{ txid: TXID, vout: 1, value: 12345, status: { confirmed: true, block_height: 7 } }])],
      [200, JSON.stringify({ chain_stats: { tx_count: 2 }, mempool_stats: { tx_count: 1 } })],
      [200, JSON.stringify({ confirmed: false })],
      [404, "Transaction not found"],
      [200, JSON.stringify({ spent: true, txid: TXID, vin: 0, status: { confirmed: true, block_height: 9 } })],
      [404, "Transaction not found"],
      [200, JSON.stringify({ "1": 30.5, "6": 10.1, "144": 1 })],
      [404, "Address not found"],
    ]);
    const b = new EsploraBackend({ url: `${s.url}/`, ...fast });
    expect(await b.getUtxos("bcrt1qxyz")).toEqual([{ txid: TXID, vout: 1, value: 12345n, confirmed: true, blockHeight: 7 }]);
    expect(await b.getAddressTxCount("bcrt1qxyz")).toBe(3);
    expect(await b.getTxStatus(TXID)).toEqual({ confirmed: false });
    expect(await b.getTxStatus(TXID)).toBeUndefined();
    expect(await b.getOutspend(TXID, 0)).toEqual({ spent: true, txid: TXID, vin: 0, confirmed: true, blockHeight: 9 });
    expect(await b.getOutspend(TXID, 1)).toEqual({ spent: false });
    expect(await b.getFeeEstimates()).toEqual({ "1": 30.5, "6": 10.1, "144": 1 });
    await expect(b.getUtxos("nope")).rejects.toBeInstanceOf(ChainRequestError);
    expect(s.seen.map((x) => x.url)).toEqual([
      "/address/bcrt1qxyz/utxo",
      "/address/bcrt1qxyz",
      `/tx/${TXID}/status`,
      `/tx/${TXID}/status`,
      `/tx/${TXID}/outspend/0`,
      `/tx/${TXID}/outspend/1`,
      "/fee-estimates",
      "/address/nope/utxo",
    ]);
    await s.close();
  });

  it("refuses malformed answers instead of guessing", async () => {
    const s = await scripted([[200, "<html>"], [200, JSON.stringify([{ txid: "zz", vout: 0, value: 1 }])]]);
    const b = new EsploraBackend({ url: s.url, ...fast });
    await expect(b.getTipHeight()).rejects.toThrow(/unexpected answer/);
    await expect(b.getUtxos("a")).rejects.toThrow(/unexpected answer/);
    await s.close();
  });

  it("never prints credentials from the URL", async () => {
    const b = new EsploraBackend({ url: "http://user:hunter2@127.0.0.1:1/api", retries: 0 });
    const err = await b.getTipHeight().catch((e: unknown) => e);
    expect((err as Error).message).not.toContain("hunter2");
    expect(b.url).toBe("http://127.0.0.1:1/api");
  });

  it("keeps an API key in ESPLORA_URL's query on every request and never prints it", async () => {
    const s = await scripted([
      [200, "812345"],
      [401, `bad key in GET /api/blocks/tip/height?apikey=hunter2secret`],
      [503, "busy"],
    ]);
    const b = new EsploraBackend({ url: `${s.url}/api/?apikey=hunter2secret`, retries: 0 });
    expect(await b.getTipHeight()).toBe(812345);
    expect(s.seen[0]!.url).toBe("/api/blocks/tip/height?apikey=hunter2secret");
    expect(b.url).toBe(`${s.url}/api?apikey=***`);
    const refused = await b.getTipHeight().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ChainRequestError);
    expect((refused as Error).message).toContain("HTTP 401");
    const down = await b.getTipHeight().catch((e: unknown) => e);
    expect(down).toBeInstanceOf(ChainUnavailableError);
    for (const e of [refused, down]) {
      expect((e as Error).message).not.toContain("hunter2secret");
      expect((e as Error).message).toContain("apikey=***");
    }
    await s.close();
  });

  it("names a bad URL without its credentials", () => {
    let err: unknown;
    try {
      new EsploraBackend({ url: "http://user:hunter2secret@127.0.0.1:notaport/api" });
    } catch (e) {
      err = e;
    }
    expect((err as Error).message).toContain("http://user:***@127.0.0.1:notaport/api is not a valid URL");
    expect(inspect(err)).not.toContain("hunter2secret");
  });

  it("reads an address's whole history: mempool and first page, then /txs/chain/:last_seen_txid until a page brings none", async () => {
    const tx = (n: number, confirmed: boolean) => ({
      txid: n.toString(16).padStart(64, "0"),
      vout: [{ scriptpubkey_address: "bcrt1qexample", value: 1000 + n }, { value: 0 }],
      status: confirmed ? { confirmed: true, block_height: 100 - n } : { confirmed: false },
    });
    const first = [tx(1, false), ...Array.from({ length: 25 }, (_, i) => tx(2 + i, true))];
    const second = [tx(27, true), tx(28, true)];
    const s = await scripted([[200, JSON.stringify(first)], [200, JSON.stringify(second)], [200, "[]"]]);
    const b = new EsploraBackend({ url: s.url, ...fast });
    const txs = await b.getAddressTxs("bcrt1qexample");
    expect(txs).toHaveLength(28);
    expect(txs[0]).toEqual({ txid: tx(1, false).txid, confirmed: false, outputs: [{ vout: 0, address: "bcrt1qexample", value: 1001n }, { vout: 1, value: 0n }] });
    expect(txs[1]).toMatchObject({ confirmed: true, blockHeight: 98 });
    expect(s.seen.map((r) => r.url)).toEqual([
      "/address/bcrt1qexample/txs",
      `/address/bcrt1qexample/txs/chain/${tx(26, true).txid}`,
      `/address/bcrt1qexample/txs/chain/${tx(28, true).txid}`,
    ]);
    await s.close();
  });

  it("reads again only as far as the newest confirmed transaction it knew, while that is in the same block; a new block hash reads it all", async () => {
    const hash = (c: string) => c.repeat(64);
    const tx = (n: number, block: string | null) => ({
      txid: n.toString(16).padStart(64, "0"),
      vout: [{ scriptpubkey_address: "bcrt1qexample", value: 1000 + n }],
      status: block ? { confirmed: true, block_height: 100 - n, block_hash: hash(block) } : { confirmed: false },
    });
    const history = [tx(2, "b"), tx(3, "c")];
    const s = await scripted([
      // The first read: every page.
      [200, JSON.stringify(history)],
      [200, "[]"],
      // Again: a new mempool transaction and a new confirmed one, then the one it knew, in the same block: one page.
      [200, JSON.stringify([tx(9, null), tx(1, "a"), ...history])],
      // Its block was replaced (another hash): the whole history again, which no longer has tx 3.
      [200, JSON.stringify([tx(1, "d"), tx(2, "e")])],
      [200, "[]"],
    ]);
    const b = new EsploraBackend({ url: s.url, ...fast });
    expect((await b.getAddressTxs("bcrt1qexample")).map((t) => t.txid)).toEqual([tx(2, "b").txid, tx(3, "c").txid]);
    expect((await b.getAddressTxs("bcrt1qexample")).map((t) => [t.txid, t.confirmed])).toEqual([
      [tx(9, null).txid, false],
      [tx(1, "a").txid, true],
      [tx(2, "b").txid, true],
      [tx(3, "c").txid, true],
    ]);
    expect((await b.getAddressTxs("bcrt1qexample")).map((t) => t.txid)).toEqual([tx(1, "d").txid, tx(2, "e").txid]);
    expect(s.seen.map((r) => r.url)).toEqual([
      "/address/bcrt1qexample/txs",
      `/address/bcrt1qexample/txs/chain/${tx(3, "c").txid}`,
      "/address/bcrt1qexample/txs",
      "/address/bcrt1qexample/txs",
      `/address/bcrt1qexample/txs/chain/${tx(2, "e").txid}`,
    ]);
    await s.close();
  });

  it("refuses a malformed address history rather than reading it as empty", async () => {
    const s = await scripted([[200, JSON.stringify([{ txid: "zz", vout: [] }])], [200, JSON.stringify({ not: "a list" })]]);
    const b = new EsploraBackend({ url: s.url, ...fast });
    await expect(b.getAddressTxs("bcrt1qexample")).rejects.toBeInstanceOf(ChainUnavailableError);
    await expect(b.getAddressTxs("bcrt1qexample")).rejects.toBeInstanceOf(ChainUnavailableError);
    await s.close();
  });
});

describe("estimateFor", () => {
  const est = { "1": 50, "2": 40, "3": 30, "6": 12.5, "12": 8, "144": 1.2 };
  it.each([
    [6, 12.5],
    [5, 30],
    [1, 50],
    [1000, 1.2],
  ])("target %i -> %f sat/vB", (target, want) => expect(estimateFor(est, target)).toBe(want));
  it("falls back to the fastest when the target is below every key, and to nothing when empty", () => {
    expect(estimateFor({ "3": 9, "6": 5 }, 1)).toBe(9);
    expect(estimateFor({}, 6)).toBeUndefined();
  });
});
