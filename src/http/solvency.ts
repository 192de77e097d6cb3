/**
 * The public proof of liabilities. GET /api/v1/solvency publishes what the app owes (in total, and
 * as the root of a Merkle sum tree over every person's balance, see ledger/merkle.ts) beside the
 * coins its wallet holds on chain, outpoint by outpoint, so anyone can check both on an explorer;
 * GET /api/v1/solvency/proof/:login gives one person's inclusion proof, for them to check that
 * their balance is counted (scripts/verify-solvency.mjs does it). Both are public by design, as the
 * /balance replies that link them are.
 *
 * A report is built at most once per `ttlMs` (default 60 s) and both routes answer from it, so
 * neither can be used to load the database or the chain backend.
 */
import type { Logger } from "pino";
import { buildSumTree, leafSalt, owedSats, proofToJson, SCHEME, type SumTree } from "../ledger/merkle.js";
import { loginIds, otherLiabilities, owedBalances, solvencySecret } from "../store/balances.js";
import type { Db } from "../store/db.js";
import { HttpError, sendJson, type Route } from "./router.js";

export const SOLVENCY_PATH = "/api/v1/solvency";
export const proofPath = (login: string): string => `${SOLVENCY_PATH}/proof/${encodeURIComponent(login)}`;

/** The payout wallet as far as the report needs it: its coins, from a fresh look at the chain. */
export interface WalletCoins {
  sync(): Promise<{ utxos: ReadonlyArray<{ txid: string; vout: number; value: bigint; confirmed: boolean }> }>;
}

export interface SolvencyOptions {
  db: Db;
  network: string;
  /** Undefined when no payout wallet is configured: the report says so. */
  wallet?: WalletCoins;
  log: Logger;
  ttlMs?: number;
  now?: () => Date;
}

export interface SolvencyReport {
  scheme: string;
  generated_at: string;
  /** Names this report: every leaf's salt is made for it. */
  epoch: string;
  network: string;
  owed: {
    /** people_sats + charities_sats + escrow_sats. */
    total_sats: string;
    /** The tree's root sum: every person's funds and earnings. */
    people_sats: string;
    charities_sats: string;
    escrow_sats: string;
    charities: Array<{ id: string; sats: string }>;
  };
  root: { hash: string; sum: string };
  leaf_count: number;
  wallet: {
    outpoints: Array<{ outpoint: string; txid: string; vout: number; sats: string; confirmed: boolean }>;
    total_sats: string;
    confirmed_sats: string;
    /** Whether the coins on chain (confirmed or not) cover total_sats. */
    covers_owed: boolean;
  } | null;
  wallet_note?: string;
  proof_path: string;
}

interface Built {
  report: SolvencyReport;
  tree: SumTree;
  logins: Map<string, number>;
  builtAt: number;
}

/** Builds reports and keeps the last one for `ttlMs`; one build at a time. */
export class SolvencyReports {
  readonly #o: SolvencyOptions;
  #last: { at: number; built: Promise<Built> } | undefined;

  constructor(o: SolvencyOptions) {
    this.#o = o;
  }

