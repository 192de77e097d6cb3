import { redact } from "../core/redact.js";
import type { NetworkName } from "./network.js";
import {
  type AddressTx,
  type ChainBackend,
  type ChainUtxo,
  type FeeEstimates,
  type Outspend,
  type TxStatus,
  ChainRequestError,
  ChainUnavailableError,
  TxRejectedError,
} from "./backend.js";

/** Public Esplora instances per network; override with ESPLORA_URL. */
export const DEFAULT_ESPLORA_URL: Record<NetworkName, string> = {
  bitcoin: "https://mempool.space/api",
  testnet: "https://mempool.space/testnet/api",
  signet: "https://mempool.space/signet/api",
  // electrs' default REST port on regtest.
  regtest: "http://127.0.0.1:3002",
};

export interface EsploraOptions {
  /** Base URL without trailing slash, e.g. https://mempool.space/api. */
  url: string;
  /** Extra attempts after the first for network errors, timeouts, 429 and 5xx. */
  retries?: number;
  /** First backoff delay; doubles each retry, with jitter, up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
  timeoutMs?: number;
  /** Injected for tests. */
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
}

const TXID = /^[0-9a-f]{64}$/;

/** Esplora REST client (Blockstream electrs / mempool.space API). */
export class EsploraBackend implements ChainBackend {
  readonly #base: string;
  readonly #display: string;
  readonly #query: string;
  readonly #auth: string | undefined;
  readonly #retries: number;
  readonly #backoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;
  readonly #sleep: (ms: number) => Promise<void>;
  /** Per address, its confirmed transactions as the last read found them (newest first, with their block hash). */
  readonly #confirmedHistory = new Map<string, Array<{ tx: AddressTx; blockHash: string | undefined }>>();

  constructor(opts: EsploraOptions) {
    let url: URL;
    try {
      url = new URL(opts.url);
    } catch {
      // Node's own error keeps the whole URL in its `input` field.
      throw new TypeError(`Esplora URL ${redact(opts.url)} is not a valid URL`);
    }
    // Credentials in ESPLORA_URL (a private instance) go in a header, never in messages.
    if (url.username || url.password) {
      const user = decodeURIComponent(url.username);
      const pass = decodeURIComponent(url.password);
      this.#auth = `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;
    }
    this.#base = `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, "")}`;
    // A query (the API key some hosted Esplora services take) goes on every request.
    this.#query = url.search;
    this.#display = redact(this.#base + this.#query);
    this.#retries = opts.retries ?? 4;
    this.#backoffMs = opts.backoffMs ?? 250;
    this.#maxBackoffMs = opts.maxBackoffMs ?? 4000;
    this.#timeoutMs = opts.timeoutMs ?? 15_000;
    this.#fetch = opts.fetch ?? fetch;
    this.#sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  get url(): string {
    return this.#display;
  }

  async getUtxos(address: string): Promise<ChainUtxo[]> {
    const raw = await this.#json(`/address/${encodeURIComponent(address)}/utxo`);
    if (!Array.isArray(raw)) throw this.#malformed("/address/…/utxo");
    return raw.map((u: unknown) => {
      const o = u as { txid?: unknown; vout?: unknown; value?: unknown; status?: { confirmed?: unknown; block_height?: unknown } };
      if (typeof o.txid !== "string" || !TXID.test(o.txid) || !isUint(o.vout) || !isUint(o.value))
        throw this.#malformed("/address/…/utxo");
      const utxo: ChainUtxo = { txid: o.txid, vout: o.vout, value: BigInt(o.value), confirmed: o.status?.confirmed === true };
      if (isUint(o.status?.block_height)) utxo.blockHeight = o.status.block_height;
      return utxo;
    });
  }

  async getAddressTxCount(address: string): Promise<number> {
    const raw = (await this.#json(`/address/${encodeURIComponent(address)}`)) as {
      chain_stats?: { tx_count?: unknown };
      mempool_stats?: { tx_count?: unknown };
    };
    const c = raw?.chain_stats?.tx_count;
    const m = raw?.mempool_stats?.tx_count;
    if (!isUint(c) || !isUint(m)) throw this.#malformed("/address/…");
    return c + m;
  }

