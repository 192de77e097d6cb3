import { readFile } from "node:fs/promises";
import { redact } from "../core/redact.js";
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
import type { FeeRate } from "./sizes.js";

/**
 * A ChainBackend over Bitcoin Core's JSON-RPC: the operator's own node, which then is the only one
 * that sees the wallet's addresses. The addresses are watched in a descriptor wallet of the app's
 * own made with private keys disabled; only the account xpubs' descriptors are imported, so the
 * keys never leave the app. Coins come from listunspent, confirmations from gettransaction, fees
 * from estimatesmartfee, and a transaction goes through testmempoolaccept before sendrawtransaction.
 *
 * Amounts: Core writes BTC as JSON numbers with 8 decimals (0.00012345). A JavaScript number cannot
 * hold every such value exactly, so the answer's text is read with its numbers kept as their
 * decimal digits (quoteNumbers) and converted to sats as integers (btcToSats); no float is involved.
 */

export interface WatchDescriptor {
  /** A ranged descriptor with its checksum, e.g. wpkh(tpub…/0/*)#…. */
  desc: string;
  /** The last index to watch (inclusive). */
  end: number;
}

export interface CoreOptions {
  /** http://host:port of the node, without credentials. */
  url: string;
  /** The watch-only descriptor wallet's name; created (or loaded) on first use. */
  wallet: string;
  auth: { cookieFile: string } | { user: string; password: string };
  /**
   * What to watch: the wallet's descriptors with the ranges it needs now (gap limit, handed-out
   * indexes). Asked again, and each range doubled, when an address asked about is not watched yet.
   */
  descriptors: () => Promise<WatchDescriptor[]>;
  /** sendrawtransaction's maxfeerate: Core refuses to send a transaction paying more (sat/kvB). */
  maxFeeRate: FeeRate;
  /** Unix time the wallet's first coin can be no older than: where importdescriptors rescans from (0: the whole chain). */
  birthday?: number;
  retries?: number;
  backoffMs?: number;
  maxBackoffMs?: number;
  timeoutMs?: number;
  /** importdescriptors rescans the chain; it gets this much longer. */
  importTimeoutMs?: number;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  readFile?: (path: string) => Promise<string>;
}

/** Bitcoin Core's RPC error codes this backend acts on (src/rpc/protocol.h). */
export const RPC = {
  INVALID_ADDRESS_OR_KEY: -5,
  DESERIALIZATION_ERROR: -22,
  VERIFY_ERROR: -25,
  VERIFY_REJECTED: -26,
  VERIFY_ALREADY_IN_CHAIN: -27,
  IN_WARMUP: -28,
  WALLET_NOT_FOUND: -18,
  WALLET_ALREADY_LOADED: -35,
} as const;

/** Core answered a call with a JSON-RPC error. */
export class CoreRpcError extends ChainRequestError {
  constructor(
    message: string,
    readonly code: number,
    status: number,
  ) {
    super(message, status);
    this.name = "CoreRpcError";
  }
}

const TXID = /^[0-9a-f]{64}$/;
/** Targets asked of estimatesmartfee, keyed like Esplora's /fee-estimates. */
const FEE_TARGETS = [1, 2, 3, 4, 6, 10, 12, 24, 48, 144, 504, 1008];
/** How many times the ranges are doubled to find an address before giving up. */
const MAX_EXTENSIONS = 4;

type Json = string | boolean | null | Json[] | { [k: string]: Json };

export class CoreBackend implements ChainBackend {
  readonly #base: string;
  readonly #display: string;
  readonly #opts: CoreOptions;
  readonly #retries: number;
  readonly #backoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #readFile: (path: string) => Promise<string>;
  #authHeader: string | undefined;
  #id = 0;
  #ready: Promise<void> | undefined;
  /** The ranges imported so far, by descriptor. */
  #imported = new Map<string, number>();
  /** Addresses Core said are the wallet's. */
  #mine = new Set<string>();
  /** Inputs of transactions looked at, by txid (a txid fixes them). */
  #inputs = new Map<string, string[]>();
  /** Confirmed transactions an address history read, with their block: read again only once that block leaves the best chain. */
  #confirmedTxs = new Map<string, { tx: AddressTx; blockHash: string }>();
  /** Which blocks are in the best chain, as asked while it had this tip (forgotten when the tip moves). */
  #bestChain: { tip: string; blocks: Map<string, boolean> } | null = null;

