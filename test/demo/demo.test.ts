import { runDemo, type DemoResult } from "../../dev/demo/story.js";
import { startWorld } from "../../dev/demo/world.js";
import { generateMnemonic } from "@scure/bip39";
import { wordlist } from "@scure/bip39/wordlists/english.js";
import { loadWalletConfig } from "../../src/bitcoin/config.js";
import { priceConfigFromEnv } from "../../src/price/config.js";
import { loadSettings } from "../../src/settings.js";

describe("npm run demo", () => {
  // One run of the whole demo, read by the tests below.
  let transcript = "";
  let result: DemoResult;
  beforeAll(async () => {
    result = await runDemo({ write: (t) => (transcript += t) });
  }, 120_000);
  const succeeded = () => {
    if (result.code !== 0) throw new Error(`the demo failed:\n${transcript}`);
  };
  /** The transcript of the bounty story (steps 1–5) and of the question story (from step 6). */
  const bountyPart = () => transcript.split("\n== 6. ")[0]!;
  const questionPart = () => transcript.split("\n== 6. ")[1] ?? "";

  test("plays the story offline: bounty, wallet, merge, a payout to the contributor, confirmed; exit 0", () => {
    succeeded();

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
    const statuses = [...bountyPart().matchAll(/\*\*Status:\*\* (.+)/g)].map((m) => m[1]);
    expect(statuses).toEqual(["🟢 Open", "🏆 Awarded", "💸 Paid", "✅ Confirmed"]);
    expect(bountyPart()).toContain(`Transactions confirmed:      ${result.txid}`);
    expect(transcript).not.toContain("DEMO FAILED");
  });

  test("plays a paid question: /deposit credited once, /ask at the expert's price, her answer credited, the next payout pays her on chain", () => {
    succeeded();
    const q = result.question!;
    const part = questionPart();
    // The expert's terms, then the asker's deposit address, in the bot's reply.
    expect(part).toContain(`> /wallet ${q.expertAddress}\n    > /price 20000sats`);
    expect(part).toContain("> /deposit");
    expect(q.depositAddress).toMatch(/^bcrt1q/);
    expect(part).toContain(`your deposit address is \`${q.depositAddress}\` (Bitcoin regtest)`);
    // Credited at the default DEPOSIT_CONFIRMATIONS (2), not before, and once however many runs watched after it.
    expect(part).toMatch(/block \d+ mined, 1 confirmation: a payout run watches deposits first → @rob's funds hold 0 sats\n/);
    expect(part).toMatch(/block \d+ mined, 2 confirmations: a payout run watches deposits first → @rob's funds hold 50000 sats, and the bot says so\n/);
    expect(q.depositCredits).toEqual([{ key: expect.stringMatching(/^deposit:[0-9a-f]{64}:0:1$/), sats: 50_000n }]);
    expect(part).toMatch(/@rob your deposit of 50000 sats \(`[0-9a-f]{64}:0`\) is in your funds\./);
    // The question at her price, held from his funds; her answer releases it to her earnings.
    expect(part).toContain("> /ask @dana how do I run the node e2e tests on my laptop?");
    expect(part).toMatch(/funds:\d+ +50000 sats \(20000 of it held by a pending transfer out\)  @rob's deposited funds/);
    expect(part).toMatch(/escrow:question:1 +0 sats \(20000 pending in\)  the question's escrow/);
    expect(part).toContain("> Run `make test-e2e-node");
    const statuses = [...part.matchAll(/\*\*Status:\*\* (.+)/g)].map((m) => m[1]!.split(" until ")[0]);
    expect(statuses).toEqual(["🟢 waiting for an answer", "✅ answered."]);
    expect(part).toContain("| @dana | 20,000 sats credited to @dana |");
    expect(q.answerCredits).toEqual([{ key: "escrow:question:1:0:release:0", sats: 20_000n }]);
    expect(part).toMatch(/earnings:\d+ +20000 sats  @dana's earnings/);
    // The next payout run pays her earnings to her address; a block confirms it.
    expect(q.txid).toMatch(/^[0-9a-f]{64}$/);
    expect(q.txid).not.toBe(result.txid);
    expect(q.expertSats).toBe(20_000n);
    expect(part).toContain(`Transactions broadcast:      ${q.txid}`);
    expect(part).toMatch(new RegExp(`output \\d  ${q.expertAddress} +20000 sats  → @dana`));
    expect(part).toMatch(/earnings:\d+ +0 sats  @dana's earnings/);
    expect(part).toContain(`Transactions confirmed:      ${q.txid}`);
    expect(q.askerFundsSats).toBe(30_000n);
    expect(transcript).toMatch(/1000000 funded \+ 50000 deposited − 16667 and 20000 paid − \d+ and \d+ in fees\./);
  });

  test("runs with the documented defaults, or says which it changes and why, one line each", async () => {
    const world = await startWorld();
    try {
      const defaults = loadSettings({});
      // What it pays with is the default: a balance is paid from PAYOUT_MIN_SATS on, as in production.
      expect(world.settings.payout.minSats).toBe(defaults.payout.minSats);
      expect(world.settings.payout.confirmations).toBe(defaults.payout.confirmations);
      expect(world.settings.payout.mode).toBe(defaults.payout.mode);
      // A deposit waits for as many confirmations as in production.
      expect(world.settings.depositConfirmations).toBe(defaults.depositConfirmations);
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

    succeeded();
    const section = transcript.split("== Settings the demo changes")[1]!.split("\n\n")[0]!.split("\n").slice(1);
    expect(section.filter((l) => /^  [A-Z_]+=/.test(l)).map((l) => l.match(/^  ([A-Z_]+)=/)![1]).sort()).toEqual(
      ["ALLOWED_ACCOUNTS", "BITCOIN_NETWORK", "DATA_DIR", "ESPLORA_URL", "GHE_HOST", "GHE_PROTOCOL", "HOST", "PAYOUT_HOLD", "PORT", "PRICE_SOURCES"],
    );
    expect(transcript).toContain("  PAYOUT_HOLD=0s  (default: 24h): the story does not wait a day between the merge and the payout\n");
    expect(transcript).toMatch(/^  PRICE_SOURCES=fixed:USD=60000;\S+  \(default: coinbase,kraken,mempool:https:\/\/mempool.space\): .+$/m);
    expect(transcript).toContain("the payout scheduler is off");
    expect(transcript).not.toMatch(/PAYOUT_MIN_SATS=|DEPOSIT_CONFIRMATIONS=1/);
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
