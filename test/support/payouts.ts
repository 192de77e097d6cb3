import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { generateMnemonic } from "@scure/bip39";
import { wordlist } from "@scure/bip39/wordlists/english.js";
import { pino } from "pino";
import type { WalletConfig } from "../../src/bitcoin/config.js";
import * as bitcoin from "bitcoinjs-lib";
import { addressFromScript, parseAddress } from "../../src/bitcoin/address.js";
import { Secret } from "../../src/bitcoin/secret.js";
import { openWalletOn } from "../../src/payouts/setup.js";
import { startLocalChain, type LocalChainServer } from "../../dev/localchain/server.js";
import type { PayoutWallet } from "../../src/bitcoin/wallet.js";
import { runPayouts, type PayoutRunOptions, type RunReport } from "../../src/payouts/run.js";
import { PriceOracle } from "../../src/price/oracle.js";
import { parseMaxSpread, parsePriceSources } from "../../src/price/sources.js";
import type { PayoutSettings } from "../../src/settings.js";
import type { Db } from "../../src/store/db.js";
import { DbSpendLog, DbWalletState } from "../../src/store/walletState.js";
import { testConfig } from "../bitcoin/helpers.js";

export const silent = pino({ level: "silent" });

export const PAYOUT_SETTINGS: PayoutSettings = {
  holdMs: 0,
  minSats: 1_000n,
  unclaimedDays: 30,
  intervalMs: 60_000,
  confirmations: 1,
  mode: "auto",
  explorerUrl: "https://mempool.space/testnet/tx/",
  bumpAfterMs: null,
};

