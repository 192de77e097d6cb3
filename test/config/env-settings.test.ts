import { loadSettings } from "../../src/settings.js";
import { networkFromEnv } from "../../src/config/env.js";

const MNEMONIC = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

describe("one list of errors at start", () => {
  it("with { wallet: true }, a configured wallet's problems join the others", () => {
    let message = "";
    try {
      loadSettings({ PORT: "x", WALLET_MNEMONIC: MNEMONIC, WALLET_GAP_LIMIT: "0", PRICE_MAX_SPREAD: "lots" }, { wallet: true });
    } catch (err) {
      message = (err as Error).message;
    }
    const lines = message.split("\n");
    expect(lines[0]).toBe("Invalid environment:");
    expect(lines).toContain('- PORT must be a port number, not "x"');
    expect(lines.some((l) => l.startsWith("- PRICE_MAX_SPREAD"))).toBe(true);
    expect(lines).toContain('- WALLET_GAP_LIMIT must be a whole number from 1 to 1000, not "0"');
  });

  it("a bad BITCOIN_NETWORK is reported once", () => {
    expect(() => loadSettings({ BITCOIN_NETWORK: "mainnet", WALLET_MNEMONIC: MNEMONIC }, { wallet: true })).toThrow(
      /^Invalid environment: BITCOIN_NETWORK: Unknown Bitcoin network "mainnet"/,
    );
  });

  it("without a wallet, or without { wallet: true }, wallet variables are not checked here", () => {
    expect(() => loadSettings({ WALLET_GAP_LIMIT: "0" }, { wallet: true })).not.toThrow();
    expect(() => loadSettings({ WALLET_MNEMONIC: "not words", WALLET_GAP_LIMIT: "0" })).not.toThrow();
  });

  it("BITCOIN_NETWORK is read in one place", () => {
    expect(networkFromEnv({})).toEqual({ ok: true, network: "testnet", mainnet: false });
    expect(networkFromEnv({ BITCOIN_NETWORK: " Bitcoin " })).toEqual({ ok: true, network: "bitcoin", mainnet: true });
    expect(networkFromEnv({ BITCOIN_NETWORK: "mainnet" })).toMatchObject({ ok: false });
  });
});
