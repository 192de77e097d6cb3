/**
 * The solvency check's rules, without I/O: from the ledger's own check, what the app owes people,
 * what the wallet holds on chain and the stored payout transactions, whether payouts may be signed,
 * and how much of the wallet the treasury may spend. src/store/solvency.ts reads the facts;
 * src/payouts/run.ts and `ledger check` apply the answer.
 *
 * What the app owes people, and must hold on chain for them (the reserve): every funds account's
 * positive posted balance (deposits not spent; an overdrawn one owes nothing back) plus the part of
 * each escrow account that came from funds. A pending transfer out of funds (an escrow or a
 * withdrawal not yet signed) still counts in the funds' posted balance, so nothing is counted twice.
 * Earnings (and what charities are owed) are the treasury's debt: the treasury may owe more than
 * it holds, so they wait for funding, and are never paid from the reserve.
 */
import * as bitcoin from "bitcoinjs-lib";
import { addressFromScript, parseAddress } from "../bitcoin/address.js";
import type { NetworkName } from "../bitcoin/network.js";

/** The ledger's own check (src/store/ledgerCheck.ts): sums, rows against transfers, resolutions. */
export interface LedgerTotals {
  ok: boolean;
  problems: string[];
  accounts: number;
  transfers: bigint;
}

/** What the app owes people, by where it sits. */
export interface PeopleLiabilities {
  /** Σ positive posted balances of funds accounts. */
  funds: bigint;
  /** Σ over escrow accounts of the posted balance that came from funds accounts. */
  escrow: bigint;
}

/** The wallet's coins as it counts them (confirmed and unconfirmed), and what is already promised out of them. */
export interface Holdings {
  confirmedSats: bigint;
  unconfirmedSats: bigint;
  /**
   * Payouts and fees of stored transactions whose coins the wallet still holds (signed, not yet
   * seen spent on the network): they will leave, so they are not there to cover anything else.
   */
  committedSats: bigint;
}

export interface SolvencyInput {
  ledger: LedgerTotals;
  people: PeopleLiabilities;
  /** null: the chain was not asked (no wallet configured); the coverage is then not checked. */
  holdings: Holdings | null;
  /** Why the wallet's holdings could not be read, when they could not (the check then fails). */
  holdingsError?: string;
  /** Stored transactions against payouts and their transfers (payoutProblems). */
  payoutProblems: string[];
}

export interface SolvencyReport {
  ok: boolean;
  /** Readable sentences with the figures; empty when ok. */
  problems: string[];
  owedToPeople: bigint;
  /** What the wallet holds for spending: confirmed + unconfirmed − committed; null when not read. */
  holdings: bigint | null;
  /** Sats of the wallet the treasury may never spend: what covers people's money. */
  reserve: bigint;
  /** What treasury-funded payouts (and their fees) may spend now; null when the holdings were not read. */
  treasuryMaySpend: bigint | null;
  /** One line: the figures, for logs and `ledger check`. */
  summary: string;
}

export function solvencyReport(i: SolvencyInput): SolvencyReport {
  const problems = [...i.ledger.problems];
  if (!i.ledger.ok && problems.length === 0) problems.push("the ledger's own check failed");
  const owed = i.people.funds + i.people.escrow;
  let holdings: bigint | null = null;
  if (i.holdingsError !== undefined) {
    problems.push(`the wallet's holdings could not be read, so they cannot be shown to cover people's money: ${i.holdingsError}`);
  } else if (i.holdings) {
    const h = i.holdings;
    holdings = h.confirmedSats + h.unconfirmedSats - h.committedSats;
    if (holdings < owed) {
      const committed = h.committedSats > 0n ? ` after ${h.committedSats} sats of transactions already signed` : "";
      problems.push(
        `the wallet holds ${holdings} sats on chain${committed} (${h.confirmedSats} confirmed, ${h.unconfirmedSats} unconfirmed) ` +
          `but owes people ${owed} sats (funds ${i.people.funds}, escrow from funds ${i.people.escrow}): ${owed - holdings} sats short`,
      );
    }
  }
  problems.push(...i.payoutProblems);
  const treasuryMaySpend = holdings === null ? null : holdings > owed ? holdings - owed : 0n;
  const held = holdings === null ? "on-chain holdings not checked" : `wallet holds ${holdings} sats`;
  const summary =
    `${i.ledger.accounts} accounts, ${i.ledger.transfers} transfers; owed to people ${owed} sats ` +
    `(funds ${i.people.funds}, escrow ${i.people.escrow}); ${held}` +
    (treasuryMaySpend === null ? "" : `; the treasury may spend ${treasuryMaySpend}`);
  return { ok: problems.length === 0, problems, owedToPeople: owed, holdings, reserve: owed, treasuryMaySpend, summary };
}

