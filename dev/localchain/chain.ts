import { createHash, randomBytes } from "node:crypto";
import * as bitcoin from "bitcoinjs-lib";
import * as ecc from "tiny-secp256k1";
import { DUST_LIMIT, parseAddress, scriptType } from "../../src/bitcoin/address.js";
import type { NetworkName } from "../../src/bitcoin/network.js";

bitcoin.initEccLib(ecc);

/**
 * An in-memory Bitcoin chain for tests and demos: a UTXO set, a mempool and
 * blocks. Every submitted transaction is checked for real — inputs exist and
 * are unspent, every signature verifies against its prevout (segwit v0 and
 * taproot key path), outputs are standard and above dust, the fee rate is at
 * least 1 sat/vB. A spend of a coin a mempool transaction already spends is
 * a replacement, accepted under BIP125 as Bitcoin Core 24–27 applies it with
 * mempoolfullrbf off. No proof of work and no coinbase maturity: "mine" just
 * confirms the mempool.
 */

export interface Outpoint {
  txid: string;
  vout: number;
}

interface Coin {
  txid: string;
  vout: number;
  value: bigint;
  script: Uint8Array;
}

interface KnownTx {
  tx: bitcoin.Transaction;
  hex: string;
  fee: bigint;
  /** The coins it spent, kept so that evicting it from the mempool can give them back. */
  spent: Coin[];
  height?: number;
  blockHash?: string;
  blockTime?: number;
}

interface Block {
  height: number;
  hash: string;
  time: number;
  txids: string[];
}

/** Bitcoin Core's RPC error codes for sendrawtransaction, which Esplora passes on. */
export const RPC_DESERIALIZATION_ERROR = -22;
export const RPC_VERIFY_ERROR = -25;
export const RPC_VERIFY_REJECTED = -26;
export const RPC_VERIFY_ALREADY_IN_CHAIN = -27;

export class TxValidationError extends Error {
  constructor(
    readonly reason: string,
    /** Core's RPC code: -26 (rejected) unless said otherwise. */
    readonly code: number = RPC_VERIFY_REJECTED,
  ) {
    super(reason);
    this.name = "TxValidationError";
  }
}

const MAX_MONEY = 21_000_000n * 100_000_000n;
const MIN_RELAY_SAT_PER_KVB = 1000n;
const MAX_STANDARD_WEIGHT = 400_000;
const SEQUENCE_FINAL = 0xffffffff;
/** An input with an nSequence at most this signals that its transaction may be replaced (BIP125). */
const MAX_BIP125_RBF_SEQUENCE = 0xfffffffd;
/** Core's default incrementalrelayfee: what a replacement pays on top of the fees it evicts, per kvB of itself. */
const INCREMENTAL_RELAY_SAT_PER_KVB = 1000n;
/** Core's MAX_REPLACEMENT_CANDIDATES (BIP125 rule 5). */
const MAX_REPLACEMENT_CANDIDATES = 100;

const key = (txid: string, vout: number) => `${txid}:${vout}`;
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const prevTxid = (input: bitcoin.Transaction["ins"][number]) => hex(Uint8Array.from(input.hash).reverse());

/** BIP125 rule 1: any input with nSequence below 0xfffffffe. */
function signalsReplaceability(tx: bitcoin.Transaction): boolean {
  return tx.ins.some((i) => i.sequence <= MAX_BIP125_RBF_SEQUENCE);
}

/** Core's FormatMoney: BTC with trailing zeros trimmed down to two decimals ("0.00012", "1.00"). */
function formatMoney(sats: bigint): string {
  const text = `${sats / 100_000_000n}.${(sats % 100_000_000n).toString().padStart(8, "0")}`;
  return text.replace(/(\.\d\d\d*?)0+$/, "$1");
}

/** Core's CFeeRate::ToString: "0.00002000 BTC/kvB". */
function btcPerKvb(satPerKvb: bigint): string {
  return `${satPerKvb / 100_000_000n}.${(satPerKvb % 100_000_000n).toString().padStart(8, "0")} BTC/kvB`;
}

export class LocalChain {
  readonly network: NetworkName;
  /** Fee estimates served at /fee-estimates, in sat/vB by target. */
  feeEstimates: Record<string, number> = { "1": 20, "3": 12, "6": 8, "12": 5, "25": 3, "144": 1.5, "504": 1, "1008": 1 };

