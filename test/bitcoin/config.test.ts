import { loadWalletConfig, WalletConfigError } from "../../src/bitcoin/config.js";
import { inspect } from "node:util";
import { ABANDON } from "./helpers.js";

// A private-looking mnemonic (generated for this test; holds nothing).
const SECRET_WORDS = "humor cement object similar used rich clinic fever huge ribbon catch hour";
const json = (v: unknown) => JSON.stringify(v, (_, x) => (typeof x === "bigint" ? x.toString() : x));
const load = (env: Record<string, string | undefined>, files: Record<string, string> = {}) =>
  loadWalletConfig(env, (p) => {
    if (p in files) return files[p]!;
    throw Object.assign(new Error("nope"), { code: "ENOENT" });
  });

function problems(env: Record<string, string | undefined>, files: Record<string, string> = {}): string {
  try {
    load(env, files);
  } catch (e) {
    expect(e).toBeInstanceOf(WalletConfigError);
    const text = `${(e as Error).message}\n${(e as Error).stack}\n${json(e)}\n${inspect(e)}`;
    // Whatever went wrong, the words never appear.
    for (const w of ["humor", "cement", "ribbon", "fever"]) expect(text).not.toContain(w);
    return (e as Error).message;
  }
  throw new Error("expected a configuration error");
}

