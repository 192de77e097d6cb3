import * as bitcoin from "bitcoinjs-lib";
import { HDKey } from "@scure/bip32";
import { parseAddress } from "../../src/bitcoin/address.js";
import { checkDescriptor } from "../../src/bitcoin/descriptors.js";
import { networkFor } from "../../src/bitcoin/network.js";
import { type LocalChain, TxValidationError, RPC_VERIFY_ALREADY_IN_CHAIN, RPC_VERIFY_ERROR } from "./chain.js";

/**
 * Bitcoin Core's JSON-RPC face of the local chain: the calls the Core backend makes, answered in
 * Core's shapes and with its error codes (src/rpc/protocol.h), amounts written as Core writes them
 * (JSON numbers with 8 decimals). Wallets are watch-only descriptor wallets: importdescriptors
 * really derives the addresses of wpkh(xpub/c/*) and tr(xpub/c/*), so a wrong descriptor finds no
 * coins, and wallet calls see only the transactions touching those addresses.
 */

export const RPC_MISC_ERROR = -1;
export const RPC_INVALID_PARAMETER = -8;
export const RPC_INVALID_ADDRESS_OR_KEY = -5;
export const RPC_WALLET_ERROR = -4;
export const RPC_WALLET_NOT_FOUND = -18;
export const RPC_WALLET_NOT_SPECIFIED = -19;
export const RPC_WALLET_ALREADY_LOADED = -35;
export const RPC_METHOD_NOT_FOUND = -32601;
export const RPC_INVALID_REQUEST = -32600;

export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** A BTC amount written as a JSON number with 8 decimals, as Core's ValueFromAmount does. */
class Amount {
  constructor(readonly sats: bigint) {}
  text(): string {
    const neg = this.sats < 0n;
    const a = neg ? -this.sats : this.sats;
    return `${neg ? "-" : ""}${a / 100_000_000n}.${(a % 100_000_000n).toString().padStart(8, "0")}`;
  }
}
const btc = (sats: bigint) => new Amount(sats);

interface Imported {
  desc: string;
  end: number;
}

interface Wallet {
  name: string;
  privateKeys: boolean;
  loaded: boolean;
  descriptors: Imported[];
  /** Watched script (hex) → address. */
  scripts: Map<string, string>;
  /**
   * Transactions the wallet has seen, as Core's wallet keeps them: one the chain drops (evicted,
   * or gone in a reorganisation) stays listed, unconfirmed and out of the mempool.
   */
  seen: Map<string, bitcoin.Transaction>;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const prevTxid = (input: bitcoin.Transaction["ins"][number]) => hex(Uint8Array.from(input.hash).reverse());

export class CoreRpc {
  readonly #chain: LocalChain;
  readonly #wallets = new Map<string, Wallet>();
  /** Every call answered, for tests: method and wallet. */
  readonly calls: Array<{ method: string; wallet?: string }> = [];

  constructor(chain: LocalChain) {
    this.#chain = chain;
  }

  /** The imported descriptors of a wallet (tests). */
  descriptorsOf(name: string): readonly Imported[] {
    return this.#wallets.get(name)?.descriptors ?? [];
  }

