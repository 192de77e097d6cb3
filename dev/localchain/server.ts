import http from "node:http";
import * as bitcoin from "bitcoinjs-lib";
import type { AddressInfo } from "node:net";
import { parseAddress } from "../../src/bitcoin/address.js";
import { type NetworkName, networkFor } from "../../src/bitcoin/network.js";
import { randomBytes, timingSafeEqual } from "node:crypto";
import { LocalChain, TxValidationError, type Outpoint } from "./chain.js";
import { CoreRpc } from "./rpc.js";

/**
 * Serves a LocalChain over loopback HTTP with the Esplora endpoints the
 * payout engine uses, plus dev endpoints so another process can drive it:
 *
 *   POST /regtest/fund           {"address": "...", "sats": "100000"} → {"txid","vout"}
 *   POST /regtest/mine           {"blocks": 1}                          → {"height"}
 *   POST /regtest/fee-estimates  {"6": 12.5, ...}                       → 204
 *   POST /regtest/evict/:txid    drops a mempool tx and its descendants → {"evicted": [txid, ...]}
 *   POST /regtest/reorg          {"blocks": 2, "drop": ["<txid>", ...]}  → {"height", "dropped": [txid, ...]}
 *                                disconnects the last blocks (their transactions back to the mempool),
 *                                then drops the named ones and their descendants
 *
 * A refused POST /tx answers 400 with the node's error the way Esplora
 * passes it on: sendrawtransaction RPC error: {"code":-26,"message":"…"}.
 *
 * It is also a Bitcoin Core node over JSON-RPC (rpc.ts): POST / and POST /wallet/<name> with
 * HTTP basic auth (`rpcAuth`, by default a cookie `__cookie__:<random hex>`); 401 without it.
 */

export interface LocalChainServer {
  url: string;
  chain: LocalChain;
  /** The JSON-RPC face (Bitcoin Core's calls) and the credentials it takes now. */
  rpc: CoreRpc;
  readonly rpcAuth: { user: string; password: string };
  /** New credentials, as a Core restart writes a new cookie. */
  setRpcAuth(auth: { user: string; password: string }): void;
  /** How many Esplora API requests it answered (not the dev /regtest/ ones): lets a test show it used JSON-RPC only. */
  readonly esploraRequests: number;
  fund(address: string, sats: bigint): Outpoint;
  mine(blocks?: number): number;
  close(): Promise<void>;
}

export interface LocalChainOptions {
  network?: NetworkName;
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Serve an existing chain (e.g. to bring a stopped server back with the same state). */
  chain?: LocalChain;
  /** Its JSON-RPC state (wallets), with an existing chain. */
  rpc?: CoreRpc;
  /** JSON-RPC credentials; a fresh cookie (__cookie__:<hex>) by default. */
  rpcAuth?: { user: string; password: string };
}

const MAX_BODY = 2_000_000;

export async function startLocalChain(opts: LocalChainOptions = {}): Promise<LocalChainServer> {
  const chain = opts.chain ?? new LocalChain(opts.network ?? "regtest");
  const rpc = opts.rpc ?? new CoreRpc(chain);
  let auth = opts.rpcAuth ?? { user: "__cookie__", password: randomBytes(32).toString("hex") };
  let esploraRequests = 0;
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0]!;
    if (path !== "/" && !path.startsWith("/wallet/") && !path.startsWith("/regtest/")) esploraRequests++;
    handle(chain, { rpc, auth: () => auth }, req, res).catch((e: unknown) => {
      send(res, 500, "text/plain", e instanceof Error ? e.message : "internal error");
    });
  });
  // Keep-alive sockets would hold close() open; tests want a prompt exit.
  server.keepAliveTimeout = 1000;
  const host = opts.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    chain,
    rpc,
    get rpcAuth() {
      return auth;
    },
    get esploraRequests() {
      return esploraRequests;
    },
    setRpcAuth: (a) => {
      auth = a;
    },
    fund: (address, sats) => chain.fund(address, sats),
    mine: (blocks) => chain.mine(blocks),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

interface RpcFace {
  rpc: CoreRpc;
  auth(): { user: string; password: string };
}