describe("loadWalletConfig", () => {
  it("has safe defaults: testnet, BIP84, public Esplora, 6 blocks, 200 sat/vB max", () => {
    const c = load({ WALLET_MNEMONIC: SECRET_WORDS });
    expect(c).toMatchObject({
      network: "testnet",
      mainnetConfirmed: false,
      script: "p2wpkh",
      esploraUrl: "https://mempool.space/testnet/api",
      feeTargetBlocks: 6,
      minFeeRate: 1000n,
      maxFeeRate: 200_000n,
      longTermFeeRate: 1_000n,
      maxTxSats: 5_000_000n,
      dailyCapSats: 10_000_000n,
      maxOutputs: 500,
      gapLimit: 20,
    });
    expect(c.mnemonic.reveal()).toBe(SECRET_WORDS);
    expect(json(c)).not.toContain("humor");
    expect(inspect(c, { depth: 5 })).not.toContain("humor");
  });

  it("reads every variable", () => {
    const c = load(
      {
        BITCOIN_NETWORK: "signet",
        WALLET_MNEMONIC_FILE: "/run/secrets/mnemonic",
        WALLET_SCRIPT: "p2tr",
        ESPLORA_URL: "http://127.0.0.1:3002/",
        FEE_TARGET_BLOCKS: "3",
        FEE_MAX_SAT_VB: "50.5",
        FEE_LONG_TERM_SAT_VB: "4",
        PAYOUT_MAX_TX_SATS: "1000000",
        PAYOUT_DAILY_CAP_SATS: "2000000",
        PAYOUT_MAX_OUTPUTS: "100",
        WALLET_GAP_LIMIT: "30",
      },
      { "/run/secrets/mnemonic": `${SECRET_WORDS}\n` },
    );
    expect(c).toMatchObject({
      network: "signet",
      script: "p2tr",
      esploraUrl: "http://127.0.0.1:3002",
      feeTargetBlocks: 3,
      maxFeeRate: 50_500n,
      longTermFeeRate: 4_000n,
      maxTxSats: 1_000_000n,
      dailyCapSats: 2_000_000n,
      maxOutputs: 100,
      gapLimit: 30,
    });
    expect(c.mnemonic.reveal()).toBe(SECRET_WORDS);
  });

  it("marks mainnet as confirmed only when BITCOIN_NETWORK=bitcoin", () => {
    const c = load({ BITCOIN_NETWORK: "bitcoin", WALLET_MNEMONIC: SECRET_WORDS });
    expect(c.network).toBe("bitcoin");
    expect(c.mainnetConfirmed).toBe(true);
    expect(c.esploraUrl).toBe("https://mempool.space/api");
  });

  it("refuses a mnemonic with a bad checksum, without echoing it", () => {
    const bad = SECRET_WORDS.replace(/hour$/, "humor");
    expect(problems({ WALLET_MNEMONIC: bad })).toMatch(/WALLET_MNEMONIC is not a valid BIP39 English mnemonic \(12 words/);
    expect(problems({ WALLET_MNEMONIC_FILE: "/m" }, { "/m": bad })).toMatch(/WALLET_MNEMONIC_FILE is not a valid BIP39/);
  });

  it("refuses published test mnemonics on mainnet only", () => {
    expect(problems({ BITCOIN_NETWORK: "bitcoin", WALLET_MNEMONIC: ABANDON })).toMatch(/published test mnemonic/);
    expect(load({ BITCOIN_NETWORK: "regtest", WALLET_MNEMONIC: ABANDON }).network).toBe("regtest");
  });

  it("explains every problem at once", () => {
    const msg = problems({
      BITCOIN_NETWORK: "mainnet",
      WALLET_SCRIPT: "p2sh",
      FEE_MAX_SAT_VB: "0",
      FEE_TARGET_BLOCKS: "six",
      PAYOUT_MAX_TX_SATS: "-5",
      PAYOUT_DAILY_CAP_SATS: "1.5",
      PAYOUT_MAX_OUTPUTS: "0",
      ESPLORA_URL: "not a url",
    });
    expect(msg).toMatch(/No wallet: set WALLET_MNEMONIC or WALLET_MNEMONIC_FILE/);
    expect(msg).toMatch(/BITCOIN_NETWORK must be one of bitcoin, testnet, signet, regtest, not "mainnet"/);
    expect(msg).toMatch(/WALLET_SCRIPT must be "p2wpkh" \(BIP84, default\) or "p2tr"/);
    expect(msg).toMatch(/FEE_MAX_SAT_VB must be a number from 1/);
    expect(msg).toMatch(/FEE_TARGET_BLOCKS must be a whole number/);
    expect(msg).toMatch(/PAYOUT_MAX_TX_SATS must be a positive whole number of sats/);
    expect(msg).toMatch(/PAYOUT_DAILY_CAP_SATS must be a positive whole number of sats/);
    expect(msg).toMatch(/PAYOUT_MAX_OUTPUTS must be a whole number from 1/);
    expect(msg).toMatch(/ESPLORA_URL is not a valid URL/);
  });

  it("refuses both mnemonic sources, unreadable files, and a mnemonic pasted into the wrong variable", () => {
    expect(problems({ WALLET_MNEMONIC: SECRET_WORDS, WALLET_MNEMONIC_FILE: "/m" }, { "/m": SECRET_WORDS })).toMatch(/only one of/);
    expect(problems({ WALLET_MNEMONIC_FILE: "/missing" })).toMatch(/cannot read \/missing \(ENOENT\)/);
    expect(problems({ WALLET_MNEMONIC: SECRET_WORDS, WALLET_SCRIPT: SECRET_WORDS })).toMatch(/not shown: too long/);
  });

  it("refuses an Esplora server of the wrong network", () => {
    expect(problems({ WALLET_MNEMONIC: SECRET_WORDS, ESPLORA_URL: "https://mempool.space/api" })).toMatch(/mainnet server but BITCOIN_NETWORK is testnet/);
    expect(problems({ BITCOIN_NETWORK: "bitcoin", WALLET_MNEMONIC: SECRET_WORDS, ESPLORA_URL: "https://blockstream.info/testnet/api" })).toMatch(
      /test network server/,
    );
    // A query (an API key) or credentials do not hide which server it is.
    expect(problems({ WALLET_MNEMONIC: SECRET_WORDS, ESPLORA_URL: "https://mempool.space/api?apikey=k" })).toMatch(/mainnet server/);
    expect(problems({ WALLET_MNEMONIC: SECRET_WORDS, ESPLORA_URL: "https://u:p@mempool.space/api/" })).toMatch(/mainnet server/);
  });

  it("never echoes credentials from ESPLORA_URL", () => {
    const msg = problems({ WALLET_MNEMONIC: SECRET_WORDS, ESPLORA_URL: "ftp://user:hunter2secret@example.com/api?token=hunter2secret" });
    expect(msg).toMatch(/ESPLORA_URL must be an http\(s\) URL/);
    expect(msg).not.toContain("hunter2secret");
  });
});