  constructor(opts: CoreOptions) {
    let url: URL;
    try {
      url = new URL(opts.url);
    } catch {
      throw new TypeError(`Bitcoin Core URL ${redact(opts.url)} is not a valid URL`);
    }
    if (url.username || url.password) throw new TypeError("Give Bitcoin Core's credentials as a cookie file or user and password, not in the URL");
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(opts.wallet)) throw new TypeError(`Not a wallet name: ${JSON.stringify(opts.wallet.slice(0, 70))}`);
    this.#base = `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, "")}`;
    this.#display = redact(this.#base);
    this.#opts = opts;
    this.#retries = opts.retries ?? 4;
    this.#backoffMs = opts.backoffMs ?? 250;
    this.#maxBackoffMs = opts.maxBackoffMs ?? 4000;
    this.#timeoutMs = opts.timeoutMs ?? 15_000;
    this.#fetch = opts.fetch ?? fetch;
    this.#sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.#readFile = opts.readFile ?? ((p) => readFile(p, "utf8"));
    if ("user" in opts.auth) this.#authHeader = basic(opts.auth.user, opts.auth.password);
  }

  get url(): string {
    return this.#display;
  }

  // --- ChainBackend ----------------------------------------------------------

  async getTipHeight(): Promise<number> {
    return this.#int(await this.#call("getblockcount", []), "getblockcount");
  }

  async getUtxos(address: string): Promise<ChainUtxo[]> {
    await this.#watching(address);
    const raw = await this.#call("listunspent", [0, 9_999_999, [address], true], { wallet: true });
    if (!Array.isArray(raw)) throw this.#malformed("listunspent");
    const tip = raw.length > 0 ? await this.getTipHeight() : 0;
    return raw.map((u) => {
      const o = u as Record<string, Json>;
      if (typeof o.txid !== "string" || !TXID.test(o.txid)) throw this.#malformed("listunspent");
      const confirmations = this.#int(o.confirmations, "listunspent");
      const utxo: ChainUtxo = { txid: o.txid, vout: this.#int(o.vout, "listunspent"), value: this.#sats(o.amount, "listunspent"), confirmed: confirmations > 0 };
      if (confirmations > 0) utxo.blockHeight = tip - confirmations + 1;
      return utxo;
    });
  }

  async getAddressTxCount(address: string): Promise<number> {
    return (await this.#receivedBy(address)).length;
  }

  /**
   * The transactions paying the address (what deposit and receipt watching reads), from the
   * watch-only wallet: one conflicted, or unconfirmed and no longer in the node's mempool, is gone.
   */
  async getAddressTxs(address: string): Promise<AddressTx[]> {
    const out: AddressTx[] = [];
    let tip: string | undefined;
    for (const txid of await this.#receivedBy(address)) {
      // A transaction in a block still in the best chain is as it was read (its block fixes its
      // outputs and where it is); a block that left it (a reorganisation) means reading it again.
      const known = this.#confirmedTxs.get(txid);
      if (known) {
        tip ??= await this.#bestBlockHash();
        if (await this.#inBestChain(known.blockHash, tip)) {
          out.push(known.tx);
          continue;
        }
        this.#confirmedTxs.delete(txid);
      }
      const t = await this.#walletTx(txid);
      if (!t || !t.decoded) continue;
      const vout = (t.decoded as Record<string, Json>).vout;
      if (!Array.isArray(vout)) throw this.#malformed("gettransaction");
      const outputs = vout.map((v, i) => {
        const o = v as Record<string, Json>;
        const spk = o.scriptPubKey as Record<string, Json> | undefined;
        const addr = typeof spk?.address === "string" ? spk.address : undefined;
        return { vout: o.n === undefined ? i : this.#int(o.n, "gettransaction"), value: this.#sats(o.value, "gettransaction"), ...(addr ? { address: addr } : {}) };
      });
      const tx: AddressTx = { txid, confirmed: t.status.confirmed, outputs };
      if (t.status.blockHeight !== undefined) tx.blockHeight = t.status.blockHeight;
      if (t.status.confirmed && t.status.blockHash !== undefined) this.#confirmedTxs.set(txid, { tx, blockHash: t.status.blockHash });
      out.push(tx);
    }
    return out;
  }

  async #bestBlockHash(): Promise<string> {
    const hash = await this.#call("getbestblockhash", []);
    if (typeof hash !== "string" || !TXID.test(hash)) throw this.#malformed("getbestblockhash");
    return hash;
  }

  /** Whether a block is in the best chain whose tip is `tip`: Core says -1 confirmations for a stale block, or does not know it. */
  async #inBestChain(hash: string, tip: string): Promise<boolean> {
    if (this.#bestChain?.tip !== tip) this.#bestChain = { tip, blocks: new Map() };
    const known = this.#bestChain.blocks.get(hash);
    if (known !== undefined) return known;
    let header: Record<string, Json>;
    try {
      header = (await this.#call("getblockheader", [hash])) as Record<string, Json>;
    } catch (e) {
      if (!(e instanceof CoreRpcError && e.code === RPC.INVALID_ADDRESS_OR_KEY)) throw e;
      this.#bestChain.blocks.set(hash, false);
      return false;
    }
    const best = this.#int(header?.confirmations, "getblockheader", true) >= 1;
    this.#bestChain.blocks.set(hash, best);
    return best;
  }

  /** estimatesmartfee per target; BTC/kvB to sat/vB exactly (sat/kvB is an integer, /1000 has 3 decimals). */
  async getFeeEstimates(): Promise<FeeEstimates> {
    const out: FeeEstimates = {};
    for (const target of FEE_TARGETS) {
      const raw = (await this.#call("estimatesmartfee", [target])) as Record<string, Json> | null;
      if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw this.#malformed("estimatesmartfee");
      if (raw.feerate === undefined) continue; // "Insufficient data or no feerate found"
      const satPerKvb = this.#sats(raw.feerate, "estimatesmartfee");
      out[String(target)] = Number(satPerKvb) / 1000;
    }
    return out;
  }

  /**
   * testmempoolaccept first, so a refusal is known without sending, then sendrawtransaction with
   * a maxfeerate. Core's refusals become TxRejectedError in the words the wallet reads (already
   * known, conflict, fee too low, inputs missing or spent).
   */
  async broadcast(txHex: string): Promise<string> {
    const hex = txHex.trim();
    const maxFeeRate = btcPerKvb(this.#opts.maxFeeRate);
    let tested: unknown;
    try {
      tested = await this.#call("testmempoolaccept", [[hex], maxFeeRate]);
    } catch (e) {
      throw rejected(e);
    }
    const r = Array.isArray(tested) ? (tested[0] as Record<string, Json> | undefined) : undefined;
    if (!r || typeof r.allowed !== "boolean") throw this.#malformed("testmempoolaccept");
    if (!r.allowed) throw new TxRejectedError(rejectReason(String(r["reject-reason"] ?? "rejected"), r["reject-details"]));
    let txid: unknown;
    try {
      txid = await this.#call("sendrawtransaction", [hex, maxFeeRate]);
    } catch (e) {
      throw rejected(e);
    }
    if (typeof txid !== "string" || !TXID.test(txid)) throw this.#malformed("sendrawtransaction");
    return txid;
  }

  async getTxStatus(txid: string): Promise<TxStatus | undefined> {
    const w = await this.#walletTx(txid);
    if (w) return w.status;
    if (w === null) return undefined;
    // Not the wallet's: the mempool (or -txindex) may know it.
    let raw: Record<string, Json>;
    try {
      raw = (await this.#call("getrawtransaction", [txid, true])) as Record<string, Json>;
    } catch (e) {
      if (e instanceof CoreRpcError && e.code === RPC.INVALID_ADDRESS_OR_KEY) return undefined;
      throw e;
    }
    if (typeof raw?.blockhash !== "string") return { confirmed: false };
    const header = (await this.#call("getblockheader", [raw.blockhash])) as Record<string, Json>;
    return { confirmed: true, blockHash: raw.blockhash, blockHeight: this.#int(header?.height, "getblockheader") };
  }

  /**
   * Core keeps no index of spenders. Unspent: gettxout (mempool included) says so. Spent in the
   * mempool: gettxspendingprevout names the spender. Spent in a block: the spender spends a coin of
   * the wallet, so it is one of the wallet's transactions (listsinceblock), whose inputs are read.
   */
  async getOutspend(txid: string, vout: number): Promise<Outspend> {
    if ((await this.#call("gettxout", [txid, vout, true])) !== null) return { spent: false };
    const spending = await this.#call("gettxspendingprevout", [[{ txid, vout }]]);
    const s = Array.isArray(spending) ? (spending[0] as Record<string, Json> | undefined) : undefined;
    if (!s) throw this.#malformed("gettxspendingprevout");
    const prevout = `${txid}:${vout}`;
    if (typeof s.spendingtxid === "string") {
      const vin = (await this.#inputsOf(s.spendingtxid)).indexOf(prevout);
      return { spent: true, txid: s.spendingtxid, ...(vin >= 0 ? { vin } : {}), confirmed: false };
    }
    const since = (await this.#call("listsinceblock", [], { wallet: true })) as Record<string, Json>;
    if (!Array.isArray(since?.transactions)) throw this.#malformed("listsinceblock");
    const candidates = new Set<string>();
    for (const t of since.transactions) {
      const o = t as Record<string, Json>;
      if (typeof o.txid === "string" && TXID.test(o.txid) && o.txid !== txid && this.#int(o.confirmations, "listsinceblock", true) > 0) candidates.add(o.txid);
    }
    for (const id of candidates) {
      const vin = (await this.#inputsOf(id)).indexOf(prevout);
      if (vin < 0) continue;
      const st = await this.getTxStatus(id);
      return { spent: true, txid: id, vin, confirmed: st?.confirmed === true, ...(st?.blockHeight !== undefined ? { blockHeight: st.blockHeight } : {}) };
    }
    return { spent: false };
  }

  // --- the watch-only wallet ---------------------------------------------------

  /** Loads (or creates) the watch-only wallet and imports the descriptors; once per process, again after a failure. */
  ready(): Promise<void> {
    this.#ready ??= this.#open().catch((e: unknown) => {
      this.#ready = undefined;
      throw e;
    });
    return this.#ready;
  }

  async #open(): Promise<void> {
    const name = this.#opts.wallet;
    try {
      await this.#call("loadwallet", [name]);
    } catch (e) {
      if (!(e instanceof CoreRpcError)) throw e;
      if (e.code === RPC.WALLET_NOT_FOUND) {
        // createwallet name disable_private_keys blank passphrase avoid_reuse descriptors load_on_startup
        await this.#call("createwallet", [name, true, true, "", false, true, true]);
      } else if (e.code !== RPC.WALLET_ALREADY_LOADED) throw e;
    }
    const info = (await this.#call("getwalletinfo", [], { wallet: true })) as Record<string, Json>;
    if (info?.descriptors !== true)
      throw new ChainRequestError(`Bitcoin Core wallet "${name}" is not a descriptor wallet; name another one in BITCOIN_RPC_WALLET`, 0);
    if (info.private_keys_enabled !== false)
      throw new ChainRequestError(`Bitcoin Core wallet "${name}" holds private keys; the app watches its addresses in a watch-only wallet of its own (BITCOIN_RPC_WALLET)`, 0);
    await this.#import(await this.#opts.descriptors());
  }

  async #import(wanted: WatchDescriptor[]): Promise<void> {
    const requests = wanted.filter((d) => (this.#imported.get(d.desc) ?? -1) < d.end);
    if (requests.length === 0) return;
    const results = await this.#call(
      "importdescriptors",
      [requests.map((d) => ({ desc: d.desc, range: [0, d.end], timestamp: this.#opts.birthday ?? 0, active: false }))],
      { wallet: true, timeoutMs: this.#opts.importTimeoutMs ?? 3_600_000 },
    );
    if (!Array.isArray(results) || results.length !== requests.length) throw this.#malformed("importdescriptors");
    results.forEach((r, i) => {
      const o = r as Record<string, Json>;
      if (o.success !== true) {
        const err = o.error as Record<string, Json> | undefined;
        throw new ChainRequestError(`Bitcoin Core refused to import the wallet's descriptor: ${clean(String(err?.message ?? "no reason given"))}`, 0);
      }
      this.#imported.set(requests[i]!.desc, requests[i]!.end);
    });
  }

  /** Makes sure Core watches the address, widening the imported ranges if it does not yet; fails closed. */
  async #watching(address: string): Promise<void> {
    await this.ready();
    if (this.#mine.has(address)) return;
    for (let attempt = 0; ; attempt++) {
      const info = (await this.#call("getaddressinfo", [address], { wallet: true })) as Record<string, Json>;
      if (info?.ismine === true) {
        this.#mine.add(address);
        return;
      }
      if (attempt === MAX_EXTENSIONS)
        throw new ChainRequestError(`Bitcoin Core wallet "${this.#opts.wallet}" does not watch ${address}, which is one of the wallet's addresses`, 0);
      const fresh = await this.#opts.descriptors();
      await this.#import(fresh.map((d) => ({ desc: d.desc, end: Math.max(d.end, 2 * (this.#imported.get(d.desc) ?? 0) + 1) })));
    }
  }

  async #receivedBy(address: string): Promise<string[]> {
    await this.#watching(address);
    const raw = await this.#call("listreceivedbyaddress", [0, true, true, address], { wallet: true });
    if (!Array.isArray(raw)) throw this.#malformed("listreceivedbyaddress");
    const entry = raw.find((e) => (e as Record<string, Json>)?.address === address) as Record<string, Json> | undefined;
    if (!entry) return [];
    if (!Array.isArray(entry.txids) || !entry.txids.every((t) => typeof t === "string" && TXID.test(t))) throw this.#malformed("listreceivedbyaddress");
    return [...new Set(entry.txids as string[])];
  }

  /**
   * A wallet transaction and where it stands: undefined when the wallet does not have it, null when
   * it has but the transaction is gone (conflicted, or unconfirmed and out of the mempool).
   */
  async #walletTx(txid: string): Promise<{ status: TxStatus; decoded?: Json } | null | undefined> {
    await this.ready();
    let raw: Record<string, Json>;
    try {
      raw = (await this.#call("gettransaction", [txid, true, true], { wallet: true })) as Record<string, Json>;
    } catch (e) {
      if (e instanceof CoreRpcError && e.code === RPC.INVALID_ADDRESS_OR_KEY) return undefined;
      throw e;
    }
    const confirmations = this.#int(raw?.confirmations, "gettransaction", true);
    if (confirmations < 0) return null;
    if (confirmations === 0) {
      try {
        await this.#call("getmempoolentry", [txid]);
      } catch (e) {
        if (e instanceof CoreRpcError && e.code === RPC.INVALID_ADDRESS_OR_KEY) return null;
        throw e;
      }
      return { status: { confirmed: false }, decoded: raw.decoded };
    }
    if (typeof raw.blockhash !== "string") throw this.#malformed("gettransaction");
    return { status: { confirmed: true, blockHeight: this.#int(raw.blockheight, "gettransaction"), blockHash: raw.blockhash }, decoded: raw.decoded };
  }

  async #inputsOf(txid: string): Promise<string[]> {
    const known = this.#inputs.get(txid);
    if (known) return known;
    const raw = (await this.#call("getrawtransaction", [txid, true])) as Record<string, Json>;
    if (!Array.isArray(raw?.vin)) throw this.#malformed("getrawtransaction");
    const inputs = raw.vin.map((v) => {
      const o = v as Record<string, Json>;
      return typeof o.txid === "string" ? `${o.txid}:${this.#int(o.vout, "getrawtransaction")}` : "coinbase";
    });
    this.#inputs.set(txid, inputs);
    return inputs;
  }

  // --- JSON-RPC ------------------------------------------------------------------

  #malformed(what: string): ChainUnavailableError {
    return new ChainUnavailableError(`Bitcoin Core at ${this.#display} sent an unexpected answer to ${what}`);
  }

  #int(v: Json | undefined, what: string, signed = false): number {
    const n = typeof v === "string" && (signed ? /^-?\d+$/ : /^\d+$/).test(v) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n)) throw this.#malformed(what);
    return n;
  }

  #sats(v: Json | undefined, what: string): bigint {
    const sats = typeof v === "string" ? btcToSats(v) : undefined;
    if (sats === undefined) throw this.#malformed(what);
    return sats;
  }

  async #auth(reread: boolean): Promise<string> {
    const { auth } = this.#opts;
    if ("user" in auth) return this.#authHeader!;
    if (this.#authHeader && !reread) return this.#authHeader;
    let text: string;
    try {
      text = (await this.#readFile(auth.cookieFile)).trim();
    } catch (e) {
      throw new ChainUnavailableError(`Cannot read Bitcoin Core's cookie file ${auth.cookieFile} (${(e as NodeJS.ErrnoException).code ?? "error"}); is the node running?`);
    }
    const at = text.indexOf(":");
    if (at <= 0) throw new ChainUnavailableError(`Bitcoin Core's cookie file ${auth.cookieFile} does not hold user:password`);
    this.#authHeader = basic(text.slice(0, at), text.slice(at + 1));
    return this.#authHeader;
  }

  /** One call: retried on network errors, timeouts, 5xx without an RPC error and warm-up; a 401 re-reads the cookie once. */
  async #call(method: string, params: unknown[], opts: { wallet?: boolean; timeoutMs?: number } = {}): Promise<Json> {
    const url = opts.wallet ? `${this.#base}/wallet/${encodeURIComponent(this.#opts.wallet)}` : `${this.#base}/`;
    const body = JSON.stringify({ jsonrpc: "1.0", id: ++this.#id, method, params });
    let lastProblem = "";
    let lastStatus: number | undefined;
    let reread = false;
    for (let attempt = 0; attempt <= this.#retries; attempt++) {
      if (attempt > 0) {
        const delay = Math.min(this.#maxBackoffMs, this.#backoffMs * 2 ** (attempt - 1));
        await this.#sleep(delay / 2 + Math.random() * (delay / 2));
      }
      const authorization = await this.#auth(reread);
      let res: Response;
      try {
        res = await this.#fetch(url, {
          method: "POST",
          body,
          headers: { "content-type": "application/json", authorization },
          signal: AbortSignal.timeout(opts.timeoutMs ?? this.#timeoutMs),
        });
      } catch (e) {
        // AbortSignal.timeout's DOMException is not always an Error of this realm.
        const err = e as { name?: unknown; message?: unknown };
        lastProblem = redact(err?.name === "TimeoutError" ? "timed out" : typeof err?.message === "string" ? err.message : String(e));
        lastStatus = undefined;
        continue;
      }
      const text = await res.text().catch(() => "");
      if (res.status === 401) {
        // The cookie changes when Core restarts: read it again, once.
        if ("cookieFile" in this.#opts.auth && !reread) {
          reread = true;
          attempt--;
          continue;
        }
        throw new ChainRequestError(`Bitcoin Core at ${this.#display} refused the credentials (HTTP 401) for ${method}`, 401);
      }
      let parsed: { result?: Json; error?: Json } | undefined;
      try {
        parsed = JSON.parse(quoteNumbers(text)) as { result?: Json; error?: Json };
      } catch {
        parsed = undefined;
      }
      if (parsed && typeof parsed === "object" && parsed.error !== null && parsed.error !== undefined) {
        const err = parsed.error as Record<string, Json>;
        const code = typeof err.code === "string" && /^-?\d+$/.test(err.code) ? Number(err.code) : 0;
        if (code === RPC.IN_WARMUP) {
          lastProblem = `warming up (${clean(String(err.message ?? ""))})`;
          lastStatus = res.status;
          continue;
        }
        throw new CoreRpcError(`Bitcoin Core at ${this.#display} answered ${method} with error ${code}: ${clean(String(err.message ?? "no message"))}`, code, res.status);
      }
      if (res.ok && parsed && "result" in parsed) return parsed.result as Json;
      if (res.status >= 500 || res.status === 429 || res.ok) {
        lastProblem = res.ok ? "an answer that is not JSON-RPC" : `HTTP ${res.status}`;
        lastStatus = res.status;
        continue;
      }
      throw new ChainRequestError(`Bitcoin Core at ${this.#display} answered ${method} with HTTP ${res.status}: ${clean(text)}`, res.status);
    }
    throw new ChainUnavailableError(
      `Bitcoin Core at ${this.#display} is unavailable: ${method} failed ${this.#retries + 1} times (last: ${lastProblem})`,
      lastStatus,
    );
  }
}

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
}

/** Core's words for a refusal, made the words the wallet reads; the reason otherwise as Core gave it. */
function rejectReason(reason: string, details?: Json): string {
  // testmempoolaccept says "missing-inputs" where sendrawtransaction says bad-txns-inputs-missingorspent.
  const r = reason === "missing-inputs" ? "bad-txns-inputs-missingorspent" : reason;
  return clean(typeof details === "string" && details && !details.startsWith(r) ? `${r} (${details})` : typeof details === "string" && details ? details : r);
}

/** sendrawtransaction/testmempoolaccept errors: -25, -26, -27 and -22 are refusals of the transaction. */
function rejected(e: unknown): unknown {
  if (!(e instanceof CoreRpcError)) return e;
  const message = e.message.replace(/^.*? with error -?\d+: /, "");
  switch (e.code) {
    case RPC.VERIFY_ALREADY_IN_CHAIN:
      return new TxRejectedError(/already in (the )?block ?chain|already in utxo set/i.test(message) ? message : `Transaction already in block chain (${message})`);
    case RPC.VERIFY_ERROR:
      return new TxRejectedError(/missing|missingorspent/i.test(message) ? (/missingorspent/.test(message) ? message : `bad-txns-inputs-missingorspent (${message})`) : message);
    case RPC.VERIFY_REJECTED:
    case RPC.DESERIALIZATION_ERROR:
      return new TxRejectedError(message);
    default:
      return e;
  }
}

function clean(text: string): string {
  return redact(text.replace(/[^\x20-\x7e]/g, " ")).slice(0, 300).trim() || "no reason given";
}

/** BTC/kvB as Core reads a fee rate argument: a decimal string, exact (sat/kvB / 1e8). */
export function btcPerKvb(satPerKvb: FeeRate): string {
  return `${satPerKvb / 100_000_000n}.${(satPerKvb % 100_000_000n).toString().padStart(8, "0")}`;
}

/**
 * An amount in BTC as Core writes it ("0.00012345", "1", "-0.5", "1.2e-7" is not Core's) to sats,
 * exactly; undefined for anything with more than 8 decimals or not a plain decimal.
 */
export function btcToSats(text: string): bigint | undefined {
  const m = /^(-?)(\d+)(?:\.(\d{1,8}))?$/.exec(text);
  if (!m) return undefined;
  const sats = BigInt(m[2]!) * 100_000_000n + BigInt((m[3] ?? "").padEnd(8, "0"));
  return m[1] ? -sats : sats;
}

/**
 * JSON text with every number literal turned into a string of its digits, so that JSON.parse never
 * makes a float of an amount: 0.1 stays "0.1". Strings are copied as they are (escapes included).
 */
export function quoteNumbers(text: string): string {
  let out = "";
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (ch === "-" || (ch >= "0" && ch <= "9")) {
      let j = i + 1;
      while (j < text.length && /[0-9eE.+-]/.test(text[j]!)) j++;
      out += `"${text.slice(i, j)}"`;
      i = j;
    } else {
      out += ch;
      i++;
    }
  }
  return out;
}