async function handle(chain: LocalChain, face: RpcFace, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://localhost");
  const path = url.pathname.replace(/\/+$/, "") || "/";
  const method = req.method ?? "GET";
  let m: RegExpMatchArray | null;

  if (method === "POST" && (path === "/" || /^\/wallet\/[^/]*$/.test(path))) {
    const { user, password } = face.auth();
    const want = Buffer.from(`Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`);
    const got = Buffer.from(req.headers.authorization ?? "");
    const body = await readBody(req);
    if (got.length !== want.length || !timingSafeEqual(got, want)) {
      // Core answers 401 with an empty body and a challenge.
      res.writeHead(401, { "www-authenticate": 'Basic realm="jsonrpc"', "content-length": 0 });
      res.end();
      return;
    }
    const wallet = path === "/" ? undefined : decodeURIComponent(path.slice("/wallet/".length));
    const answer = face.rpc.handle(body, wallet);
    return send(res, answer.status, "application/json", answer.text);
  }

  if (method === "GET") {
    if (path === "/blocks/tip/height") return send(res, 200, "text/plain", String(chain.tipHeight));
    if (path === "/blocks/tip/hash") return send(res, 200, "text/plain", chain.blockHash(chain.tipHeight)!);
    if ((m = path.match(/^\/block-height\/(\d+)$/))) {
      const h = chain.blockHash(Number(m[1]));
      return h ? send(res, 200, "text/plain", h) : send(res, 404, "text/plain", "Block not found");
    }
    if (path === "/fee-estimates") return json(res, 200, chain.feeEstimates);
    if ((m = path.match(/^\/address\/([^/]+)\/txs(?:\/chain\/([0-9a-f]{64}))?$/))) {
      const parsed = parseAddress(decodeURIComponent(m[1]!), chain.network);
      if (!parsed.ok) return send(res, 400, "text/plain", `Invalid Bitcoin address: ${parsed.reason}`);
      const all = chain.txsOf(parsed.script);
      let page: typeof all;
      if (m[2] === undefined) {
        // electrs: up to 50 mempool transactions, then the first 25 confirmed.
        page = [...all.filter((t) => t.height === undefined).slice(0, 50), ...all.filter((t) => t.height !== undefined).slice(0, CHAIN_PAGE)];
      } else {
        const confirmed = all.filter((t) => t.height !== undefined);
        const at = confirmed.findIndex((t) => t.txid === m![2]);
        page = at < 0 ? [] : confirmed.slice(at + 1, at + 1 + CHAIN_PAGE);
      }
      return json(res, 200, page.map((t) => txJson(chain, t.txid, t)));
    }
    if ((m = path.match(/^\/address\/([^/]+)(\/utxo)?$/))) {
      const address = decodeURIComponent(m[1]!);
      const parsed = parseAddress(address, chain.network);
      if (!parsed.ok) return send(res, 400, "text/plain", `Invalid Bitcoin address: ${parsed.reason}`);
      if (m[2]) {
        return json(
          res,
          200,
          chain.utxosOf(parsed.script).map((u) => ({
            txid: u.txid,
            vout: u.vout,
            value: Number(u.value),
            status: statusJson(chain, u.height),
          })),
        );
      }
      const counts = chain.txCounts(parsed.script);
      return json(res, 200, {
        address: parsed.address,
        chain_stats: { tx_count: counts.chain },
        mempool_stats: { tx_count: counts.mempool },
      });
    }
    if ((m = path.match(/^\/tx\/([0-9a-f]{64})(\/status|\/hex|\/outspend\/(\d+))?$/))) {
      const txid = m[1]!;
      const t = chain.tx(txid);
      if (!t) return send(res, 404, "text/plain", "Transaction not found");
      if (m[2] === "/status") return json(res, 200, statusJson(chain, t.height));
      if (m[2] === "/hex") return send(res, 200, "text/plain", t.hex);
      if (m[3] !== undefined) {
        const vout = Number(m[3]);
        if (vout >= t.tx.outs.length) return send(res, 400, "text/plain", "Output index out of range");
        const s = chain.outspend(txid, vout);
        return json(res, 200, s ? { spent: true, txid: s.txid, vin: s.vin, status: statusJson(chain, s.height) } : { spent: false });
      }
      return json(res, 200, txJson(chain, txid, t));
    }
  }

  if (method === "POST") {
    const body = await readBody(req);
    if (path === "/tx") {
      try {
        return send(res, 200, "text/plain", chain.submit(body));
      } catch (e) {
        if (e instanceof TxValidationError)
          return send(res, 400, "text/plain", `sendrawtransaction RPC error: ${JSON.stringify({ code: e.code, message: e.reason })}`);
        throw e;
      }
    }
    if (path === "/regtest/fund") {
      const { address, sats } = (parseJson(body) ?? {}) as { address?: unknown; sats?: unknown };
      if (typeof address !== "string" || !(typeof sats === "string" || typeof sats === "number") || !/^\d+$/.test(String(sats)))
        return send(res, 400, "text/plain", 'expected {"address": string, "sats": integer}');
      try {
        return json(res, 200, chain.fund(address, BigInt(sats)));
      } catch (e) {
        return send(res, 400, "text/plain", e instanceof Error ? e.message : String(e));
      }
    }
    if (path === "/regtest/mine") {
      const { blocks } = (parseJson(body || "{}") ?? { blocks: "invalid" }) as { blocks?: unknown };
      const n = blocks === undefined ? 1 : Number(blocks);
      if (!Number.isInteger(n) || n < 1 || n > 1000) return send(res, 400, "text/plain", "blocks must be 1..1000");
      return json(res, 200, { height: chain.mine(n) });
    }
    if ((m = path.match(/^\/regtest\/evict\/([0-9a-f]{64})$/))) {
      try {
        return json(res, 200, { evicted: chain.evict(m[1]!) });
      } catch (e) {
        return send(res, 404, "text/plain", e instanceof Error ? e.message : String(e));
      }
    }
    if (path === "/regtest/reorg") {
      const { blocks, drop } = (parseJson(body || "{}") ?? { blocks: "invalid" }) as { blocks?: unknown; drop?: unknown };
      const n = blocks === undefined ? 1 : Number(blocks);
      if (!Number.isInteger(n) || n < 0 || n > 1000) return send(res, 400, "text/plain", "blocks must be 0..1000");
      if (drop !== undefined && !(Array.isArray(drop) && drop.every((d) => typeof d === "string" && /^[0-9a-f]{64}$/.test(d))))
        return send(res, 400, "text/plain", 'expected {"blocks": integer, "drop": ["<txid>", ...]}');
      try {
        return json(res, 200, chain.reorg(n, (drop as string[] | undefined) ?? []));
      } catch (e) {
        return send(res, 400, "text/plain", e instanceof Error ? e.message : String(e));
      }
    }
    if (path === "/regtest/fee-estimates") {
      const est = parseJson(body);
      if (est === null || typeof est !== "object" || Array.isArray(est) || !Object.values(est).every((v) => typeof v === "number"))
        return send(res, 400, "text/plain", 'expected {"<blocks>": <sat/vB>, ...}');
      chain.feeEstimates = est as Record<string, number>;
      return send(res, 204, "text/plain", "");
    }
  }
  send(res, 404, "text/plain", "Not found");
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** electrs' page size for confirmed transactions of an address. */
const CHAIN_PAGE = 25;

/** A transaction in Esplora's shape: outputs with their script, address (when standard) and value. */
function txJson(chain: LocalChain, txid: string, t: NonNullable<ReturnType<LocalChain["tx"]>>) {
  return {
    txid,
    version: t.tx.version,
    locktime: t.tx.locktime,
    size: t.tx.byteLength(),
    weight: t.tx.weight(),
    fee: Number(t.fee),
    vout: t.tx.outs.map((o) => {
      const address = addressOf(o.script, chain.network);
      return { scriptpubkey: Buffer.from(o.script).toString("hex"), ...(address ? { scriptpubkey_address: address } : {}), value: Number(o.value) };
    }),
    status: statusJson(chain, t.height),
  };
}

function addressOf(script: Uint8Array, network: NetworkName): string | undefined {
  try {
    return bitcoin.address.fromOutputScript(script, networkFor(network));
  } catch {
    return undefined;
  }
}

function statusJson(chain: LocalChain, height: number | undefined) {
  if (height === undefined) return { confirmed: false };
  const b = chain.blockAt(height)!;
  return { confirmed: true, block_height: height, block_hash: b.hash, block_time: b.time };
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error("body too large"));
        req.destroy();
      } else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  send(res, status, "application/json", JSON.stringify(body));
}

function send(res: http.ServerResponse, status: number, type: string, body: string): void {
  if (res.headersSent) return;
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body) });
  res.end(body);
}