  #utxos = new Map<string, Coin & { height?: number }>();
  #byScript = new Map<string, Set<string>>();
  #touching = new Map<string, Set<string>>();
  #spentBy = new Map<string, { txid: string; vin: number }>();
  #txs = new Map<string, KnownTx>();
  #mempool: string[] = [];
  #blocks: Block[] = [];
  #fundCounter = 0;

  constructor(network: NetworkName = "regtest") {
    this.network = network;
    this.#blocks.push({ height: 0, hash: hex(randomBytes(32)), time: Math.floor(Date.now() / 1000), txids: [] });
  }

  get tipHeight(): number {
    return this.#blocks.length - 1;
  }

  blockHash(height: number): string | undefined {
    return this.#blocks[height]?.hash;
  }

  get mempoolTxids(): readonly string[] {
    return this.#mempool;
  }

  /** Sends sats to an address from nowhere (like a faucet); the output waits in the mempool until mined. */
  fund(address: string, sats: bigint): Outpoint {
    return this.fundMany([{ address, sats }])[0]!;
  }

  /** One faucet transaction paying many outputs. */
  fundMany(outputs: ReadonlyArray<{ address: string; sats: bigint }>): Outpoint[] {
    if (outputs.length === 0) throw new Error("fundMany needs at least one output");
    const tx = new bitcoin.Transaction();
    tx.version = 2;
    // A unique fake previous output keeps every faucet txid distinct.
    const prev = createHash("sha256").update(`localchain-faucet-${++this.#fundCounter}-${Date.now()}`).digest();
    tx.addInput(prev, 0);
    for (const o of outputs) {
      const parsed = parseAddress(o.address, this.network);
      if (!parsed.ok) throw new Error(`Cannot fund ${o.address}: ${parsed.reason}`);
      if (o.sats <= 0n || o.sats > MAX_MONEY) throw new Error(`Cannot fund ${o.sats} sats`);
      tx.addOutput(parsed.script, o.sats);
    }
    const txid = tx.getId();
    this.#accept(tx, 0n, []);
    return outputs.map((_, vout) => ({ txid, vout }));
  }

  /** Confirms the whole mempool in the first new block; returns the new tip height. */
  mine(blocks = 1): number {
    for (let i = 0; i < blocks; i++) {
      const height = this.#blocks.length;
      const prev = this.#blocks[height - 1]!;
      const hash = createHash("sha256").update(prev.hash).update(String(height)).update(randomBytes(8)).digest("hex");
      const time = Math.max(prev.time + 1, Math.floor(Date.now() / 1000));
      const txids = this.#mempool;
      this.#mempool = [];
      for (const txid of txids) {
        const t = this.#txs.get(txid)!;
        t.height = height;
        t.blockHash = hash;
        t.blockTime = time;
        for (let vout = 0; vout < t.tx.outs.length; vout++) {
          const u = this.#utxos.get(key(txid, vout));
          if (u) u.height = height;
        }
      }
      this.#blocks.push({ height, hash, time, txids });
    }
    return this.tipHeight;
  }

