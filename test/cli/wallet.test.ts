import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { validateMnemonic } from "@scure/bip39";
import { wordlist } from "@scure/bip39/wordlists/english.js";
import { pino } from "pino";
import { loadWalletConfig } from "../../src/bitcoin/config.js";
import { EsploraBackend } from "../../src/bitcoin/esplora.js";
import { startLocalChain, type LocalChainServer } from "../../dev/localchain/server.js";
import { MemorySpendLog, MemoryWalletState } from "../../src/bitcoin/state.js";
import { PayoutWallet } from "../../src/bitcoin/wallet.js";
import { runCli } from "../../src/cli/index.js";

/** Runs `bounty-bot <argv>` in-process; everything it logs (at any level) is kept too. */
async function cli(argv: string[], env: Record<string, string | undefined>) {
  let out = "";
  let err = "";
  let logged = "";
  const sink = new Writable({ write: (chunk, _enc, done) => ((logged += String(chunk)), done()) });
  const code = await runCli(argv, {
    env,
    log: pino({ level: "trace" }, sink),
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
  });
  return { code, out, err, logged };
}

/** The 24-word phrase in a text, if there is one. */
const phraseIn = (text: string) => text.match(/\b(?:[a-z]+ ){23}[a-z]+\b/)?.[0];

let chain: LocalChainServer;
let dir: string;
beforeAll(async () => {
  chain = await startLocalChain({ network: "regtest" });
});
afterAll(async () => {
  await chain.close();
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "bounty-wallet-create-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The first address the payout wallet hands out for this environment, as the app would open it. */
async function payoutWalletFirstAddress(env: Record<string, string | undefined>): Promise<string> {
  const wallet = await PayoutWallet.open({
    config: loadWalletConfig(env),
    backend: new EsploraBackend({ url: chain.url, retries: 1, backoffMs: 5 }),
    state: new MemoryWalletState(),
    spendLog: new MemorySpendLog(),
    logger: pino({ level: "silent" }),
  });
  return wallet.receiveAddress();
}

describe("bounty-bot wallet create", () => {
  test.each(["p2wpkh", "p2tr"])(
    "writes a valid 24-word mnemonic to WALLET_MNEMONIC_FILE, mode 0600, and shows the payout wallet's first address (%s)",
    async (script) => {
      const file = join(dir, "mnemonic");
      const env = { WALLET_MNEMONIC_FILE: file, BITCOIN_NETWORK: "regtest", ESPLORA_URL: chain.url, WALLET_SCRIPT: script };
      const r = await cli(["wallet", "create"], env);
      expect(r.err).toBe("");
      expect(r.code).toBe(0);

      const words = readFileSync(file, "utf8").trim();
      expect(words.split(" ")).toHaveLength(24);
      expect(validateMnemonic(words, wordlist)).toBe(true);
      expect(statSync(file).mode & 0o777).toBe(0o600);

      const first = await payoutWalletFirstAddress(env);
      expect(first).toMatch(script === "p2tr" ? /^bcrt1p/ : /^bcrt1q/);
      expect(r.out).toContain(`First receive address (Bitcoin regtest, ${script}, `);
      expect(r.out).toContain(`: ${first}\n`);
      expect(r.out).toContain(`kubectl create secret generic bounty-bot-wallet --from-file=mnemonic=${file}`);
      expect(r.out).toMatch(/password manager/);
      expect(r.out).toMatch(/never in git/);
      // Written to the file, so shown nowhere else.
      for (const text of [r.out, r.err, r.logged]) expect(text).not.toContain(words);
    },
  );

  test("without WALLET_MNEMONIC_FILE it prints the words once, and they are the wallet of the address shown", async () => {
    const env = { BITCOIN_NETWORK: "regtest", ESPLORA_URL: chain.url };
    const r = await cli(["wallet", "create"], env);
    expect(r.code).toBe(0);
    const words = phraseIn(r.out)!;
    expect(validateMnemonic(words, wordlist)).toBe(true);
    expect(r.out.split(words)).toHaveLength(2);
    expect(r.out).toMatch(/shown this once/);
    expect(r.out).toContain("kubectl create secret generic bounty-bot-wallet --from-file=mnemonic=");
    expect(r.out).toContain(`: ${await payoutWalletFirstAddress({ ...env, WALLET_MNEMONIC: words })}\n`);
    expect(r.err).not.toContain(words);
    expect(r.logged).not.toContain(words);
  });

  test("two runs make two different wallets", async () => {
    const a = phraseIn((await cli(["wallet", "create"], { BITCOIN_NETWORK: "regtest" })).out);
    const b = phraseIn((await cli(["wallet", "create"], { BITCOIN_NETWORK: "regtest" })).out);
    expect(a).toBeDefined();
    expect(a).not.toBe(b);
  });

  test("refuses when WALLET_MNEMONIC_FILE exists: exit 1, the file unchanged", async () => {
    const file = join(dir, "mnemonic");
    writeFileSync(file, "the operator's existing words\n", { mode: 0o600 });
    const r = await cli(["wallet", "create"], { WALLET_MNEMONIC_FILE: file, BITCOIN_NETWORK: "regtest" });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/a wallet is already configured: WALLET_MNEMONIC_FILE .* exists; nothing was written/);
    expect(r.out).toBe("");
    expect(readFileSync(file, "utf8")).toBe("the operator's existing words\n");
  });

  test("refuses when WALLET_MNEMONIC is set: exit 1, nothing printed or written", async () => {
    const file = join(dir, "mnemonic");
    const r = await cli(["wallet", "create"], {
      WALLET_MNEMONIC: "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about",
      WALLET_MNEMONIC_FILE: file,
    });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/a wallet is already configured \(WALLET_MNEMONIC is set\)/);
    expect(r.out).toBe("");
    expect(() => statSync(file)).toThrow(/ENOENT/);
  });

  test("a bad wallet setting is refused before anything is written", async () => {
    const file = join(dir, "mnemonic");
    const r = await cli(["wallet", "create"], { WALLET_MNEMONIC_FILE: file, WALLET_SCRIPT: "p2pkh" });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/WALLET_SCRIPT must be "p2wpkh"/);
    expect(r.out).toBe("");
    expect(() => statSync(file)).toThrow(/ENOENT/);
  });

  test("a file in a folder that does not exist: a clear error, nothing printed", async () => {
    const r = await cli(["wallet", "create"], { WALLET_MNEMONIC_FILE: join(dir, "nope", "mnemonic") });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/WALLET_MNEMONIC_FILE: cannot create .* \(ENOENT\); nothing was written/);
    expect(r.out).toBe("");
  });

  test("needs neither the database nor the network", async () => {
    const r = await cli(["wallet", "create"], {
      DATABASE_URL: "postgres://nobody@127.0.0.1:1/none",
      ESPLORA_URL: "http://127.0.0.1:1/api",
      BITCOIN_NETWORK: "regtest",
    });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/First receive address \(Bitcoin regtest, p2wpkh, m\/84'\/1'\/0'\/0\/0\): bcrt1q/);
  });
});
