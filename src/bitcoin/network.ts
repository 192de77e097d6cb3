import * as bitcoin from "bitcoinjs-lib";

/** The Bitcoin networks the payout engine can run on. */
export type NetworkName = "bitcoin" | "testnet" | "signet" | "regtest";

export const NETWORK_NAMES: readonly NetworkName[] = ["bitcoin", "testnet", "signet", "regtest"];

/**
 * Reads BITCOIN_NETWORK. Unset means testnet: mainnet must always be chosen
 * explicitly, so a forgotten variable can never spend real money.
 */
export function parseNetworkName(v: string | undefined): NetworkName {
  const name = (v ?? "").trim().toLowerCase();
  if (name === "") return "testnet";
  if ((NETWORK_NAMES as readonly string[]).includes(name)) return name as NetworkName;
  throw new Error(
    `Unknown Bitcoin network "${v}". Valid names are: ${NETWORK_NAMES.join(", ")}.`,
  );
}

/** bitcoinjs-lib parameters. Signet shares testnet's prefixes (base58 and bech32 "tb"). */
export function networkFor(name: NetworkName): bitcoin.Network {
  switch (name) {
    case "bitcoin":
      return bitcoin.networks.bitcoin;
    case "testnet":
    case "signet":
      return bitcoin.networks.testnet;
    case "regtest":
      return bitcoin.networks.regtest;
  }
}

/** BIP44 coin type: 0 for mainnet, 1 for every test network. */
export function coinTypeFor(name: NetworkName): 0 | 1 {
  return name === "bitcoin" ? 0 : 1;
}

/** What users call each network, for messages. */
export function networkLabel(name: NetworkName): string {
  switch (name) {
    case "bitcoin":
      return "Bitcoin mainnet";
    case "testnet":
      return "Bitcoin testnet";
    case "signet":
      return "Bitcoin signet";
    case "regtest":
      return "Bitcoin regtest";
  }
}
