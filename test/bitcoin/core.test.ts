import { inspect } from "node:util";
import http from "node:http";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateMnemonic } from "@scure/bip39";
import { wordlist } from "@scure/bip39/wordlists/english.js";
import pino from "pino";
import { ChainRequestError, ChainUnavailableError, TxRejectedError, estimateFor } from "../../src/bitcoin/backend.js";
import type { CoreRpcConfig, WalletConfig } from "../../src/bitcoin/config.js";
import { CoreBackend, CoreRpcError, btcToSats, quoteNumbers } from "../../src/bitcoin/core.js";
import { chainDescriptor } from "../../src/bitcoin/descriptors.js";
import { RECEIVE, WalletKeys } from "../../src/bitcoin/keys.js";
import { feeRateFromSatPerVb } from "../../src/bitcoin/sizes.js";
import { MemorySpendLog, MemoryWalletState } from "../../src/bitcoin/state.js";
import { Secret } from "../../src/bitcoin/secret.js";
import type { PayoutWallet } from "../../src/bitcoin/wallet.js";
import { loadWalletConfig } from "../../src/bitcoin/config.js";
import { openWalletOn } from "../../src/payouts/setup.js";
import { startLocalChain, type LocalChainServer } from "../../dev/localchain/server.js";
import { randomAddress, testConfig } from "./helpers.js";

const silent = pino({ level: "silent" });
const fast = { retries: 2, backoffMs: 1, maxBackoffMs: 2 };

let node: LocalChainServer;
let dir: string;
let cookieFile: string;

beforeAll(async () => {
  node = await startLocalChain({ network: "regtest" });
  dir = mkdtempSync(join(tmpdir(), "bounty-core-"));
  cookieFile = join(dir, ".cookie");
});
afterAll(async () => {
  await node.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  writeFileSync(cookieFile, `${node.rpcAuth.user}:${node.rpcAuth.password}`, { mode: 0o600 });
});

let walletNo = 0;
async function openCore(opts: { core?: Partial<CoreRpcConfig>; config?: Partial<WalletConfig>; mnemonic?: string } = {}) {
  const mnemonic = opts.mnemonic ?? generateMnemonic(wordlist);
  const core: CoreRpcConfig = { url: node.url, wallet: `test-${++walletNo}`, auth: { cookieFile }, ...opts.core };
  const config = testConfig({ mnemonicText: mnemonic, core, ...opts.config });
  const state = new MemoryWalletState();
  const { wallet, backend } = await openWalletOn(config, { state, spendLog: new MemorySpendLog(), logger: silent }, fast);
  return { wallet, backend: backend as CoreBackend, mnemonic, state, name: core.wallet };
}

async function fund(wallet: PayoutWallet, sats: bigint, mine = true) {
  const address = await wallet.receiveAddress();
  const out = node.fund(address, sats);
  if (mine) node.mine(1);
  return { address, ...out };
}