  /**
   * GET /address/:address/txs gives the mempool transactions and the newest confirmed ones (25
   * on electrs); /txs/chain/:last_seen_txid the next confirmed page, until a page brings none.
   * Paging stops at the newest confirmed transaction the last read found, when it is still in the
   * same block: that block and every block below it are unchanged (a block's hash commits to its
   * transactions and to its parent), so the rest of the history is what was read then. A
   * reorganisation changes that block's hash or takes the transaction away, and the whole history
   * is read again. The mempool part is read every time.
   */
  async getAddressTxs(address: string): Promise<AddressTx[]> {
    const base = `/address/${encodeURIComponent(address)}/txs`;
    const known = this.#confirmedHistory.get(address);
    const anchor = known?.[0];
    const out: AddressTx[] = [];
    const seen = new Set<string>();
    const confirmed: Array<{ tx: AddressTx; blockHash: string | undefined }> = [];
    let path = base;
    for (let page = 0; ; page++) {
      if (page > 100_000) throw this.#malformed(`${base}/chain (it does not end)`);
      const raw = await this.#json(path);
      if (!Array.isArray(raw)) throw this.#malformed("/address/…/txs");
      let lastConfirmed: string | undefined;
      for (const item of raw) {
        const { tx, blockHash } = this.#addressTx(item);
        if (anchor && tx.confirmed && tx.txid === anchor.tx.txid && blockHash !== undefined && blockHash === anchor.blockHash) {
          for (const k of known!) {
            if (seen.has(k.tx.txid)) continue;
            seen.add(k.tx.txid);
            out.push(k.tx);
            confirmed.push(k);
          }
          this.#remember(address, confirmed);
          return out;
        }
        if (seen.has(tx.txid)) continue;
        seen.add(tx.txid);
        out.push(tx);
        if (tx.confirmed) {
          lastConfirmed = tx.txid;
          confirmed.push({ tx, blockHash });
        }
      }
      if (lastConfirmed === undefined) {
        this.#remember(address, confirmed);
        return out;
      }
      path = `${base}/chain/${lastConfirmed}`;
    }
  }

