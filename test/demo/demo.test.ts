import { runDemo } from "../../src/demo/story.js";

describe("npm run demo", () => {
  test("plays the story offline: bounty, wallet, merge, a payout to the contributor, confirmed; exit 0", async () => {
    let transcript = "";
    const result = await runDemo({ write: (t) => (transcript += t) });
    if (result.code !== 0) throw new Error(`the demo failed:\n${transcript}`);

    expect(result.txid).toMatch(/^[0-9a-f]{64}$/);
    const address = result.contributorAddress!;
    expect(address).toMatch(/^bcrt1q/);
    // $5 at the demo's fixed $60,000/BTC, to the sat.
    expect(result.contributorSats).toBe(8333n);

    expect(transcript).toContain("> /bounty 5usd");
    expect(transcript).toContain(`> /wallet ${address}`);
    expect(transcript).toContain("> Fixes #1");
    expect(transcript).toContain(`transaction ${result.txid}`);
    expect(transcript).toMatch(new RegExp(`output \\d  ${address} +8333 sats  → @carol`));
    expect(transcript).toMatch(/output \d  bcrt1q\S+ +\d+ sats  → change, back to the app's wallet/);
    expect(transcript).toMatch(/fee \d+ sats/);
    // The card as the GitHub stand-in received it, from open to confirmed.
    const statuses = [...transcript.matchAll(/\*\*Status:\*\* (.+)/g)].map((m) => m[1]);
    expect(statuses).toEqual(["🟢 Open", "🏆 Awarded", "💸 Paid", "✅ Confirmed"]);
    expect(transcript).toContain(`Transactions confirmed:      ${result.txid}`);
    expect(transcript).not.toContain("DEMO FAILED");
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
