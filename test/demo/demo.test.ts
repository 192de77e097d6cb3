import { runDemo } from "../../dev/demo/story.js";
import { startWorld } from "../../dev/demo/world.js";
import { generateMnemonic } from "@scure/bip39";
import { wordlist } from "@scure/bip39/wordlists/english.js";
import { loadWalletConfig } from "../../src/bitcoin/config.js";
import { priceConfigFromEnv } from "../../src/price/config.js";
import { loadSettings } from "../../src/settings.js";

describe("npm run demo", () => {
  test("plays the story offline: bounty, wallet, merge, a payout to the contributor, confirmed; exit 0", async () => {
    let transcript = "";
    const result = await runDemo({ write: (t) => (transcript += t) });
    if (result.code !== 0) throw new Error(`the demo failed:\n${transcript}`);

    expect(result.txid).toMatch(/^[0-9a-f]{64}$/);
    const address = result.contributorAddress!;
    expect(address).toMatch(/^bcrt1q/);
    // $10 at the demo's fixed $60,000/BTC, to the sat: above the default PAYOUT_MIN_SATS of 10,000.
    expect(result.contributorSats).toBe(16_667n);

    expect(transcript).toContain("> /bounty 10usd");
    expect(transcript).toContain(`> /wallet ${address}`);
    expect(transcript).toContain("> Fixes #1");
    expect(transcript).toContain(`transaction ${result.txid}`);
    expect(transcript).toMatch(new RegExp(`output \\d  ${address} +16667 sats  → @carol`));
    expect(transcript).toMatch(/output \d  bcrt1q\S+ +\d+ sats  → change, back to the app's wallet/);
    expect(transcript).toMatch(/fee \d+ sats/);
    // The card as the GitHub stand-in received it, from open to confirmed.
    const statuses = [...transcript.matchAll(/\*\*Status:\*\* (.+)/g)].map((m) => m[1]);
    expect(statuses).toEqual(["🟢 Open", "🏆 Awarded", "💸 Paid", "✅ Confirmed"]);
    expect(transcript).toContain(`Transactions confirmed:      ${result.txid}`);
    expect(transcript).not.toContain("DEMO FAILED");
  });

  test("runs with the documented defaults, or says which it changes and why, one line each", async () => {
    const world = await startWorld();
    try {
      const defaults = loadSettings({});
      // What it pays with is the default: a balance is paid from PAYOUT_MIN_SATS on, as in production.
      expect(world.settings.payout.minSats).toBe(defaults.payout.minSats);
      expect(world.settings.payout.confirmations).toBe(defaults.payout.confirmations);
      expect(world.settings.payout.mode).toBe(defaults.payout.mode);
      // Each change listed really changes a setting: loading without it gives another value.
      const mnemonic = generateMnemonic(wordlist);
      const effective = (env: Record<string, string>) => ({
        settings: loadSettings(env),
        prices: priceConfigFromEnv(env),
        esplora: loadWalletConfig({ ...env, WALLET_MNEMONIC: mnemonic }).esploraUrl,
      });
      for (const c of world.changed) {
        const without = Object.fromEntries(world.changed.filter((o) => o !== c).map((o) => [o.name, o.value]));
        expect([c.name, effective(without)]).not.toEqual([c.name, effective({ ...without, [c.name]: c.value })]);
      }
    } finally {
      await world.close();
    }

    let transcript = "";
    const result = await runDemo({ write: (t) => (transcript += t) });
    if (result.code !== 0) throw new Error(`the demo failed:\n${transcript}`);
    const section = transcript.split("== Settings the demo changes")[1]!.split("\n\n")[0]!.split("\n").slice(1);
    expect(section.filter((l) => /^  [A-Z_]+=/.test(l)).map((l) => l.match(/^  ([A-Z_]+)=/)![1]).sort()).toEqual(
      ["ALLOWED_ACCOUNTS", "BITCOIN_NETWORK", "DATA_DIR", "ESPLORA_URL", "GHE_HOST", "GHE_PROTOCOL", "HOST", "PAYOUT_HOLD", "PORT", "PRICE_SOURCES"],
    );
    expect(transcript).toContain("  PAYOUT_HOLD=0s  (default: 24h): the story does not wait a day between the merge and the payout\n");
    expect(transcript).toMatch(/^  PRICE_SOURCES=fixed:USD=60000;\S+  \(default: coinbase,kraken,mempool:https:\/\/mempool.space\): .+$/m);
    expect(transcript).toContain("the payout scheduler is off");
    expect(transcript).not.toMatch(/PAYOUT_MIN_SATS=/);
  });
});

describe("npm run demo, when a step does not happen", () => {
  test("stops, says which step and why, and exits non-zero", async () => {
    let transcript = "";
    const result = await runDemo({ write: (t) => (transcript += t), stepTimeoutMs: 1 });
    expect(result.code).toBe(1);
    expect(transcript).toMatch(/DEMO FAILED: .+ did not finish within 0\.001 s/);
  });
});
