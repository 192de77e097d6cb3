import * as bitcoin from "bitcoinjs-lib";
import { addressFromScript } from "../../src/bitcoin/address.js";
import type { NetworkName } from "../../src/bitcoin/network.js";

export interface DecodedTx {
  txid: string;
  vsize: number;
  feeSats: bigint;
  outputs: Array<{ vout: number; address: string; sats: bigint }>;
}

/** A transaction as the chain's Esplora API serves it (raw hex and fee), decoded. */
export async function fetchTx(esploraUrl: string, txid: string, network: NetworkName): Promise<DecodedTx> {
  const get = async (path: string) => {
    const res = await fetch(`${esploraUrl}${path}`, { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`the chain does not have ${txid} (GET ${path}: ${res.status})`);
    return res;
  };
  const hex = await (await get(`/tx/${txid}/hex`)).text();
  const { fee } = (await (await get(`/tx/${txid}`)).json()) as { fee: number };
  const tx = bitcoin.Transaction.fromHex(hex);
  if (tx.getId() !== txid) throw new Error(`the chain served a different transaction for ${txid}`);
  return {
    txid,
    vsize: tx.virtualSize(),
    feeSats: BigInt(fee),
    outputs: tx.outs.map((o, vout) => ({ vout, address: addressFromScript(o.script, network), sats: BigInt(o.value) })),
  };
}