  /** Unloads every wallet, as a node restart does (wallets load_on_startup come back). */
  restart(): void {
    for (const w of this.#wallets.values()) w.loaded = false;
  }

  /** Answers one JSON-RPC request body; returns the HTTP status and the JSON text. */
  handle(body: string, walletName: string | undefined): { status: number; text: string } {
    let req: { jsonrpc?: unknown; id?: unknown; method?: unknown; params?: unknown };
    try {
      req = JSON.parse(body) as typeof req;
    } catch {
      return { status: 500, text: JSON.stringify({ result: null, error: { code: -32700, message: "Parse error" }, id: null }) };
    }
    const v2 = req.jsonrpc === "2.0";
    const id = req.id ?? null;
    try {
      if (typeof req.method !== "string") throw new RpcError(RPC_INVALID_REQUEST, "Method must be a string");
      const params = req.params === undefined ? [] : req.params;
      if (!Array.isArray(params)) throw new RpcError(RPC_INVALID_REQUEST, "Params must be an array");
      this.calls.push({ method: req.method, ...(walletName ? { wallet: walletName } : {}) });
      const result = this.#dispatch(req.method, params, walletName);
      return { status: 200, text: serialize(v2 ? { jsonrpc: "2.0", result, id } : { result, error: null, id }) };
    } catch (e) {
      const err = e instanceof RpcError ? e : e instanceof TxValidationError ? new RpcError(e.code, e.reason) : new RpcError(RPC_MISC_ERROR, String(e));
      const error = { code: err.code, message: err.message };
      // JSON-RPC 1.0 (what bitcoin-cli speaks): HTTP 500, 404 for an unknown method, 400 for a bad request.
      const status = v2 ? 200 : err.code === RPC_METHOD_NOT_FOUND ? 404 : err.code === RPC_INVALID_REQUEST ? 400 : 500;
      return { status, text: serialize(v2 ? { jsonrpc: "2.0", error, id } : { result: null, error, id }) };
    }
  }

  #dispatch(method: string, p: unknown[], walletName: string | undefined): unknown {
    const chain = this.#chain;
    switch (method) {
      case "getblockcount":
        return chain.tipHeight;
      case "getbestblockhash":
        return chain.blockHash(chain.tipHeight);
      case "getblockchaininfo":
        return { chain: chain.network === "bitcoin" ? "main" : chain.network === "testnet" ? "test" : chain.network, blocks: chain.tipHeight, headers: chain.tipHeight, bestblockhash: chain.blockHash(chain.tipHeight), initialblockdownload: false, pruned: false };
      case "getblockheader":
        return this.#blockHeader(str(p[0], "blockhash"));
      case "estimatesmartfee":
        return this.#estimate(p[0]);
      case "getrawtransaction":
        return this.#rawTransaction(txidParam(p[0]), Boolean(p[1]));
      case "getmempoolentry": {
        const txid = txidParam(p[0]);
        const t = chain.tx(txid);
        if (!t || t.height !== undefined) throw new RpcError(RPC_INVALID_ADDRESS_OR_KEY, "Transaction not in mempool");
        return { vsize: t.tx.virtualSize(), weight: t.tx.weight(), fees: { base: btc(t.fee) }, depends: [], "bip125-replaceable": true };
      }
      case "gettxout":
        return this.#txOut(txidParam(p[0]), int(p[1], "n"), p[2] === undefined ? true : Boolean(p[2]));
      case "gettxspendingprevout": {
        if (!Array.isArray(p[0])) throw new RpcError(RPC_INVALID_PARAMETER, "Invalid parameter, outputs are missing");
        return p[0].map((o: { txid?: unknown; vout?: unknown }) => {
          const txid = txidParam(o?.txid);
          const vout = int(o?.vout, "vout");
          const s = chain.outspend(txid, vout);
          return s && s.height === undefined ? { txid, vout, spendingtxid: s.txid } : { txid, vout };
        });
      }
      case "testmempoolaccept":
        return this.#testAccept(p[0], p[1]);
      case "sendrawtransaction":
        return this.#send(str(p[0], "hexstring"), p[1]);
      case "createwallet":
        return this.#create(p);
      case "loadwallet":
        return this.#load(str(p[0], "filename"));
      case "unloadwallet": {
        const w = this.#wallet(walletName ?? str(p[0], "wallet_name"));
        w.loaded = false;
        return { warning: "" };
      }
      case "listwallets":
        return [...this.#wallets.values()].filter((w) => w.loaded).map((w) => w.name);
    }
    const walletMethods = ["getwalletinfo", "importdescriptors", "getaddressinfo", "listunspent", "listreceivedbyaddress", "gettransaction", "listsinceblock", "listdescriptors"];
    if (!walletMethods.includes(method)) throw new RpcError(RPC_METHOD_NOT_FOUND, "Method not found");
    if (walletName === undefined) {
      const loaded = [...this.#wallets.values()].filter((w) => w.loaded);
      if (loaded.length !== 1)
        throw new RpcError(loaded.length === 0 ? RPC_WALLET_NOT_FOUND : RPC_WALLET_NOT_SPECIFIED, loaded.length === 0 ? "No wallet is loaded. Load a wallet using loadwallet or create a new one with createwallet. (Note: A default wallet is no longer automatically created)" : "Multiple wallets are loaded. Please select which wallet to use by requesting the RPC through the /wallet/<walletname> URI path.");
      walletName = loaded[0]!.name;
    }
    const w = this.#wallets.get(walletName);
    if (!w || !w.loaded) throw new RpcError(RPC_WALLET_NOT_FOUND, "Requested wallet does not exist or is not loaded");
    switch (method) {
      case "getwalletinfo":
        return { walletname: w.name, walletversion: 169900, format: "sqlite", txcount: this.#walletTxids(w).length, keypoolsize: 0, private_keys_enabled: w.privateKeys, avoid_reuse: false, scanning: false, descriptors: true, external_signer: false };
      case "listdescriptors":
        return { wallet_name: w.name, descriptors: w.descriptors.map((d) => ({ desc: d.desc, timestamp: 0, active: false, range: [0, d.end] })) };
      case "importdescriptors":
        return this.#import(w, p[0]);
      case "getaddressinfo": {
        const parsed = parseAddress(str(p[0], "address"), chain.network);
        if (!parsed.ok) throw new RpcError(RPC_INVALID_ADDRESS_OR_KEY, "Invalid address");
        const mine = w.scripts.has(hex(parsed.script));
        return { address: parsed.address, scriptPubKey: hex(parsed.script), ismine: mine, solvable: mine, iswatchonly: false, isscript: false, iswitness: true, ischange: false, labels: [] };
      }
      case "listunspent":
        return this.#listUnspent(w, p);
      case "listreceivedbyaddress":
        return this.#listReceived(w, p);
      case "gettransaction":
        return this.#walletTx(w, txidParam(p[0]), Boolean(p[2]));
      case "listsinceblock":
        return {
          transactions: this.#walletTxids(w).map((txid) => {
            const t = chain.tx(txid)!;
            return { txid, category: "receive", confirmations: this.#confirmations(t.height), ...(t.height !== undefined ? { blockheight: t.height, blockhash: t.blockHash } : {}) };
          }),
          removed: [],
          lastblock: chain.blockHash(chain.tipHeight),
        };
    }
    throw new RpcError(RPC_METHOD_NOT_FOUND, "Method not found");
  }

  #wallet(name: string): Wallet {
    const w = this.#wallets.get(name);
    if (!w || !w.loaded) throw new RpcError(RPC_WALLET_NOT_FOUND, "Requested wallet does not exist or is not loaded");
    return w;
  }

  // createwallet "wallet_name" disable_private_keys blank "passphrase" avoid_reuse descriptors load_on_startup
  #create(p: unknown[]) {
    const name = str(p[0], "wallet_name");
    if (this.#wallets.has(name))
      throw new RpcError(RPC_WALLET_ERROR, `Wallet file verification failed. Failed to create database path '/root/.bitcoin/regtest/wallets/${name}'. Database already exists.`);
    if (p[5] === false) throw new RpcError(RPC_WALLET_ERROR, "Legacy wallets are not supported by the local chain");
    this.#wallets.set(name, { name, privateKeys: p[1] !== true, loaded: true, descriptors: [], scripts: new Map(), seen: new Map() });
    return { name, warnings: [] };
  }

  #load(name: string) {
    const w = this.#wallets.get(name);
    if (!w)
      throw new RpcError(RPC_WALLET_NOT_FOUND, `Wallet file verification failed. Failed to load database path '/root/.bitcoin/regtest/wallets/${name}'. Path does not exist.`);
    if (w.loaded) throw new RpcError(RPC_WALLET_ALREADY_LOADED, `Wallet "${name}" is already loaded.`);
    w.loaded = true;
    return { name, warnings: [] };
  }