  /**
   * A reorganisation: disconnects the last `blocks` blocks (their transactions go back to the
   * mempool, as a node puts them back) and then drops the transactions in `drop` — each with
   * everything in the mempool that spends its outputs — as if the new chain had a conflicting
   * spend instead. Mine afterwards to build the new branch. Returns the new tip and what was dropped.
   */
  reorg(blocks: number, drop: readonly string[] = []): { height: number; dropped: string[] } {
    if (!Number.isInteger(blocks) || blocks < 0 || blocks > this.tipHeight) {
      throw new Error(`cannot disconnect ${blocks} block(s) from a chain of height ${this.tipHeight}`);
    }
    // Refuse before changing anything: each dropped transaction must be unconfirmed once the blocks are gone.
    const leaving = new Set(this.#blocks.slice(this.#blocks.length - blocks).flatMap((b) => b.txids));
    for (const txid of drop) {
      const t = this.#txs.get(txid);
      if (!t || (t.height !== undefined && !leaving.has(txid))) {
        throw new Error(`${txid} is not in the mempool after disconnecting ${blocks} block(s)`);
      }
    }
    const disconnected = this.#blocks.splice(this.#blocks.length - blocks, blocks);
    const back: string[] = [];
    for (const b of disconnected) {
      for (const txid of b.txids) {
        const t = this.#txs.get(txid)!;
        t.height = undefined;
        t.blockHash = undefined;
        t.blockTime = undefined;
        for (let vout = 0; vout < t.tx.outs.length; vout++) {
          const u = this.#utxos.get(key(txid, vout));
          if (u) u.height = undefined;
        }
        back.push(txid);
      }
    }
    // Disconnected transactions come before what was already waiting, parents before children.
    this.#mempool = [...back, ...this.#mempool];
    const dropped: string[] = [];
    for (const txid of drop) {
      if (!this.#txs.has(txid)) continue; // a descendant of one dropped before
      for (const id of this.#withDescendants([txid])) {
        this.#forget(id);
        dropped.push(id);
      }
    }
    return { height: this.tipHeight, dropped };
  }

  /** Validates and accepts a raw transaction into the mempool; throws TxValidationError with a node-style reason. */
  submit(rawHex: string): string {
    const v = this.#validate(rawHex);
    for (const id of v.evicted) this.#forget(id);
    this.#accept(v.tx, v.fee, v.prevouts);
    return v.txid;
  }

  /** What submit would do, without doing it (testmempoolaccept): the txid, fee and vsize, or TxValidationError. */
  testAccept(rawHex: string): { txid: string; fee: bigint; vsize: number } {
    const v = this.#validate(rawHex);
    return { txid: v.txid, fee: v.fee, vsize: Number(v.vsize) };
  }

  #validate(rawHex: string) {
    let tx: bitcoin.Transaction;
    try {
      if (!/^([0-9a-fA-F]{2})+$/.test(rawHex.trim())) throw new Error("not hex");
      tx = bitcoin.Transaction.fromHex(rawHex.trim());
    } catch {
      throw new TxValidationError("TX decode failed", RPC_DESERIALIZATION_ERROR);
    }
    const txid = tx.getId();
    const known = this.#txs.get(txid);
    if (known) {
      // Refused with the words older Core releases and Esplora instances use, so that callers
      // which resend a transaction are tested against the answer they will meet.
      if (known.height === undefined) throw new TxValidationError("txn-already-in-mempool", RPC_VERIFY_REJECTED);
      throw new TxValidationError("Transaction already in block chain", RPC_VERIFY_ALREADY_IN_CHAIN);
    }
    if (tx.ins.length === 0) throw new TxValidationError("bad-txns-vin-empty");
    if (tx.outs.length === 0) throw new TxValidationError("bad-txns-vout-empty");
    if (tx.version < 1 || tx.version > 3) throw new TxValidationError("version");
    if (tx.weight() > MAX_STANDARD_WEIGHT) throw new TxValidationError("tx-size");

    const prevouts: Coin[] = [];
    const seen = new Set<string>();
    /** Mempool transactions spending a coin this one spends: it can only replace them. */
    const conflicts = new Set<string>();
    for (const input of tx.ins) {
      const k = key(prevTxid(input), input.index);
      if (seen.has(k)) throw new TxValidationError("bad-txns-inputs-duplicate");
      seen.add(k);
      let coin: Coin | undefined = this.#utxos.get(k);
      if (!coin) {
        const spender = this.#spentBy.get(k);
        const other = spender && this.#txs.get(spender.txid);
        if (!spender || !other || other.height !== undefined)
          throw new TxValidationError(`bad-txns-inputs-missingorspent (input ${k})`, RPC_VERIFY_ERROR);
        // BIP125 rule 1, as Core checks it: the conflict itself signals (no inherited signalling).
        if (!signalsReplaceability(other.tx))
          throw new TxValidationError(`txn-mempool-conflict (input ${k} already spent by ${spender.txid})`);
        conflicts.add(spender.txid);
        coin = other.spent[spender.vin]!;
      }
      prevouts.push(coin);
    }

    let outValue = 0n;
    for (const [vout, out] of tx.outs.entries()) {
      const value = BigInt(out.value);
      if (value < 0n || value > MAX_MONEY) throw new TxValidationError("bad-txns-vout-toolarge");
      outValue += value;
      const type = scriptType(out.script);
      if (type === undefined) {
        if (out.script[0] === bitcoin.opcodes.OP_RETURN && value === 0n && out.script.length <= 83) continue;
        throw new TxValidationError(`scriptpubkey (output ${vout} is not a standard script)`);
      }
      if (value < DUST_LIMIT[type]) throw new TxValidationError(`dust (output ${vout}: ${value} sats < ${DUST_LIMIT[type]})`);
    }
    if (outValue > MAX_MONEY) throw new TxValidationError("bad-txns-txouttotal-toolarge");
    const inValue = prevouts.reduce((s, c) => s + c.value, 0n);
    if (inValue < outValue) throw new TxValidationError(`bad-txns-in-belowout, value in (${inValue}) < value out (${outValue})`);

    if (!this.#isFinal(tx)) throw new TxValidationError("non-final");

    for (let i = 0; i < tx.ins.length; i++) this.#verifyInput(tx, i, prevouts);

    const fee = inValue - outValue;
    const vsize = BigInt(tx.virtualSize());
    const minFee = (vsize * MIN_RELAY_SAT_PER_KVB + 999n) / 1000n;
    if (fee < minFee) throw new TxValidationError(`min relay fee not met, ${fee} < ${minFee}`);

    const evicted = conflicts.size > 0 ? this.#replacementChecks(tx, fee, vsize, conflicts) : [];
    return { tx, txid, fee, vsize, evicted, prevouts };
  }

  /**
   * BIP125 rules 2–6 in the order and words of Core's ReplacementChecks, for
   * a transaction spending coins that the mempool transactions `conflicts`
   * spend. Returns what it evicts: the conflicts and their descendants,
   * children first.
   */
  #replacementChecks(tx: bitcoin.Transaction, fee: bigint, vsize: bigint, conflicts: ReadonlySet<string>): string[] {
    const txid = tx.getId();
    const evicted = this.#withDescendants([...conflicts]);
    const evicting = new Set(evicted);
    for (const input of tx.ins) {
      const parent = prevTxid(input);
      if (evicting.has(parent))
        throw new TxValidationError(`bad-txns-spends-conflicting-tx, ${txid} spends conflicting transaction ${parent}`);
    }
    // Rule 6: a higher fee rate than each transaction it directly replaces (in whole sat/kvB, as CFeeRate has it).
    const rate = (fee * 1000n) / vsize;
    for (const id of conflicts) {
      const c = this.#txs.get(id)!;
      const oldRate = (c.fee * 1000n) / BigInt(c.tx.virtualSize());
      if (rate <= oldRate)
        throw new TxValidationError(
          `insufficient fee, rejecting replacement ${txid}; new feerate ${btcPerKvb(rate)} <= old feerate ${btcPerKvb(oldRate)}`,
        );
    }
    // Rule 5.
    if (evicted.length > MAX_REPLACEMENT_CANDIDATES)
      throw new TxValidationError(
        `too many potential replacements, rejecting replacement ${txid}; too many potential replacements (${evicted.length} > ${MAX_REPLACEMENT_CANDIDATES})`,
      );
    // Rule 2: no unconfirmed inputs but those the replaced transactions already had.
    const parentsOfConflicts = new Set([...conflicts].flatMap((id) => this.#txs.get(id)!.tx.ins.map(prevTxid)));
    for (const [vin, input] of tx.ins.entries()) {
      const parent = prevTxid(input);
      const known = this.#txs.get(parent);
      if (!parentsOfConflicts.has(parent) && known && known.height === undefined)
        throw new TxValidationError(`replacement-adds-unconfirmed, replacement ${txid} adds unconfirmed input, idx ${vin}`);
    }
    // Rules 3 and 4: pays for everything it evicts, and for its own relay on top.
    const evictedFees = evicted.reduce((s, id) => s + this.#txs.get(id)!.fee, 0n);
    if (fee < evictedFees)
      throw new TxValidationError(
        `insufficient fee, rejecting replacement ${txid}, less fees than conflicting txs; ${formatMoney(fee)} < ${formatMoney(evictedFees)}`,
      );
    const relayFee = (vsize * INCREMENTAL_RELAY_SAT_PER_KVB + 999n) / 1000n;
    if (fee - evictedFees < relayFee)
      throw new TxValidationError(
        `insufficient fee, rejecting replacement ${txid}, not enough additional fees to relay; ${formatMoney(fee - evictedFees)} < ${formatMoney(relayFee)}`,
      );
    return evicted;
  }

  #isFinal(tx: bitcoin.Transaction): boolean {
    if (tx.locktime === 0) return true;
    if (tx.ins.every((i) => i.sequence === SEQUENCE_FINAL)) return true;
    if (tx.locktime < 500_000_000) return tx.locktime < this.tipHeight + 1;
    return tx.locktime < this.#blocks[this.tipHeight]!.time;
  }

  #verifyInput(tx: bitcoin.Transaction, i: number, prevouts: Coin[]): void {
    const input = tx.ins[i]!;
    const prev = prevouts[i]!;
    const type = scriptType(prev.script);
    const fail = (why: string) => {
      throw new TxValidationError(`mandatory-script-verify-flag-failed (input ${i}: ${why})`);
    };
    if (input.script.length !== 0) fail("native segwit inputs must have an empty scriptSig");
    const witness = input.witness;
    if (type === "p2wpkh") {
      if (witness.length !== 2) fail("P2WPKH witness must be [signature, pubkey]");
      const [sigWithType, pubkey] = witness as [Uint8Array, Uint8Array];
      if (pubkey.length !== 33 || !ecc.isPoint(pubkey)) fail("witness pubkey is not a compressed public key");
      if (hex(bitcoin.crypto.hash160(pubkey)) !== hex(prev.script.subarray(2)))
        fail("witness pubkey does not match the P2WPKH program");
      let decoded: { signature: Uint8Array; hashType: number };
      try {
        decoded = bitcoin.script.signature.decode(sigWithType);
      } catch {
        return fail("signature is not strict DER");
      }
      const scriptCode = Uint8Array.from([0x76, 0xa9, 0x14, ...prev.script.subarray(2), 0x88, 0xac]);
      const sighash = tx.hashForWitnessV0(i, scriptCode, prev.value, decoded.hashType);
      if (!ecc.verify(sighash, pubkey, decoded.signature, true)) fail("Signature must be zero for failed CHECK(MULTI)SIG operation");
      return;
    }
    if (type === "p2tr") {
      if (witness.length === 0) fail("Witness program was passed an empty witness");
      if (witness.length !== 1) fail("the local chain verifies taproot key-path spends only");
      const sig = witness[0]!;
      let hashType: number = bitcoin.Transaction.SIGHASH_DEFAULT;
      if (sig.length === 65) {
        hashType = sig[64]!;
        if (hashType === bitcoin.Transaction.SIGHASH_DEFAULT) fail("Invalid Schnorr signature hash type");
      } else if (sig.length !== 64) fail("Invalid Schnorr signature size");
      const sighash = tx.hashForWitnessV1(
        i,
        prevouts.map((p) => p.script),
        prevouts.map((p) => p.value),
        hashType,
      );
      if (!ecc.verifySchnorr(sighash, prev.script.subarray(2), sig.subarray(0, 64))) fail("Invalid Schnorr signature");
      return;
    }
    fail(`the local chain only spends P2WPKH and P2TR outputs, not ${type ?? "this script"}`);
  }

  #accept(tx: bitcoin.Transaction, fee: bigint, prevouts: Coin[]): void {
    const txid = tx.getId();
    for (const [vin, coin] of prevouts.entries()) {
      const k = key(coin.txid, coin.vout);
      this.#utxos.delete(k);
      const sh = hex(coin.script);
      this.#byScript.get(sh)?.delete(k);
      this.#spentBy.set(k, { txid, vin });
      this.#touch(sh, txid);
    }
    for (const [vout, out] of tx.outs.entries()) {
      const k = key(txid, vout);
      const coin = { txid, vout, value: BigInt(out.value), script: Uint8Array.from(out.script) };
      this.#utxos.set(k, coin);
      const sh = hex(out.script);
      let set = this.#byScript.get(sh);
      if (!set) this.#byScript.set(sh, (set = new Set()));
      set.add(k);
      this.#touch(sh, txid);
    }
    this.#txs.set(txid, { tx, hex: tx.toHex(), fee, spent: prevouts.map(({ txid, vout, value, script }) => ({ txid, vout, value, script })) });
    this.#mempool.push(txid);
  }

  /**
   * Drops a mempool transaction and everything in the mempool that spends
   * its outputs, as a node does when it expires them: they become unknown,
   * the coins they spent are unspent again, so a conflicting spend can be
   * submitted and mined. Returns the evicted txids, children first.
   */
  evict(txid: string): string[] {
    const t = this.#txs.get(txid);
    if (!t || t.height !== undefined) throw new Error(`${txid} is not in the mempool`);
    const order = this.#withDescendants([txid]);
    for (const id of order) this.#forget(id);
    return order;
  }

  /** Mempool transactions and everything in the mempool spending their outputs, children before parents. */
  #withDescendants(roots: readonly string[]): string[] {
    const order: string[] = [];
    const seen = new Set<string>();
    const visit = (id: string) => {
      if (seen.has(id)) return;
      seen.add(id);
      const known = this.#txs.get(id)!;
      for (let vout = 0; vout < known.tx.outs.length; vout++) {
        const child = this.#spentBy.get(key(id, vout));
        if (child) visit(child.txid);
      }
      order.push(id);
    };
    for (const id of roots) visit(id);
    return order;
  }

