/**
 * What the payout engine needs from a Bitcoin chain source. The first
 * implementation speaks Esplora REST (esplora.ts); the local chain
 * (dev/localchain/) serves the same endpoints for tests and demos.
 */

export interface ChainUtxo {
  txid: string;
  vout: number;
  value: bigint;
  confirmed: boolean;
  blockHeight?: number;
}

export interface TxStatus {
  confirmed: boolean;
  blockHeight?: number;
  blockHash?: string;
}

export interface Outspend {
  spent: boolean;
  /** The spending transaction, when spent. */
  txid?: string;
  vin?: number;
  confirmed?: boolean;
  blockHeight?: number;
}

/** One output of a transaction, with the address it pays when its script has one. */
export interface TxOutput {
  vout: number;
  address?: string;
  value: bigint;
}

/** A transaction that touched an address, as an address history lists it. */
export interface AddressTx {
  txid: string;
  confirmed: boolean;
  blockHeight?: number;
  outputs: TxOutput[];
}

/** Fee rate estimates in sat/vB keyed by confirmation target in blocks, as Esplora reports them. */
export type FeeEstimates = Record<string, number>;

export interface ChainBackend {
  /** Unspent outputs of an address, confirmed and in the mempool. */
  getUtxos(address: string): Promise<ChainUtxo[]>;
  /** How many transactions ever touched the address (chain + mempool): > 0 means "used". */
  getAddressTxCount(address: string): Promise<number>;
  /**
   * Every transaction that paid or spent from the address, in the mempool and in the chain (all
   * pages): what deposit and receipt watching reads, so a transaction no longer listed is gone.
   */
  getAddressTxs(address: string): Promise<AddressTx[]>;
  getFeeEstimates(): Promise<FeeEstimates>;
  /** Submits a raw transaction; resolves to its txid, or throws TxRejectedError with the node's reason. */
  broadcast(txHex: string): Promise<string>;
  /** Undefined when the backend does not know the transaction. */
  getTxStatus(txid: string): Promise<TxStatus | undefined>;
  /** Whether an output is spent and by what; { spent: false } for an output the backend does not know. */
  getOutspend(txid: string, vout: number): Promise<Outspend>;
  getTipHeight(): Promise<number>;
}

/** The backend could not be reached or kept failing (network error, timeout, 5xx) after retries. */
export class ChainUnavailableError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = "ChainUnavailableError";
  }
}

/** The node refused a transaction; `reason` is its own words (e.g. "min relay fee not met"). */
export class TxRejectedError extends Error {
  constructor(readonly reason: string) {
    super(`The Bitcoin node rejected the transaction: ${reason}`);
    this.name = "TxRejectedError";
  }
}

/** The backend answered a request with a client error other than a rejected transaction. */
export class ChainRequestError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = "ChainRequestError";
  }
}

/**
 * Picks the estimate for a confirmation target: the entry for the largest
 * target not above the wanted one (so at least as fast), else the fastest.
 * Returns sat/vB, or undefined when the backend reported nothing usable.
 */
export function estimateFor(estimates: FeeEstimates, targetBlocks: number): number | undefined {
  let bestKey: number | undefined;
  let fastestKey: number | undefined;
  for (const [k, v] of Object.entries(estimates)) {
    const key = Number(k);
    if (!Number.isInteger(key) || key <= 0 || typeof v !== "number" || !Number.isFinite(v) || v < 0) continue;
    if (fastestKey === undefined || key < fastestKey) fastestKey = key;
    if (key <= targetBlocks && (bestKey === undefined || key > bestKey)) bestKey = key;
  }
  const key = bestKey ?? fastestKey;
  return key === undefined ? undefined : estimates[String(key)];
}