/** What `payouts list` and each queued payout's wait reason say when the check failed. */
export function failureReason(r: Pick<SolvencyReport, "problems">): string {
  return `solvency check failed: ${r.problems.join("; ")}; nothing is signed until it passes (bounty-bot ledger check)`;
}

/** The reason a treasury-funded payout waits when it does not fit beside the reserve. */
export function treasuryWaitReason(r: Pick<SolvencyReport, "reserve" | "holdings">, needs: bigint, maySpend: bigint): string {
  return (
    `waiting for the treasury to be funded: ${r.reserve} sats of the wallet's ${r.holdings ?? 0n} cover people's deposits; ` +
    `this needs ${needs} sats with its fee, the treasury may spend ${maySpend}`
  );
}

// ---------------------------------------------------------------------------- stored transactions

export interface LiveTx {
  id: bigint;
  txid: string;
  hex: string;
  network: string;
  state: "signed" | "broadcast" | "confirmed";
  inputs: string[];
  outputs: Array<{ payoutId: string; vout: number; sats: bigint; address: string }>;
  payoutSats: bigint;
  feeSats: bigint;
}

/** One payout, as its row and its ledger transfers say. */
export interface PayoutFacts {
  id: bigint;
  state: "awaiting_approval" | "queued" | "signed" | "broadcast" | "confirmed";
  sats: bigint;
  address: string;
  txId: bigint | null;
  vout: number | null;
  /** Its `payout:<id>` transfers must exist (formed once the ledger recorded payouts); else they are checked only where present. */
  transfersRequired: boolean;
  /**
   * Its latest pending payout transfer (`payout:<id>`, or the `payout:<id>:<txid>:retry` made when
   * it was queued again after a replaced transaction): its sats, and how it was resolved (null: still open).
   */
  pending: { sats: bigint; resolution: "post" | "void" | null; postedSats: bigint | null } | null;
}

/**
 * Every live transaction (signed, broadcast or confirmed; not replaced) against its payouts:
 * the signed transaction really pays each listed output (address and sats at its vout), its
 * outputs sum to what it says it pays, each output's payout is in a sent state with the same sats
 * and address, and every sent payout is bound to a live transaction that lists it at its vout.
 * Against the ledger: a sent payout's latest pending payout transfer was posted for its sats; an
 * unsigned one's is open for its sats.
 */