/** A price API over real HTTP answering like mempool.space's /api/v1/prices; prices can change mid-test. */
export async function startPriceServer(prices: Record<string, number>): Promise<{
  url: string;
  set(p: Record<string, number>): void;
  down(yes: boolean): void;
  close(): Promise<void>;
}> {
  let current = prices;
  let isDown = false;
  const server: Server = createServer((req, res) => {
    if (isDown) {
      res.writeHead(503).end("down");
      return;
    }
    if (req.url?.endsWith("/api/v1/prices")) {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ time: Math.floor(Date.now() / 1000), ...current }));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    set: (p) => (current = p),
    down: (yes) => (isDown = yes),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export function priceOracle(spec: string, maxSpread = "2%"): PriceOracle {
  const s = parsePriceSources(spec);
  if (!s.ok) throw new Error(s.error);
  const m = parseMaxSpread(maxSpread);
  if (!m.ok) throw new Error(m.error);
  return new PriceOracle({ sources: s.sources, maxSpread: m.maxSpread, timeoutMs: 2000 });
}

export type ChainBackendName = "esplora" | "core";

/**
 * The chain backends the payout suites run on, both served by the local chain. Unset, the
 * exactly-once suites (run, crash, e2e, and deposits: what Core watches differently) run on Esplora
 * and on Bitcoin Core's JSON-RPC, the others on Esplora only, which keeps CI's time in bounds;
 * CHAIN_BACKENDS=esplora,core runs every payout suite on both, CHAIN_BACKENDS=core all on Core.
 */
const GIVEN_BACKENDS: ChainBackendName[] | undefined = process.env.CHAIN_BACKENDS?.trim()
  ? process.env.CHAIN_BACKENDS.split(",").map((b) => {
      const name = b.trim();
      if (name !== "esplora" && name !== "core") throw new Error(`CHAIN_BACKENDS: "${name}" is not esplora or core`);
      return name;
    })
  : undefined;

/** The backends of the exactly-once suites. */
export const CHAIN_BACKENDS: ChainBackendName[] = GIVEN_BACKENDS ?? ["esplora", "core"];

/**
 * Every pair of storage engine and chain backend, for describe.each: on CHAIN_BACKENDS for the
 * exactly-once suites, on Esplora only for the others unless CHAIN_BACKENDS says otherwise.
 */
export function enginesAndBackends<E extends string>(engines: readonly E[], suite: "exactly-once" | "other" = "other"): Array<[E, ChainBackendName]> {
  const backends = suite === "exactly-once" ? CHAIN_BACKENDS : (GIVEN_BACKENDS ?? ["esplora"]);
  return engines.flatMap((e) => backends.map((b) => [e, b] as [E, ChainBackendName]));
}

let rigNo = 0;

export interface PayoutRig {
  chain: LocalChainServer;
  backend: ChainBackendName;
  wallet: PayoutWallet;
  mnemonic: string;
  /** Funds the wallet with confirmed coins. */
  fund(...sats: bigint[]): Promise<void>;
  run(overrides?: Partial<PayoutRunOptions>): Promise<RunReport>;
  close(): Promise<void>;
}

/** The local chain over HTTP and a fresh wallet whose state lives in `db`. */
export async function startPayoutRig(
  db: Db,
  opts: {
    prices?: PayoutRunOptions["prices"];
    settings?: Partial<PayoutSettings>;
    chain?: LocalChainServer;
    mnemonic?: string;
    /** Wallet limits (PAYOUT_MAX_TX_SATS, PAYOUT_DAILY_CAP_SATS, …) other than the test defaults. */
    wallet?: Partial<WalletConfig>;
    /** Esplora (the default) or Bitcoin Core's JSON-RPC, both on the local chain. */
    backend?: ChainBackendName;
  } = {},
): Promise<PayoutRig> {
  const chain = opts.chain ?? (await startLocalChain({ network: "regtest" }));
  const mnemonic = opts.mnemonic ?? generateMnemonic(wordlist);
  const backend = opts.backend ?? "esplora";
  const core =
    backend === "core"
      ? { url: chain.url, wallet: `rig-${++rigNo}`, auth: { user: chain.rpcAuth.user, password: new Secret(chain.rpcAuth.password) } }
      : undefined;
  const config = testConfig({ esploraUrl: chain.url, mnemonicText: mnemonic, longTermFeeRate: 1000n, ...(core ? { core } : {}), ...opts.wallet });
  const esploraBefore = chain.esploraRequests;
  const { wallet } = await openWalletOn(
    config,
    { state: new DbWalletState(db, `regtest/${mnemonic.split(" ")[0]}`), spendLog: new DbSpendLog(db), logger: silent },
    { retries: 1, backoffMs: 5 },
  );
  const prices = opts.prices ?? priceOracle("fixed:USD=60000;EUR=50000;GBP=40000");
  return {
    chain,
    backend,
    wallet,
    mnemonic,
    async fund(...sats) {
      for (const s of sats) chain.fund(await wallet.receiveAddress(), s);
      chain.mine(1);
    },
    run: (overrides = {}) =>
      runPayouts({ db, wallet, prices, settings: { ...PAYOUT_SETTINGS, ...opts.settings }, log: silent, ...overrides }),
    async close() {
      if (!opts.chain) await chain.close();
      // A Core rig must have read the chain over JSON-RPC only.
      if (backend === "core" && chain.esploraRequests !== esploraBefore)
        throw new Error(`the Bitcoin Core rig made ${chain.esploraRequests - esploraBefore} Esplora request(s)`);
    },
  };
}

let nextIssue = 1000;

/**
 * An awarded bounty as the award flow leaves it: a bounty row, its pledge marked awarded, and
 * one award per recipient. Used by tests of the payout run; the award flow has its own tests.
 */
export async function seedAward(
  db: Db,
  a: {
    recipients: Array<{ id: number; login: string; amounts: Array<{ currency: string; minor: bigint }> }>;
    holdUntil?: Date;
    unclaimedCharity?: { id: string; name: string; address: string };
    pr?: number;
  },
): Promise<{ bountyId: bigint; issueNumber: number; awardIds: bigint[] }> {
  const issueNumber = nextIssue++;
  const [b] = await db.query<{ id: bigint }>(
    `INSERT INTO bounties (installation_id, repo_id, repo_owner, repo_name, issue_number, issue_title, status, issue_state)
     VALUES (1, 1296269, 'octocat', 'Hello-World', $1, 'A bug', 'awarded', 'completed') RETURNING id`,
    [issueNumber],
  );
  const bountyId = BigInt(b!.id);
  const awardIds: bigint[] = [];
  for (const r of a.recipients) {
    const [row] = await db.query<{ id: bigint }>(
      `INSERT INTO awards (bounty_id, recipient_id, recipient_login, share_bps, amounts, source, pr_owner, pr_repo, pr_number,
                           hold_until, unclaimed_charity)
       VALUES ($1, $2, $3, $4, $5, 'merge', 'octocat', 'Hello-World', $6, $7, $8) RETURNING id`,
      [
        bountyId,
        r.id,
        r.login,
        Math.floor(10000 / a.recipients.length),
        JSON.stringify(r.amounts.map((x) => ({ currency: x.currency, minor: x.minor.toString() }))),
        a.pr ?? issueNumber + 1,
        a.holdUntil ?? new Date(Date.now() - 1000),
        a.unclaimedCharity ? JSON.stringify(a.unclaimedCharity) : null,
      ],
    );
    awardIds.push(BigInt(row!.id));
  }
  return { bountyId, issueNumber, awardIds };
}

export async function linkWallet(db: Db, userId: number, login: string, address: string, addressType = "p2wpkh"): Promise<void> {
  await db.query(
    `INSERT INTO wallets (user_id, login, kind, address, address_type, network) VALUES ($1, $2, 'address', $3, $4, 'regtest')
     ON CONFLICT (user_id) DO UPDATE SET address = EXCLUDED.address, address_type = EXCLUDED.address_type`,
    [userId, login, address, addressType],
  );
}

/** Outputs of a transaction on the local chain, by address. */
export function outputsOf(rig: PayoutRig, txid: string): Map<string, bigint> {
  const known = rig.chain.chain.tx(txid);
  if (!known) throw new Error(`${txid} is not on the chain`);
  const tx = bitcoin.Transaction.fromHex(known.hex);
  const out = new Map<string, bigint>();
  for (const o of tx.outs) {
    const a = addressFromScript(o.script, "regtest");
    out.set(a, (out.get(a) ?? 0n) + BigInt(o.value));
  }
  return out;
}

/** Every sat the chain holds for `address` (recipients in these tests never spend), and the transactions that sent it. */
export function receivedBy(rig: PayoutRig, address: string): { sats: bigint; txids: string[] } {
  const parsed = parseAddress(address, "regtest");
  if (!parsed.ok) throw new Error(parsed.reason);
  const utxos = rig.chain.chain.utxosOf(parsed.script);
  return { sats: utxos.reduce((s, u) => s + u.value, 0n), txids: [...new Set(utxos.map((u) => u.txid))] };
}

/** A database without earlier payouts: what a payout run writes emptied, and the ledger's system accounts made again. */
export async function resetPayoutState(db: Db): Promise<void> {
  await db.exec(
    "TRUNCATE fee_observations, outbox, spend_reservations, wallet_indexes, wallets, awards, payouts, payout_txs, claims, pledges, events, bounties, ledger_transfers, ledger_accounts RESTART IDENTITY CASCADE; " +
      "INSERT INTO ledger_accounts (key, kind) VALUES ('wallet', 'wallet'), ('treasury', 'treasury'), ('fees', 'fees')",
  );
}