  current(): Promise<Built> {
    const now = (this.#o.now ?? (() => new Date()))().getTime();
    if (this.#last && now - this.#last.at < (this.#o.ttlMs ?? 60_000)) return this.#last.built;
    const built = this.#build(now);
    const entry = { at: now, built };
    this.#last = entry;
    // A failed build is not kept: the next request tries again.
    built.catch(() => {
      if (this.#last === entry) this.#last = undefined;
    });
    return built;
  }

  async #build(at: number): Promise<Built> {
    const generatedAt = new Date(at);
    const epoch = String(at);
    // One snapshot: the people, the charities and the logins as of the same moment.
    const read = await this.#o.db.transaction(async (tx) => {
      await tx.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
      return {
        owed: await owedBalances(tx),
        other: await otherLiabilities(tx),
        logins: await loginIds(tx),
        secret: await solvencySecret(tx),
      };
    });
    const tree = buildSumTree(
      read.owed.map((r) => ({ userId: r.userId, balance: owedSats(r), salt: leafSalt(read.secret, r.userId, epoch) })),
    );
    const charitiesSats = read.other.charities.reduce((s, c) => s + c.sats, 0n);
    const totalSats = tree.root.sum + charitiesSats + read.other.escrowSats;

    let wallet: SolvencyReport["wallet"] = null;
    if (this.#o.wallet) {
      let utxos: Awaited<ReturnType<WalletCoins["sync"]>>["utxos"];
      try {
        ({ utxos } = await this.#o.wallet.sync());
      } catch (err) {
        this.#o.log.error({ err }, "solvency report: the wallet's coins could not be read from the chain");
        // Without the assets the report would read as insolvent: no report rather than a wrong one.
        throw new HttpError(503, "the wallet's coins could not be read from the chain backend just now; try again shortly");
      }
      const sorted = [...utxos].sort((a, b) => (a.txid === b.txid ? a.vout - b.vout : a.txid < b.txid ? -1 : 1));
      const total = sorted.reduce((s, u) => s + u.value, 0n);
      wallet = {
        outpoints: sorted.map((u) => ({ outpoint: `${u.txid}:${u.vout}`, txid: u.txid, vout: u.vout, sats: u.value.toString(), confirmed: u.confirmed })),
        total_sats: total.toString(),
        confirmed_sats: sorted.filter((u) => u.confirmed).reduce((s, u) => s + u.value, 0n).toString(),
        covers_owed: total >= totalSats,
      };
    }
    const report: SolvencyReport = {
      scheme: SCHEME,
      generated_at: generatedAt.toISOString(),
      epoch,
      network: this.#o.network,
      owed: {
        total_sats: totalSats.toString(),
        people_sats: tree.root.sum.toString(),
        charities_sats: charitiesSats.toString(),
        escrow_sats: read.other.escrowSats.toString(),
        charities: read.other.charities.map((c) => ({ id: c.id, sats: c.sats.toString() })),
      },
      root: { hash: tree.root.hash.toString("hex"), sum: tree.root.sum.toString() },
      leaf_count: tree.leafCount,
      wallet,
      ...(wallet ? {} : { wallet_note: "no payout wallet is configured on this server, so there are no on-chain coins to list" }),
      proof_path: `${SOLVENCY_PATH}/proof/{login}`,
    };
    return { report, tree, logins: read.logins, builtAt: at };
  }
}

/** GitHub's login rules: letters, digits and single hyphens, at most 39 characters. */
const LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;

function cacheFor(res: import("node:http").ServerResponse, o: SolvencyOptions, b: Built): void {
  const now = (o.now ?? (() => new Date()))().getTime();
  const left = Math.max(0, Math.ceil(((o.ttlMs ?? 60_000) - (now - b.builtAt)) / 1000));
  res.setHeader("cache-control", `public, max-age=${left}`);
}

/** GET /api/v1/solvency and GET /api/v1/solvency/proof/:login. */
export function solvencyRoutes(o: SolvencyOptions): Route[] {
  const reports = new SolvencyReports(o);
  return [
    {
      method: "GET",
      path: SOLVENCY_PATH,
      maxBytes: 0,
      async handle(req, res) {
        const b = await reports.current();
        cacheFor(res, o, b);
        sendJson(req, res, 200, b.report);
      },
    },
    {
      method: "GET",
      path: `${SOLVENCY_PATH}/proof/:login`,
      maxBytes: 0,
      async handle(req, res, ctx) {
        const login = ctx.params.login!;
        if (!LOGIN.test(login)) throw new HttpError(400, `"${login.slice(0, 60)}" is not a GitHub login`);
        const b = await reports.current();
        const userId = b.logins.get(login.toLowerCase());
        const proof = userId === undefined ? null : b.tree.proof(userId);
        if (!proof) throw new HttpError(404, `bounty-bot holds no balance for ${login}`);
        cacheFor(res, o, b);
        sendJson(req, res, 200, {
          scheme: b.report.scheme,
          generated_at: b.report.generated_at,
          epoch: b.report.epoch,
          login,
          root: b.report.root,
          proof: proofToJson(proof),
        });
      },
    },
  ];
}