describe("CoreBackend against the local chain's JSON-RPC", () => {
  it("creates a watch-only descriptor wallet, imports the account descriptors and reads coins, history and the tip", async () => {
    const { wallet, backend, name } = await openCore();
    const before = node.rpc.calls.length;
    const { address, txid } = await fund(wallet, 123_456n);
    const utxos = await backend.getUtxos(address);
    expect(utxos).toEqual([{ txid, vout: 0, value: 123_456n, confirmed: true, blockHeight: node.chain.tipHeight }]);
    expect(await backend.getTipHeight()).toBe(node.chain.tipHeight);
    expect(await backend.getAddressTxCount(address)).toBe(1);
    const txs = await backend.getAddressTxs(address);
    expect(txs).toEqual([{ txid, confirmed: true, blockHeight: node.chain.tipHeight, outputs: [{ vout: 0, address, value: 123_456n }] }]);
    const calls = node.rpc.calls.slice(before).map((c) => c.method);
    expect(calls.slice(0, 4)).toEqual(["loadwallet", "createwallet", "getwalletinfo", "importdescriptors"]);
    // Only public descriptors went to Core: the account xpub's receive, change and the deposit account.
    const keys = node.rpc.descriptorsOf(name).map((d) => d.desc);
    expect(keys).toEqual([
      chainDescriptor("p2wpkh", wallet.accountXpub, 0),
      chainDescriptor("p2wpkh", wallet.accountXpub, 1),
      chainDescriptor("p2wpkh", wallet.depositWallet, 0),
    ]);
    expect(keys.every((d) => d.includes("tpub") && !d.includes("tprv"))).toBe(true);
    expect(await wallet.balance()).toEqual({ confirmedSats: 123_456n, unconfirmedSats: 0n });
  });

  it("loads the wallet it made before (after the app restarts, and after Core restarts)", async () => {
    const first = await openCore();
    await fund(first.wallet, 50_000n);
    expect((await first.wallet.balance()).confirmedSats).toBe(50_000n);
    const again = await openCore({ mnemonic: first.mnemonic, core: { wallet: first.name } });
    const before = node.rpc.calls.length;
    expect((await again.wallet.balance()).confirmedSats).toBe(50_000n);
    node.rpc.restart();
    const third = await openCore({ mnemonic: first.mnemonic, core: { wallet: first.name } });
    expect((await third.wallet.balance()).confirmedSats).toBe(50_000n);
    expect(node.rpc.calls.slice(before).filter((c) => c.method === "createwallet")).toEqual([]);
  });

  it("finds no coins with another wallet's descriptors: an address it does not watch fails closed", async () => {
    const ours = await openCore();
    const { address } = await fund(ours.wallet, 40_000n);
    const other = await openCore();
    const err = await other.backend.getUtxos(address).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChainRequestError);
    expect((err as Error).message).toMatch(/does not watch/);
  });

  it("widens the imported ranges when the wallet asks past them", async () => {
    const { wallet, backend, name, mnemonic } = await openCore({ config: { gapLimit: 3 } });
    await fund(wallet, 10_000n);
    expect(node.rpc.descriptorsOf(name)[0]!.end).toBe(3);
    const keys = WalletKeys.fromMnemonic(mnemonic, { network: "regtest", script: "p2wpkh" });
    const far = keys.address({ chain: RECEIVE, index: 12 });
    node.fund(far, 20_000n);
    node.mine(1);
    expect((await backend.getUtxos(far)).map((u) => u.value)).toEqual([20_000n]);
    expect(node.rpc.descriptorsOf(name)[0]!.end).toBeGreaterThanOrEqual(12);
  });

  it("pays through testmempoolaccept and sendrawtransaction; confirmations and spends from the wallet", async () => {
    const { wallet, backend } = await openCore();
    const funded = await fund(wallet, 200_000n);
    const to = randomAddress("p2wpkh");
    const { plan, outcomes } = await wallet.payBatch([{ id: "p1", address: to, sats: 30_000n }], { feeRate: 5_000n });
    expect(outcomes).toEqual([{ txid: plan.transactions[0]!.txid, status: "sent" }]);
    const txid = plan.transactions[0]!.txid;
    expect(node.chain.mempoolTxids).toContain(txid);
    expect(await backend.getTxStatus(txid)).toEqual({ confirmed: false });
    expect(await backend.getOutspend(funded.txid, funded.vout)).toEqual({ spent: true, txid, vin: 0, confirmed: false });
    const change = plan.transactions[0]!.change!;
    expect(await backend.getOutspend(txid, change.vout)).toEqual({ spent: false });

    // A resend of what the mempool has: Core's testmempoolaccept words, which the wallet counts as sent.
    const again = await backend.broadcast(plan.transactions[0]!.hex).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(TxRejectedError);
    expect((again as TxRejectedError).reason).toBe("txn-already-in-mempool");
    expect(await wallet.rebroadcast(plan.transactions[0]!.hex)).toEqual({ txid, status: "sent" });

    node.mine(2);
    const height = node.chain.tipHeight - 1;
    expect(await backend.getTxStatus(txid)).toEqual({ confirmed: true, blockHeight: height, blockHash: node.chain.blockHash(height) });
    expect(await wallet.confirmations(txid)).toBe(2);
    expect(await backend.getOutspend(funded.txid, funded.vout)).toEqual({ spent: true, txid, vin: 0, confirmed: true, blockHeight: height });
    // Mined: "already known", still sent.
    const mined = await backend.broadcast(plan.transactions[0]!.hex).catch((e: unknown) => e);
    expect((mined as TxRejectedError).reason).toBe("txn-already-known");
    expect(await wallet.rebroadcast(plan.transactions[0]!.hex)).toEqual({ txid, status: "sent" });
    expect(await backend.getTxStatus("f".repeat(64))).toBeUndefined();
  });

  it("refuses to send above maxfeerate, and nothing reaches the mempool", async () => {
    const { wallet, name } = await openCore();
    await fund(wallet, 100_000n);
    const plan = await wallet.buildBatch([{ id: "p", address: randomAddress("p2wpkh"), sats: 60_000n }], { feeRate: 5_000n });
    const strict = new CoreBackend({ url: node.url, wallet: name, auth: { cookieFile }, descriptors: async () => [], maxFeeRate: 4_000n, ...fast });
    const mempool = [...node.chain.mempoolTxids];
    const err = await strict.broadcast(plan.transactions[0]!.hex).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TxRejectedError);
    expect((err as TxRejectedError).reason).toBe("max-fee-exceeded");
    expect(node.chain.mempoolTxids).toEqual(mempool);
    // At a maxfeerate above the transaction's rate it goes out.
    const loose = new CoreBackend({ url: node.url, wallet: name, auth: { cookieFile }, descriptors: async () => [], maxFeeRate: 10_000n, ...fast });
    expect(await loose.broadcast(plan.transactions[0]!.hex)).toBe(plan.transactions[0]!.txid);
  });

  it("maps a spend of missing inputs to bad-txns-inputs-missingorspent, which the wallet reads", async () => {
    const { wallet, backend } = await openCore();
    const funded = await fund(wallet, 100_000n);
    const plan = await wallet.buildBatch([{ id: "p", address: randomAddress("p2wpkh"), sats: 20_000n }], { feeRate: 2_000n });
    // The coin disappears (a reorganisation took its funding away) before the payout is sent.
    node.chain.reorg(1, [funded.txid]);
    const err = await backend.broadcast(plan.transactions[0]!.hex).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TxRejectedError);
    expect((err as TxRejectedError).reason).toBe("bad-txns-inputs-missingorspent");
    expect((await wallet.broadcast(plan))[0]!.status).toBe("rejected");
  });

  it("lists an unconfirmed receipt until it leaves the mempool", async () => {
    const { wallet, backend } = await openCore();
    const { address, txid } = await fund(wallet, 70_000n, false);
    expect(await backend.getAddressTxs(address)).toEqual([{ txid, confirmed: false, outputs: [{ vout: 0, address, value: 70_000n }] }]);
    expect(await backend.getUtxos(address)).toEqual([{ txid, vout: 0, value: 70_000n, confirmed: false }]);
    node.chain.evict(txid);
    expect(await backend.getAddressTxs(address)).toEqual([]);
    expect(await backend.getUtxos(address)).toEqual([]);
  });

  it("converts estimatesmartfee's BTC/kvB exactly to sat/vB", async () => {
    const { backend } = await openCore();
    node.chain.feeEstimates = { "1": 12.345, "6": 3.001, "144": 1 };
    try {
      const est = await backend.getFeeEstimates();
      expect(est["1"]).toBe(12.345);
      expect(est["6"]).toBe(3.001);
      expect(est["144"]).toBe(1);
      expect(feeRateFromSatPerVb(estimateFor(est, 6)!)).toBe(3001n);
      expect(feeRateFromSatPerVb(estimateFor(est, 1)!)).toBe(12345n);
    } finally {
      node.chain.feeEstimates = { "1": 20, "3": 12, "6": 8, "12": 5, "25": 3, "144": 1.5, "504": 1, "1008": 1 };
    }
  });

  it("authenticates with a user and password", async () => {
    const { wallet } = await openCore({ core: { auth: { user: node.rpcAuth.user, password: new Secret(node.rpcAuth.password) } } });
    await fund(wallet, 10_000n);
    expect((await wallet.balance()).confirmedSats).toBe(10_000n);
  });

  it("answers 401 to wrong credentials, without showing them", async () => {
    const b = new CoreBackend({ url: node.url, wallet: "w", auth: { user: "bob", password: "hunter2-secret" }, descriptors: async () => [], maxFeeRate: 10_000n, ...fast });
    const err = await b.getTipHeight().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChainRequestError);
    expect((err as ChainRequestError).status).toBe(401);
    expect((err as Error).message).not.toContain("hunter2");
  });

  it("re-reads the cookie file when Core answers 401 (Core restarted with a new cookie)", async () => {
    const { wallet, backend } = await openCore();
    await fund(wallet, 10_000n);
    const old = node.rpcAuth;
    node.setRpcAuth({ user: "__cookie__", password: "ab".repeat(32) });
    try {
      writeFileSync(cookieFile, `__cookie__:${"ab".repeat(32)}`);
      expect(await backend.getTipHeight()).toBe(node.chain.tipHeight);
      // A cookie that is still wrong after the re-read: 401, once.
      writeFileSync(cookieFile, `__cookie__:${"cd".repeat(32)}`);
      node.setRpcAuth({ user: "__cookie__", password: "ef".repeat(32) });
      const err = await backend.getTipHeight().catch((e: unknown) => e);
      expect((err as ChainRequestError).status).toBe(401);
      expect((err as Error).message).not.toContain("cd".repeat(32));
    } finally {
      node.setRpcAuth(old);
    }
  });

  it("says when the cookie file cannot be read", async () => {
    const b = new CoreBackend({ url: node.url, wallet: "w", auth: { cookieFile: join(dir, "missing") }, descriptors: async () => [], maxFeeRate: 10_000n, ...fast });
    await expect(b.getTipHeight()).rejects.toThrow(/Cannot read Bitcoin Core's cookie file .*missing \(ENOENT\)/);
  });

  it("refuses a wallet of that name that holds private keys", async () => {
    node.rpc.handle(JSON.stringify({ method: "createwallet", params: ["hot", false, false, "", false, true, true], id: 1 }), undefined);
    const err = await openCore({ core: { wallet: "hot" } }).then(({ wallet }) => wallet.balance()).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/holds private keys/);
  });

  it("reports a refused descriptor import", async () => {
    const b = new CoreBackend({
      url: node.url, wallet: "bad-desc", auth: { cookieFile }, maxFeeRate: 10_000n, ...fast,
      descriptors: async () => [{ desc: chainDescriptor("p2wpkh", "tpubD6NzVbkrYhZ4XgiXtGrdW5XDAPFCL9h7we1vwNCpn8tGbBcgfVYjXyhWo4E1xkh56hjod1RhGjxbaTLV3X4FyWuejifB9jusQ46QzG87VKp", 0).slice(0, -1) + "x", end: 5 }],
    });
    await expect(b.getUtxos(randomAddress("p2wpkh"))).rejects.toThrow(/refused to import .*checksum/);
  });
});