export function payoutProblems(txs: readonly LiveTx[], payouts: readonly PayoutFacts[]): string[] {
  const problems: string[] = [];
  const byId = new Map(payouts.map((p) => [p.id.toString(), p]));
  const txById = new Map(txs.map((t) => [t.id.toString(), t]));
  for (const t of txs) {
    const paid = t.outputs.reduce((s, o) => s + o.sats, 0n);
    if (paid !== t.payoutSats) problems.push(`transaction ${t.txid} lists outputs of ${paid} sats but says it pays ${t.payoutSats}`);
    const real = decodeOutputs(t.hex, t.network);
    if (typeof real === "string") problems.push(`transaction ${t.txid} cannot be read: ${real}`);
    for (const o of t.outputs) {
      if (typeof real !== "string") {
        const out = real[o.vout];
        if (!out) problems.push(`transaction ${t.txid} has no output ${o.vout}, which it lists for payout ${o.payoutId}`);
        else if (!paysTo(out.script, o.address, t.network) || out.sats !== o.sats) {
          problems.push(
            `transaction ${t.txid} output ${o.vout} pays ${out.sats} sats to ${out.address ?? "a script without an address"}, ` +
              `but is listed as payout ${o.payoutId}'s ${o.sats} sats to ${o.address}`,
          );
        }
      }
      const p = byId.get(o.payoutId);
      if (!p) {
        problems.push(`transaction ${t.txid} pays payout ${o.payoutId}, which does not exist`);
        continue;
      }
      if (!isSent(p.state)) problems.push(`transaction ${t.txid} (${t.state}) pays payout ${p.id}, which is ${p.state}`);
      if (p.sats !== o.sats) problems.push(`transaction ${t.txid} pays payout ${p.id} ${o.sats} sats; the payout is for ${p.sats}`);
      if (p.address !== o.address) problems.push(`transaction ${t.txid} pays payout ${p.id} to ${o.address}; the payout goes to ${p.address}`);
    }
  }
  for (const p of payouts) {
    if (isSent(p.state)) {
      const t = p.txId === null ? undefined : txById.get(p.txId.toString());
      if (!t) problems.push(`payout ${p.id} is ${p.state} but no live transaction is stored for it`);
      else if (!t.outputs.some((o) => o.payoutId === p.id.toString() && o.vout === p.vout)) {
        problems.push(`payout ${p.id} is bound to output ${p.vout} of ${t.txid}, which does not list it there`);
      }
    }
    problems.push(...transferProblems(p));
  }
  return problems;
}

function transferProblems(p: PayoutFacts): string[] {
  const k = `payout:${p.id}`;
  if (!p.pending) return p.transfersRequired ? [`payout ${p.id} (${p.state}, ${p.sats} sats) has no ledger transfer ${k}`] : [];
  if (isSent(p.state)) {
    if (p.pending.resolution !== "post") return [`payout ${p.id} is ${p.state} but its transfer ${k} is ${p.pending.resolution === "void" ? "voided" : "still pending"}`];
    if (p.pending.postedSats !== p.sats) return [`payout ${p.id} pays ${p.sats} sats but ${k} posted ${p.pending.postedSats}`];
    return [];
  }
  if (p.pending.resolution !== null) return [`payout ${p.id} is ${p.state} but its transfer ${k} was already ${p.pending.resolution === "post" ? "posted" : "voided"}`];
  if (p.pending.sats !== p.sats) return [`payout ${p.id} is for ${p.sats} sats but ${k} reserves ${p.pending.sats}`];
  return [];
}

const isSent = (s: PayoutFacts["state"]): boolean => s === "signed" || s === "broadcast" || s === "confirmed";

/** A signed transaction's outputs (script, its address, sats) by vout, or why it cannot be read. */
export function decodeOutputs(hex: string, network: string): Array<{ script: Uint8Array; address: string | null; sats: bigint }> | string {
  let tx: bitcoin.Transaction;
  try {
    tx = bitcoin.Transaction.fromHex(hex);
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  return tx.outs.map((o) => {
    let address: string | null;
    try {
      address = addressFromScript(o.script, network as NetworkName);
    } catch {
      address = null;
    }
    return { script: o.script, address, sats: BigInt(o.value) };
  });
}

/** Whether an output script is the one an address (as a person typed it: any case of bech32) pays. */
function paysTo(script: Uint8Array, address: string, network: string): boolean {
  const parsed = parseAddress(address, network as NetworkName);
  return parsed.ok && Buffer.from(parsed.script).equals(Buffer.from(script));
}

/**
 * What stored, unconfirmed transactions will still take out of the coins the wallet counts: a
 * transaction any of whose inputs the wallet still holds has not reached the network (once it
 * has, its inputs are gone and its change is counted instead). Its payouts and fee are committed.
 */
export function committedOutflow(utxoIds: ReadonlySet<string>, txs: readonly Pick<LiveTx, "state" | "inputs" | "payoutSats" | "feeSats">[]): bigint {
  let sats = 0n;
  for (const t of txs) {
    if (t.state === "confirmed") continue;
    if (t.inputs.some((i) => utxoIds.has(i))) sats += t.payoutSats + t.feeSats;
  }
  return sats;
}