  /** An address's confirmed history as last read, newest first; only a block hash makes it an anchor. */
  #remember(address: string, confirmed: Array<{ tx: AddressTx; blockHash: string | undefined }>): void {
    if (confirmed.length && confirmed[0]!.blockHash !== undefined) this.#confirmedHistory.set(address, confirmed);
    else this.#confirmedHistory.delete(address);
  }

  #addressTx(item: unknown): { tx: AddressTx; blockHash: string | undefined } {
    const o = item as {
      txid?: unknown;
      vout?: unknown;
      status?: { confirmed?: unknown; block_height?: unknown; block_hash?: unknown };
    };
    if (typeof o?.txid !== "string" || !TXID.test(o.txid) || !Array.isArray(o.vout)) throw this.#malformed("/address/…/txs");
    const outputs = o.vout.map((v: unknown, vout: number) => {
      const x = v as { value?: unknown; scriptpubkey_address?: unknown };
      if (!isUint(x?.value)) throw this.#malformed("/address/…/txs");
      return { vout, value: BigInt(x.value), ...(typeof x.scriptpubkey_address === "string" ? { address: x.scriptpubkey_address } : {}) };
    });
    const tx: AddressTx = { txid: o.txid, confirmed: o.status?.confirmed === true, outputs };
    if (isUint(o.status?.block_height)) tx.blockHeight = o.status.block_height;
    const hash = o.status?.block_hash;
    return { tx, blockHash: tx.confirmed && typeof hash === "string" && TXID.test(hash) ? hash : undefined };
  }

  async getFeeEstimates(): Promise<FeeEstimates> {
    const raw = await this.#json("/fee-estimates");
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw this.#malformed("/fee-estimates");
    return raw as FeeEstimates;
  }

  async broadcast(txHex: string): Promise<string> {
    const text = await this.#request("POST", "/tx", txHex);
    const txid = text.trim();
    if (!TXID.test(txid)) throw this.#malformed("POST /tx");
    return txid;
  }

  async getTxStatus(txid: string): Promise<TxStatus | undefined> {
    const raw = (await this.#json(`/tx/${txid}/status`, { notFound: true })) as
      | { confirmed?: unknown; block_height?: unknown; block_hash?: unknown }
      | undefined;
    if (raw === undefined) return undefined;
    const s: TxStatus = { confirmed: raw.confirmed === true };
    if (isUint(raw.block_height)) s.blockHeight = raw.block_height;
    if (typeof raw.block_hash === "string") s.blockHash = raw.block_hash;
    return s;
  }

  async getOutspend(txid: string, vout: number): Promise<Outspend> {
    // electrs answers { spent: false } for an unknown output; other servers 404.
    const raw = (await this.#json(`/tx/${txid}/outspend/${vout}`, { notFound: true })) as
      | { spent?: unknown; txid?: unknown; vin?: unknown; status?: { confirmed?: unknown; block_height?: unknown } }
      | undefined;
    if (raw === undefined) return { spent: false };
    const o: Outspend = { spent: raw?.spent === true };
    if (typeof raw?.txid === "string") o.txid = raw.txid;
    if (isUint(raw?.vin)) o.vin = raw.vin;
    if (raw?.status) o.confirmed = raw.status.confirmed === true;
    if (isUint(raw?.status?.block_height)) o.blockHeight = raw.status.block_height;
    return o;
  }

  async getTipHeight(): Promise<number> {
    const text = (await this.#request("GET", "/blocks/tip/height")).trim();
    const h = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(h)) throw this.#malformed("/blocks/tip/height");
    return h;
  }

  async #json(path: string, opts: { notFound?: boolean } = {}): Promise<unknown> {
    const text = await this.#request("GET", path, undefined, opts.notFound);
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text);
    } catch {
      throw this.#malformed(path);
    }
  }

  #malformed(what: string): ChainUnavailableError {
    return new ChainUnavailableError(`Esplora at ${this.#display} sent an unexpected answer to ${what}`);
  }

  async #request(method: "GET" | "POST", path: string, body?: string): Promise<string>;
  async #request(method: "GET" | "POST", path: string, body: string | undefined, notFound?: boolean): Promise<string | undefined>;
  async #request(method: "GET" | "POST", path: string, body?: string, notFound = false): Promise<string | undefined> {
    let lastProblem = "";
    let lastStatus: number | undefined;
    for (let attempt = 0; attempt <= this.#retries; attempt++) {
      if (attempt > 0) {
        const delay = Math.min(this.#maxBackoffMs, this.#backoffMs * 2 ** (attempt - 1));
        await this.#sleep(delay / 2 + Math.random() * (delay / 2));
      }
      let res: Response;
      try {
        res = await this.#fetch(this.#base + path + this.#query, {
          method,
          body,
          headers: {
            ...(body === undefined ? {} : { "content-type": "text/plain" }),
            ...(this.#auth ? { authorization: this.#auth } : {}),
          },
          signal: AbortSignal.timeout(this.#timeoutMs),
        });
      } catch (e) {
        // Resending the same raw transaction is harmless, so POST /tx is retried too.
        lastProblem = redact(e instanceof Error ? (e.name === "TimeoutError" ? "timed out" : e.message) : String(e));
        lastStatus = undefined;
        continue;
      }
      const text = await res.text().catch(() => "");
      if (res.ok) return text;
      if (res.status >= 500 || res.status === 429) {
        lastProblem = `HTTP ${res.status}`;
        lastStatus = res.status;
        continue;
      }
      if (res.status === 404 && notFound) return undefined;
      if (method === "POST" && path === "/tx" && res.status === 400) throw new TxRejectedError(cleanReason(text));
      throw new ChainRequestError(
        `Esplora at ${this.#display} answered ${method} ${path} with HTTP ${res.status}: ${cleanReason(text)}`,
        res.status,
      );
    }
    throw new ChainUnavailableError(
      `Esplora at ${this.#display} is unavailable: ${method} ${path} failed ${this.#retries + 1} times (last: ${lastProblem})`,
      lastStatus,
    );
  }
}

/** Node reasons come as text or as Core's JSON-RPC error; keep them short and printable. */
function cleanReason(text: string): string {
  let t = text.trim();
  const json = t.match(/\{.*"message"\s*:\s*"([^"]*)".*\}/s);
  if (json) t = json[1]!;
  // A proxy may echo the request, API key included.
  t = redact(t.replace(/[^\x20-\x7e]/g, " ")).slice(0, 300);
  return t || "no reason given";
}

function isUint(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}