/** A loopback server answering from a queue of canned responses, recording what it was asked. */
async function scripted(responses: Array<[number, string] | "hang">) {
  const seen: Array<{ url: string; body: string; auth?: string }> = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      seen.push({ url: req.url!, body, auth: req.headers.authorization });
      const next = responses.shift() ?? [500, "out of script"];
      if (next === "hang") return;
      res.writeHead(next[0], { "content-type": "application/json" });
      res.end(next[1]);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

const ok = (result: string) => [200, `{"result":${result},"error":null,"id":1}`] as [number, string];
const rpcError = (code: number, message: string) => [500, JSON.stringify({ result: null, error: { code, message }, id: 1 })] as [number, string];
const TXID = "a".repeat(64);

describe("CoreBackend's mapping of Core's answers", () => {
  const backendAt = (url: string, extra: object = {}) =>
    new CoreBackend({ url, wallet: "w", auth: { user: "u", password: "p" }, descriptors: async () => [], maxFeeRate: 50_000n, ...fast, ...extra });

  it("sends JSON-RPC with basic auth and a maxfeerate in BTC/kvB", async () => {
    const s = await scripted([ok('[{"txid":"' + TXID + '","allowed":true}]'), ok(`"${TXID}"`)]);
    expect(await backendAt(s.url).broadcast("0200beef")).toBe(TXID);
    expect(JSON.parse(s.seen[0]!.body)).toMatchObject({ method: "testmempoolaccept", params: [["0200beef"], "0.00050000"] });
    expect(JSON.parse(s.seen[1]!.body)).toMatchObject({ method: "sendrawtransaction", params: ["0200beef", "0.00050000"] });
    expect(s.seen[0]!.auth).toBe(`Basic ${Buffer.from("u:p").toString("base64")}`);
    expect(s.seen[0]!.url).toBe("/");
    await s.close();
  });

  it.each([
    [-26, "min relay fee not met, 100 < 141", "min relay fee not met, 100 < 141"],
    [-26, "txn-mempool-conflict", "txn-mempool-conflict"],
    [-26, "insufficient fee, rejecting replacement x", "insufficient fee, rejecting replacement x"],
    [-25, "bad-txns-inputs-missingorspent", "bad-txns-inputs-missingorspent"],
    [-25, "Missing inputs", "bad-txns-inputs-missingorspent (Missing inputs)"],
    [-25, "Fee exceeds maximum configured by user (e.g. -maxtxfee, maxfeerate)", "Fee exceeds maximum configured by user (e.g. -maxtxfee, maxfeerate)"],
    [-27, "Transaction outputs already in utxo set", "Transaction outputs already in utxo set"],
    [-27, "Transaction already in block chain", "Transaction already in block chain"],
    [-22, "TX decode failed", "TX decode failed"],
  ])("sendrawtransaction error %i %s → TxRejectedError", async (code, message, reason) => {
    const s = await scripted([ok('[{"txid":"' + TXID + '","allowed":true}]'), rpcError(code, message)]);
    const err = await backendAt(s.url).broadcast("0200beef").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TxRejectedError);
    expect((err as TxRejectedError).reason).toBe(reason);
    expect(s.seen).toHaveLength(2); // a refusal is not retried
    await s.close();
  });

  it("a refusal by testmempoolaccept sends nothing", async () => {
    const s = await scripted([ok('[{"txid":"' + TXID + '","allowed":false,"reject-reason":"missing-inputs"}]')]);
    const err = await backendAt(s.url).broadcast("0200beef").catch((e: unknown) => e);
    expect((err as TxRejectedError).reason).toBe("bad-txns-inputs-missingorspent");
    expect(s.seen).toHaveLength(1);
    await s.close();
  });

  it("other RPC errors are CoreRpcError with the code, not retried", async () => {
    const s = await scripted([rpcError(-8, "Invalid parameter")]);
    const err = await backendAt(s.url).getTipHeight().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CoreRpcError);
    expect((err as CoreRpcError).code).toBe(-8);
    expect(s.seen).toHaveLength(1);
    await s.close();
  });

  it("retries 5xx without an RPC error and Core's warm-up (-28), then gives up", async () => {
    const s = await scripted([[503, "busy"], rpcError(-28, "Loading block index…"), ok("812345")]);
    expect(await backendAt(s.url).getTipHeight()).toBe(812345);
    const t = await scripted([[502, "x"], [502, "x"], [502, "x"]]);
    const err = await backendAt(t.url).getTipHeight().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChainUnavailableError);
    expect((err as Error).message).toMatch(/failed 3 times \(last: HTTP 502\)/);
    await s.close();
    await t.close();
  });

  it("times out a call that gets no answer", async () => {
    const s = await scripted(["hang", "hang", "hang"]);
    const err = await backendAt(s.url, { timeoutMs: 50 }).getTipHeight().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChainUnavailableError);
    expect((err as Error).message).toMatch(/timed out/);
    await s.close();
  });

  it("reads amounts exactly, never through a float", async () => {
    const s = await scripted([ok('{"feerate":0.00012345,"blocks":2}'), ...Array.from({ length: 11 }, () => ok('{"errors":["Insufficient data or no feerate found"],"blocks":0}'))]);
    expect(await backendAt(s.url).getFeeEstimates()).toEqual({ "1": 12.345 });
    await s.close();
    expect(btcToSats("0.00012345")).toBe(12_345n);
    expect(btcToSats("20999999.97690000")).toBe(2_099_999_997_690_000n);
    expect(btcToSats("0.1")).toBe(10_000_000n);
    expect(btcToSats("1e-8")).toBeUndefined();
    expect(btcToSats("0.000000001")).toBeUndefined();
    // 0.1 + 0.2 style noise cannot arise: numbers stay digits, strings stay strings.
    expect(JSON.parse(quoteNumbers('{"a":0.30000000,"b":"x\\"1.5","c":[-2,3e2],"d":true}'))).toEqual({ a: "0.30000000", b: 'x"1.5', c: ["-2", "3e2"], d: true });
  });
});