  #forget(txid: string): void {
    const t = this.#txs.get(txid)!;
    for (const [vout, out] of t.tx.outs.entries()) {
      const k = key(txid, vout);
      this.#utxos.delete(k);
      const sh = hex(out.script);
      this.#byScript.get(sh)?.delete(k);
      this.#touching.get(sh)?.delete(txid);
    }
    for (const coin of t.spent) {
      const k = key(coin.txid, coin.vout);
      // Its parent may have been mined since the coin was spent.
      this.#utxos.set(k, { ...coin, height: this.#txs.get(coin.txid)?.height });
      const sh = hex(coin.script);
      let set = this.#byScript.get(sh);
      if (!set) this.#byScript.set(sh, (set = new Set()));
      set.add(k);
      this.#spentBy.delete(k);
      this.#touching.get(sh)?.delete(txid);
    }
    this.#txs.delete(txid);
    this.#mempool = this.#mempool.filter((id) => id !== txid);
  }

  #touch(scriptHex: string, txid: string): void {
    let set = this.#touching.get(scriptHex);
    if (!set) this.#touching.set(scriptHex, (set = new Set()));
    set.add(txid);
  }

  // --- queries, in Esplora's shapes ------------------------------------------

  utxosOf(script: Uint8Array) {
    const out = [];
    for (const k of this.#byScript.get(hex(script)) ?? []) {
      const u = this.#utxos.get(k)!;
      out.push({ txid: u.txid, vout: u.vout, value: u.value, height: u.height });
    }
    return out;
  }

  txCounts(script: Uint8Array): { chain: number; mempool: number } {
    let chain = 0;
    let mempool = 0;
    for (const txid of this.#touching.get(hex(script)) ?? []) {
      if (this.#txs.get(txid)!.height === undefined) mempool++;
      else chain++;
    }
    return { chain, mempool };
  }

  /** Transactions that paid or spent from a script, as Esplora lists them: mempool (newest first), then the chain, newest first. */
  txsOf(script: Uint8Array): Array<Readonly<KnownTx> & { txid: string }> {
    const all = [...(this.#touching.get(hex(script)) ?? [])].map((txid) => ({ txid, ...this.#txs.get(txid)! }));
    const order = new Map(this.#mempool.map((id, i) => [id, i]));
    const mempool = all.filter((t) => t.height === undefined).sort((a, b) => order.get(b.txid)! - order.get(a.txid)!);
    const chain = all
      .filter((t) => t.height !== undefined)
      .sort((a, b) => b.height! - a.height! || this.#blocks[b.height!]!.txids.indexOf(b.txid) - this.#blocks[a.height!]!.txids.indexOf(a.txid));
    return [...mempool, ...chain];
  }

  tx(txid: string): Readonly<KnownTx> | undefined {
    return this.#txs.get(txid);
  }

  outspend(txid: string, vout: number): { txid: string; vin: number; height?: number } | undefined {
    const s = this.#spentBy.get(key(txid, vout));
    if (!s) return undefined;
    return { ...s, height: this.#txs.get(s.txid)?.height };
  }

  blockAt(height: number): Readonly<Block> | undefined {
    return this.#blocks[height];
  }
}