  #import(w: Wallet, requests: unknown) {
    if (!Array.isArray(requests)) throw new RpcError(-3, "Expected type array, got " + typeof requests);
    return requests.map((r: { desc?: unknown; range?: unknown; timestamp?: unknown }) => {
      try {
        if (r?.timestamp === undefined) throw new RpcError(-3, "Missing required timestamp field for key");
        const text = str(r.desc, "desc");
        const checked = checkDescriptor(text);
        if (!checked.ok) throw new RpcError(RPC_INVALID_ADDRESS_OR_KEY, checked.reason);
        if (!text.includes("#")) throw new RpcError(RPC_INVALID_ADDRESS_OR_KEY, "Missing checksum");
        const m = /^(wpkh|tr)\((?:\[[0-9a-f]{8}(?:\/\d+['h]?)*\])?([1-9A-HJ-NP-Za-km-z]+)\/(\d+)\/\*\)$/.exec(checked.descriptor);
        if (!m) throw new RpcError(RPC_INVALID_ADDRESS_OR_KEY, "The local chain imports wpkh(xpub/<chain>/*) and tr(xpub/<chain>/*) only");
        const [, fn, key, chainIndex] = m;
        const net = networkFor(this.#chain.network);
        let hd: HDKey;
        try {
          hd = HDKey.fromExtendedKey(key!, net.bip32);
        } catch {
          throw new RpcError(RPC_INVALID_ADDRESS_OR_KEY, `key '${key!.slice(0, 12)}…' is not valid`);
        }
        if (hd.privateKey && !w.privateKeys) throw new RpcError(RPC_WALLET_ERROR, "Cannot import private keys to a wallet with private keys disabled");
        const range = r.range;
        let end: number;
        if (typeof range === "number") end = range;
        else if (Array.isArray(range) && range.length === 2 && range[0] === 0 && typeof range[1] === "number") end = range[1];
        else if (range === undefined) throw new RpcError(RPC_INVALID_PARAMETER, "Ranged descriptors should not have a label"); // (Core: a range is required)
        else throw new RpcError(RPC_INVALID_PARAMETER, "Range should be greater or equal than 0 and [0, end]");
        if (!Number.isInteger(end) || end < 0 || end > 100_000) throw new RpcError(RPC_INVALID_PARAMETER, "Range is too large");
        const branch = hd.deriveChild(Number(chainIndex));
        const prev = w.descriptors.find((d) => d.desc === text);
        for (let i = prev ? prev.end + 1 : 0; i <= end; i++) {
          const pubkey = branch.deriveChild(i).publicKey!;
          const pay = fn === "wpkh" ? bitcoin.payments.p2wpkh({ pubkey, network: net }) : bitcoin.payments.p2tr({ internalPubkey: pubkey.subarray(1, 33), network: net });
          w.scripts.set(hex(pay.output!), pay.address!);
        }
        if (prev) prev.end = Math.max(prev.end, end);
        else w.descriptors.push({ desc: text, end });
        return { success: true };
      } catch (e) {
        if (!(e instanceof RpcError)) throw e;
        return { success: false, error: { code: e.code, message: e.message } };
      }
    });
  }

  #confirmations(height: number | undefined): number {
    return height === undefined ? 0 : this.#chain.tipHeight - height + 1;
  }

  /** Transactions paying or spending the wallet's scripts. */
  #walletTxids(w: Wallet): string[] {
    const ids = new Set<string>();
    for (const sh of w.scripts.keys()) for (const t of this.#chain.txsOf(Buffer.from(sh, "hex"))) ids.add(t.txid);
    return [...ids];
  }

  #listUnspent(w: Wallet, p: unknown[]) {
    const minconf = p[0] === undefined ? 1 : int(p[0], "minconf");
    const maxconf = p[1] === undefined ? 9_999_999 : int(p[1], "maxconf");
    let scripts = [...w.scripts.keys()];
    if (Array.isArray(p[2]) && p[2].length > 0) {
      scripts = p[2].map((a) => {
        const parsed = parseAddress(String(a), this.#chain.network);
        if (!parsed.ok) throw new RpcError(RPC_INVALID_ADDRESS_OR_KEY, `Invalid Bitcoin address: ${String(a)}`);
        return hex(parsed.script);
      }).filter((sh) => w.scripts.has(sh));
    }
    const out = [];
    for (const sh of scripts) {
      for (const u of this.#chain.utxosOf(Buffer.from(sh, "hex"))) {
        const confirmations = this.#confirmations(u.height);
        if (confirmations < minconf || confirmations > maxconf) continue;
        out.push({ txid: u.txid, vout: u.vout, address: w.scripts.get(sh), scriptPubKey: sh, amount: btc(u.value), confirmations, spendable: false, solvable: true, safe: confirmations > 0 });
      }
    }
    return out;
  }

  #listReceived(w: Wallet, p: unknown[]) {
    const minconf = p[0] === undefined ? 1 : int(p[0], "minconf");
    let scripts = [...w.scripts.keys()];
    if (p[3] !== undefined) {
      const parsed = parseAddress(str(p[3], "address_filter"), this.#chain.network);
      if (!parsed.ok) throw new RpcError(RPC_WALLET_ERROR, "address_filter parameter was invalid");
      scripts = scripts.filter((sh) => sh === hex(parsed.script));
    }
    const out = [];
    for (const sh of scripts) {
      const live = this.#chain.txsOf(Buffer.from(sh, "hex")).filter((t) => t.tx.outs.some((o) => hex(o.script) === sh));
      for (const t of live) w.seen.set(t.txid, t.tx);
      const dropped = [...w.seen].filter(([id, tx]) => !this.#chain.tx(id) && tx.outs.some((o) => hex(o.script) === sh)).map(([txid, tx]) => ({ txid, tx, height: undefined }));
      const txs = [...live, ...dropped].filter((t) => this.#confirmations(t.height) >= minconf);
      if (txs.length === 0) continue;
      const amount = txs.reduce((s, t) => s + t.tx.outs.filter((o) => hex(o.script) === sh).reduce((a, o) => a + BigInt(o.value), 0n), 0n);
      out.push({ address: w.scripts.get(sh), amount: btc(amount), confirmations: Math.min(...txs.map((t) => this.#confirmations(t.height))), label: "", txids: txs.map((t) => t.txid) });
    }
    return out;
  }

  #walletTx(w: Wallet, txid: string, verbose: boolean) {
    const t = this.#chain.tx(txid);
    const dropped = !t ? w.seen.get(txid) : undefined;
    if (dropped)
      return { amount: btc(0n), confirmations: 0, trusted: false, txid, time: Math.floor(Date.now() / 1000), details: [], hex: dropped.toHex(), ...(verbose ? { decoded: this.#decode(dropped) } : {}) };
    const touches = t && (t.tx.outs.some((o) => w.scripts.has(hex(o.script))) || t.spent.some((c) => w.scripts.has(hex(c.script))));
    if (!t || !touches) throw new RpcError(RPC_INVALID_ADDRESS_OR_KEY, "Invalid or non-wallet transaction id");
    w.seen.set(txid, t.tx);
    const mine = t.tx.outs.reduce((s, o) => s + (w.scripts.has(hex(o.script)) ? BigInt(o.value) : 0n), 0n);
    const block = t.height === undefined ? {} : { blockhash: t.blockHash, blockheight: t.height, blockindex: this.#chain.blockAt(t.height)!.txids.indexOf(txid), blocktime: t.blockTime };
    return {
      amount: btc(mine),
      confirmations: this.#confirmations(t.height),
      ...block,
      txid,
      time: t.blockTime ?? Math.floor(Date.now() / 1000),
      "bip125-replaceable": t.height === undefined ? "yes" : "no",
      details: [],
      hex: t.hex,
      ...(verbose ? { decoded: this.#decode(t.tx) } : {}),
    };
  }

  #decode(tx: bitcoin.Transaction) {
    const net = networkFor(this.#chain.network);
    return {
      txid: tx.getId(),
      version: tx.version,
      size: tx.byteLength(),
      vsize: tx.virtualSize(),
      weight: tx.weight(),
      locktime: tx.locktime,
      vin: tx.ins.map((i) => ({ txid: prevTxid(i), vout: i.index, scriptSig: { asm: "", hex: hex(i.script) }, txinwitness: i.witness.map(hex), sequence: i.sequence })),
      vout: tx.outs.map((o, n) => {
        let address: string | undefined;
        try {
          address = bitcoin.address.fromOutputScript(o.script, net);
        } catch {
          address = undefined;
        }
        return { value: btc(BigInt(o.value)), n, scriptPubKey: { hex: hex(o.script), ...(address ? { address } : {}) } };
      }),
    };
  }

  #rawTransaction(txid: string, verbose: boolean) {
    const t = this.#chain.tx(txid);
    if (!t) throw new RpcError(RPC_INVALID_ADDRESS_OR_KEY, "No such mempool or blockchain transaction. Use gettransaction for wallet transactions.");
    if (!verbose) return t.hex;
    const block = t.height === undefined ? {} : { blockhash: t.blockHash, confirmations: this.#confirmations(t.height), time: t.blockTime, blocktime: t.blockTime };
    return { ...this.#decode(t.tx), hex: t.hex, ...block };
  }

  #blockHeader(hash: string) {
    for (let h = this.#chain.tipHeight; h >= 0; h--) {
      const b = this.#chain.blockAt(h)!;
      if (b.hash === hash)
        return { hash, confirmations: this.#chain.tipHeight - h + 1, height: h, time: b.time, ...(h > 0 ? { previousblockhash: this.#chain.blockHash(h - 1) } : {}) };
    }
    throw new RpcError(RPC_INVALID_ADDRESS_OR_KEY, "Block not found");
  }

  #txOut(txid: string, vout: number, includeMempool: boolean) {
    const t = this.#chain.tx(txid);
    if (!t || vout >= t.tx.outs.length) return null;
    if (t.height === undefined && !includeMempool) return null;
    const s = this.#chain.outspend(txid, vout);
    if (s && (includeMempool || s.height !== undefined)) return null;
    const o = t.tx.outs[vout]!;
    return { bestblock: this.#chain.blockHash(this.#chain.tipHeight), confirmations: this.#confirmations(t.height), value: btc(BigInt(o.value)), scriptPubKey: { hex: hex(o.script) }, coinbase: false };
  }

  /** Core's estimatesmartfee: BTC/kvB for the target, from the chain's sat/vB estimates (nearest target at or below). */
  #estimate(target: unknown) {
    const t = int(target, "conf_target");
    if (t < 1 || t > 1008) throw new RpcError(RPC_INVALID_PARAMETER, "Invalid conf_target, must be between 1 and 1008");
    const keys = Object.keys(this.#chain.feeEstimates).map(Number).filter((k) => Number.isInteger(k) && k > 0).sort((a, b) => a - b);
    const k = [...keys].reverse().find((x) => x <= t) ?? keys[0];
    if (k === undefined) return { errors: ["Insufficient data or no feerate found"], blocks: t };
    const satPerKvb = BigInt(Math.round(this.#chain.feeEstimates[String(k)]! * 1000));
    return { feerate: btc(satPerKvb), blocks: Math.max(k, 2) };
  }

  /** maxfeerate in BTC/kvB (number or string), to sat/kvB; Core's default is 0.10. */
  #maxFeeRate(v: unknown): bigint {
    if (v === undefined || v === null) return 10_000_000n;
    const m = /^(\d+)(?:\.(\d{1,8}))?$/.exec(String(v));
    if (!m) throw new RpcError(-3, "Invalid amount");
    return BigInt(m[1]!) * 100_000_000n + BigInt((m[2] ?? "").padEnd(8, "0"));
  }

  #testAccept(rawtxs: unknown, maxfeerate: unknown) {
    if (!Array.isArray(rawtxs) || rawtxs.length !== 1) throw new RpcError(RPC_INVALID_PARAMETER, "Array must contain between 1 and 25 transactions.");
    const max = this.#maxFeeRate(maxfeerate);
    const raw = str(rawtxs[0], "rawtxs");
    let txid = "";
    try {
      txid = bitcoin.Transaction.fromHex(raw.trim()).getId();
    } catch {
      throw new RpcError(-22, `TX decode failed: ${raw.slice(0, 10)}… Make sure the tx has at least one input.`);
    }
    const known = this.#chain.tx(txid);
    if (known) return [{ txid, allowed: false, "reject-reason": known.height === undefined ? "txn-already-in-mempool" : "txn-already-known" }];
    try {
      const r = this.#chain.testAccept(raw);
      if ((r.fee * 1000n) / BigInt(r.vsize) > max) return [{ txid, allowed: false, "reject-reason": "max-fee-exceeded" }];
      return [{ txid, allowed: true, vsize: r.vsize, fees: { base: btc(r.fee) } }];
    } catch (e) {
      if (!(e instanceof TxValidationError)) throw e;
      const reason = e.code === RPC_VERIFY_ERROR && /missingorspent/.test(e.reason) ? "missing-inputs" : e.reason;
      return [{ txid, allowed: false, "reject-reason": reason }];
    }
  }

  #send(raw: string, maxfeerate: unknown): string {
    const max = this.#maxFeeRate(maxfeerate);
    let txid: string;
    try {
      txid = bitcoin.Transaction.fromHex(raw.trim()).getId();
    } catch {
      throw new RpcError(-22, "TX decode failed. Make sure the tx has at least one input.");
    }
    const known = this.#chain.tx(txid);
    // Core re-announces a transaction its mempool has and answers with its txid.
    if (known && known.height === undefined) return txid;
    if (known) throw new RpcError(RPC_VERIFY_ALREADY_IN_CHAIN, "Transaction outputs already in utxo set");
    const r = this.#chain.testAccept(raw);
    if ((r.fee * 1000n) / BigInt(r.vsize) > max) throw new RpcError(RPC_VERIFY_ERROR, "Fee exceeds maximum configured by user (e.g. -maxtxfee, maxfeerate)");
    return this.#chain.submit(raw);
  }
}

function str(v: unknown, name: string): string {
  if (typeof v !== "string") throw new RpcError(-3, `JSON value of type ${v === null ? "null" : typeof v} for field ${name} is not of expected type string`);
  return v;
}

function int(v: unknown, name: string): number {
  if (typeof v !== "number" || !Number.isInteger(v)) throw new RpcError(-3, `JSON value for ${name} is not of expected type number`);
  return v;
}

function txidParam(v: unknown): string {
  const s = str(v, "txid");
  if (!/^[0-9a-f]{64}$/.test(s)) throw new RpcError(RPC_INVALID_PARAMETER, `txid must be of length 64 (not ${s.length}, for '${s.slice(0, 70)}')`);
  return s;
}

/** JSON with Amounts written as bare 8-decimal numbers. */
function serialize(value: unknown): string {
  const marks: string[] = [];
  const text = JSON.stringify(value, (_k, v: unknown) => {
    if (v instanceof Amount) {
      marks.push(v.text());
      return `\u0001amount${marks.length - 1}\u0001`;
    }
    if (typeof v === "bigint") return Number(v);
    return v;
  });
  return text.replace(/"\\u0001amount(\d+)\\u0001"/g, (_m, i: string) => marks[Number(i)]!);
}