describe("CHAIN_BACKEND=core settings", () => {
  const base = { BITCOIN_NETWORK: "regtest", WALLET_MNEMONIC: "legal winner thank year wave sausage worth useful legal winner thank yellow" };
  const problems = (env: Record<string, string>) => {
    try {
      loadWalletConfig({ ...base, ...env });
      return [];
    } catch (e) {
      return (e as { problems?: string[] }).problems ?? [String(e)];
    }
  };

  it("is off by default and reads the cookie file or user and password", () => {
    expect(loadWalletConfig(base).core).toBeUndefined();
    const cookie = loadWalletConfig({ ...base, CHAIN_BACKEND: "core", BITCOIN_RPC_URL: "http://127.0.0.1:18443", BITCOIN_RPC_COOKIE_FILE: "/data/.cookie" });
    expect(cookie.core).toEqual({ url: "http://127.0.0.1:18443", wallet: "bounty-bot", auth: { cookieFile: "/data/.cookie" } });
    const pw = loadWalletConfig({ ...base, CHAIN_BACKEND: "core", BITCOIN_RPC_URL: "http://node:8332/", BITCOIN_RPC_USER: "bot", BITCOIN_RPC_PASSWORD: "s3cret-pw", BITCOIN_RPC_WALLET: "payouts" });
    expect(pw.core).toMatchObject({ url: "http://node:8332", wallet: "payouts", auth: { user: "bot" } });
    expect(JSON.stringify(pw.core)).not.toContain("s3cret-pw");
    expect(inspect(pw.core, { depth: 5 })).not.toContain("s3cret-pw");
  });

  it.each([
    [{}, /needs BITCOIN_RPC_URL/],
    [{ BITCOIN_RPC_URL: "http://n:8332" }, /needs BITCOIN_RPC_COOKIE_FILE, or BITCOIN_RPC_USER and BITCOIN_RPC_PASSWORD/],
    [{ BITCOIN_RPC_URL: "http://n:8332", BITCOIN_RPC_COOKIE_FILE: "/c", BITCOIN_RPC_USER: "u", BITCOIN_RPC_PASSWORD: "pw-zz" }, /either BITCOIN_RPC_COOKIE_FILE or .* not both/],
    [{ BITCOIN_RPC_URL: "http://n:8332", BITCOIN_RPC_USER: "u" }, /USER is set without BITCOIN_RPC_PASSWORD/],
    [{ BITCOIN_RPC_URL: "http://n:8332", BITCOIN_RPC_PASSWORD: "pw-zz" }, /PASSWORD is set without BITCOIN_RPC_USER/],
    [{ BITCOIN_RPC_URL: "http://u:pw-zz@n:8332", BITCOIN_RPC_COOKIE_FILE: "/c" }, /must not hold credentials/],
    [{ BITCOIN_RPC_URL: "http://n:8332", BITCOIN_RPC_COOKIE_FILE: "/c", BITCOIN_RPC_WALLET: "../x" }, /BITCOIN_RPC_WALLET must be a plain name/],
  ])("refuses %j", (env, why) => {
    const p = problems({ CHAIN_BACKEND: "core", ...env });
    expect(p.join("\n")).toMatch(why);
    expect(p.join("\n")).not.toContain("pw-zz");
  });
});
