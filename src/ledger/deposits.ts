/**
 * What the chain's view of the wallet's addresses means for the ledger, without I/O: which
 * deposits and treasury receipts to credit, which to reverse after a reorganisation, and which
 * comments to send. payouts/deposits.ts reads the chain and the store and applies each decision
 * in one transaction with its transfer; store/deposits.ts remembers every outpoint's state.
 *
 * An outpoint is credited once it is `confirmations` deep (generation n = 1, 2…), reversed at
 * most once per credit when it is no longer confirmed in the chain, and credited again (n + 1)
 * if it confirms again. Keys make each transfer exactly once:
 *   deposit:<txid>:<vout>:<n>            wallet → funds:<user>   (deposit)
 *   deposit:<txid>:<vout>:<n>:reversal   funds:<user> → wallet   (deposit_reversal, may overdraw)
 *   treasury_receipt:<txid>:<vout>       wallet → treasury       (treasury_receipt; …:<n> from n = 2)
 *   <that key>:reversal                  treasury → wallet       (correction)
 */
import { TREASURY, WALLET, fundsOf, type TransferRequest } from "./rules.js";

export interface Where {
  installationId: number;
  owner: string;
  repo: string;
  issueNumber: number;
}

/** Whose an address is: a person's deposit address, or one of the wallet's receive addresses (the treasury's). */
export type AddressOwner =
  | { kind: "deposit"; addressId: bigint; userId: number; login: string; where: Where }
  | { kind: "treasury" };

/** An output paying a watched address, as the chain shows it now. */
export interface SeenOutput {
  txid: string;
  vout: number;
  address: string;
  sats: bigint;
  /** 0 in the mempool. */
  confirmations: number;
}

export interface KnownOutpoint {
  txid: string;
  vout: number;
  address: string;
  sats: bigint;
  generation: number;
  state: "seen" | "credited" | "reversed";
}

export interface DepositInput {
  /** Every watched address and whose it is. */
  addresses: ReadonlyMap<string, AddressOwner>;
  /** Addresses whose whole history was read this time: only their outpoints may be judged gone. */
  scanned: ReadonlySet<string>;
  outputs: readonly SeenOutput[];
  /** Our own payout transactions: what they pay to a receive address is not a receipt. */
  ownTxids: ReadonlySet<string>;
  recorded: readonly KnownOutpoint[];
  /** DEPOSIT_CONFIRMATIONS. */
  confirmations: number;
}

export interface Comment {
  dedupeKey: string;
  where: Where;
  body: string;
}

export type DepositDecision =
  /** First sight of an output not deep enough yet: remember it (and that the address received). */
  | { action: "see"; output: SeenOutput; owner: AddressOwner }
  | {
      action: "credit" | "reverse";
      output: SeenOutput;
      owner: AddressOwner;
      /** The recorded state this decision was made on (none yet: "seen", 0). */
      from: { state: KnownOutpoint["state"]; generation: number };
      to: { state: "credited" | "reversed"; generation: number };
      transfer: TransferRequest;
      comment?: Comment;
    };

const outpointOf = (o: { txid: string; vout: number }) => `${o.txid}:${o.vout}`;

export function creditKey(owner: AddressOwner, o: { txid: string; vout: number }, n: number): string {
  if (owner.kind === "deposit") return `deposit:${o.txid}:${o.vout}:${n}`;
  return n === 1 ? `treasury_receipt:${o.txid}:${o.vout}` : `treasury_receipt:${o.txid}:${o.vout}:${n}`;
}

function creditTransfer(owner: AddressOwner, o: SeenOutput, n: number): TransferRequest {
  const ref = { txid: o.txid, vout: String(o.vout), address: o.address };
  return owner.kind === "deposit"
    ? { key: creditKey(owner, o, n), debit: WALLET, credit: fundsOf(owner.userId), sats: o.sats, kind: "deposit", ref }
    : { key: creditKey(owner, o, n), debit: WALLET, credit: TREASURY, sats: o.sats, kind: "treasury_receipt", ref };
}

function reversalTransfer(owner: AddressOwner, o: SeenOutput, n: number): TransferRequest {
  const ref = { txid: o.txid, vout: String(o.vout), address: o.address, reverses: creditKey(owner, o, n) };
  const key = `${creditKey(owner, o, n)}:reversal`;
  return owner.kind === "deposit"
    ? { key, debit: fundsOf(owner.userId), credit: WALLET, sats: o.sats, kind: "deposit_reversal", ref }
    : { key, debit: TREASURY, credit: WALLET, sats: o.sats, kind: "correction", ref };
}

export function creditedComment(login: string, o: { txid: string; vout: number; sats: bigint }): string {
  return `@${login} your deposit of ${o.sats} sats (\`${o.txid}:${o.vout}\`) is in your funds.`;
}

export function reversedComment(login: string, o: { txid: string; vout: number; sats: bigint }): string {
  return (
    `@${login} your deposit of ${o.sats} sats (\`${o.txid}:${o.vout}\`) is no longer in the chain (a reorganisation dropped it), ` +
    "so it was taken back out of your funds. Nothing more is spent from them until they are covered again; if the payment " +
    "confirms again, it is credited again."
  );
}

/** The decisions, in a stable order: credits and first sightings by output, then reversals. */
export function decideDeposits(input: DepositInput): DepositDecision[] {
  if (!Number.isInteger(input.confirmations) || input.confirmations < 1) {
    throw new RangeError(`DEPOSIT_CONFIRMATIONS must be a whole number of at least 1, not ${input.confirmations}`);
  }
  const known = new Map(input.recorded.map((r) => [outpointOf(r), r]));
  const onChain = new Map<string, SeenOutput>();
  const out: DepositDecision[] = [];

  for (const o of input.outputs) {
    const owner = input.addresses.get(o.address);
    if (!owner || o.sats <= 0n) continue;
    if (owner.kind === "treasury" && input.ownTxids.has(o.txid)) continue;
    const id = outpointOf(o);
    if (onChain.has(id)) continue;
    onChain.set(id, o);
    const r = known.get(id);
    if (o.confirmations >= input.confirmations) {
      if (r?.state === "credited") continue;
      const from = { state: r?.state ?? "seen", generation: r?.generation ?? 0 };
      const n = from.generation + 1;
      out.push({
        action: "credit",
        output: o,
        owner,
        from,
        to: { state: "credited", generation: n },
        transfer: creditTransfer(owner, o, n),
        comment:
          owner.kind === "deposit"
            ? { dedupeKey: creditKey(owner, o, n), where: owner.where, body: creditedComment(owner.login, o) }
            : undefined,
      });
    } else if (!r) {
      out.push({ action: "see", output: o, owner });
    }
  }

  for (const r of input.recorded) {
    if (r.state !== "credited" || !input.scanned.has(r.address)) continue;
    const owner = input.addresses.get(r.address);
    if (!owner) continue;
    const now = onChain.get(outpointOf(r));
    if (now && now.confirmations > 0) continue;
    // The amount taken back is the amount credited, whatever the chain shows (or not) now.
    const o: SeenOutput = { txid: r.txid, vout: r.vout, address: r.address, sats: r.sats, confirmations: now?.confirmations ?? 0 };
    out.push({
      action: "reverse",
      output: o,
      owner,
      from: { state: "credited", generation: r.generation },
      to: { state: "reversed", generation: r.generation },
      transfer: reversalTransfer(owner, o, r.generation),
      comment:
        owner.kind === "deposit"
          ? { dedupeKey: `${creditKey(owner, o, r.generation)}:reversal`, where: owner.where, body: reversedComment(owner.login, o) }
          : undefined,
    });
  }
  return out;
}
