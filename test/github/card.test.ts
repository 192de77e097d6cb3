import { formatShare, formatUtc, renderCard } from "../../src/github/card.js";
import type { AwardView } from "../../src/store/awards.js";
import type { Bounty, Pledge } from "../../src/store/bounties.js";

const bounty = (over: Partial<Bounty> = {}): Bounty => ({
  id: 1n,
  installationId: 2,
  repoId: 3,
  owner: "kubernetes",
  repo: "website",
  issueNumber: 42,
  issueTitle: "Docs",
  status: "awarded",
  statusReason: null,
  cardCommentId: null,
  cardVersion: 2n,
  cardSyncedVersion: 1n,
  labelName: "bounty",
  labelApplied: true,
  issueState: "completed",
  ...over,
});

const pledge: Pledge = {
  id: 1n,
  funderKey: "user:1",
  funderId: 1,
  funderLogin: "alice",
  amount: { currency: "USD", minor: 1000n },
  status: "awarded",
  createdAt: new Date(0),
  updatedAt: new Date(0),
};

const NOW = new Date("2025-03-01T12:00:00Z");
const award = (over: Partial<AwardView> = {}): AwardView => ({
  id: 1n,
  bountyId: 1n,
  recipientId: 7,
  recipientLogin: "bob",
  shareBps: 10000,
  amounts: [{ currency: "USD", minor: 1000n }],
  source: "merge",
  claimId: 1n,
  pr: { owner: "kubernetes", repo: "website", number: 9 },
  holdUntil: new Date("2025-03-02T12:00:00Z"),
  state: "held",
  cancelReason: null,
  sats: null,
  pricedAt: null,
  unclaimedCharity: null,
  payoutId: null,
  approval: null,
  approvalReason: null,
  approvedBy: null,
  approvedAt: null,
  payout: null,
  priceWait: false,
  balanceSats: null,
  wallet: null,
  ...over,
});

const row = (a: AwardView) => renderCard(bounty(), [pledge], [a], { now: NOW }).split("\n").find((l) => l.startsWith("| @bob") || l.startsWith("| ~~@bob"));

describe("the card's award", () => {
  test("held: paid after the hold, in UTC", () => {
    expect(row(award())).toBe("| @bob | 100% | $10 | ⏳ paid after 2025-03-02 12:00 UTC |");
  });

  test("past the hold but not priced yet: priced in the next run, and a price is blamed only when a run failed to get one", () => {
    const due = award({ holdUntil: new Date("2025-03-01T11:00:00Z") });
    expect(row(due)).toBe("| @bob | 100% | $10 | ⏳ priced in the next payout run |");
    expect(row(due)).not.toContain("price sources");
    expect(row(award({ ...due, priceWait: true }))).toBe(
      "| @bob | 100% | $10 | ⏳ waiting for a reliable BTC price (the price sources are missing or disagree); tried again in the next payout run |",
    );
  });

  test("held for an operator's approval: the row says so and why, before the hold", () => {
    const held = award({ approval: "needed", approvalReason: "@bob pledged on this bounty" });
    expect(row(held)).toBe(
      "| @bob | 100% | $10 | ⏸️ held for operator approval: @bob pledged on this bounty; ⏳ paid after 2025-03-02 12:00 UTC |",
    );
    const past = award({ approval: "needed", approvalReason: "@bob pledged on this bounty", holdUntil: new Date("2025-03-01T11:00:00Z") });
    expect(row(past)).toBe("| @bob | 100% | $10 | ⏸️ held for operator approval: @bob pledged on this bounty |");
    // A label's name may hold a pipe; the table cell stays one cell.
    const label = award({ approval: "needed", approvalReason: "@bob added the label `bounty|50` that pledged on this bounty" });
    expect(row(label)).toContain("⏸️ held for operator approval: @bob added the label `bounty\\|50` that pledged on this bounty;");
    // Once approved, it reads like any other award.
    expect(row(award({ approval: "approved", approvalReason: "@bob pledged on this bounty", approvedBy: "ann" }))).toBe(
      "| @bob | 100% | $10 | ⏳ paid after 2025-03-02 12:00 UTC |",
    );
  });

  test("on an issue not closed as completed: paid only once it is, never 'waiting for a price'", () => {
    const onOpen = (a: AwardView) =>
      renderCard(bounty({ issueState: "open" }), [pledge], [a], { now: NOW }).split("\n").find((l) => l.startsWith("| @bob"));
    expect(onOpen(award())).toBe("| @bob | 100% | $10 | ⏳ paid once the issue is closed as completed, not before 2025-03-02 12:00 UTC |");
    expect(onOpen(award({ holdUntil: new Date("2025-03-01T11:00:00Z") }))).toBe(
      "| @bob | 100% | $10 | ⏳ paid once the issue is closed as completed |",
    );
    expect(onOpen(award({ approval: "needed", approvalReason: "@bob pledged on this bounty", holdUntil: new Date("2025-03-01T11:00:00Z") }))).toBe(
      "| @bob | 100% | $10 | ⏸️ held for operator approval: @bob pledged on this bounty; ⏳ paid once the issue is closed as completed |",
    );
  });

  test("credited: the sats on the recipient's balance", () => {
    expect(row(award({ state: "credited", sats: 16_667n }))).toContain("16,667 sats credited to @bob's balance");
    const queued = award({ state: "credited", sats: 16_667n, payoutId: 5n, payout: { state: "queued", payeeKind: "user", charityName: null, txid: null } });
    expect(row(queued)).toContain("16,667 sats credited to @bob's balance");
  });

  describe("what each state waits for, with PAYOUT_MIN_SATS 10,000 and PAYOUT_INTERVAL 1h", () => {
    const payouts = { minSats: 10_000n, intervalMs: 3_600_000 };
    const state = (a: AwardView, issueState: Bounty["issueState"] = "completed") =>
      renderCard(bounty({ issueState }), [pledge], [a], { now: NOW, payouts })
        .split("\n")
        .find((l) => l.startsWith("| @bob") || l.startsWith("| ~~@bob"))!
        .split(" | ")
        .at(-1)!
        .replace(/ \|$/, "");
    const past = new Date("2025-03-01T11:00:00Z");
    const credited = (over: Partial<AwardView>) => award({ holdUntil: past, state: "credited", sats: 2_500n, pricedAt: NOW, ...over });
    const linked = { kind: "address" as const, addressType: "p2wpkh", charityName: null };
    const payout = (s: NonNullable<AwardView["payout"]>["state"], payeeKind: "user" | "charity" = "user") => ({
      payoutId: 5n,
      payout: { state: s, payeeKind, charityName: payeeKind === "charity" ? "Coin Center" : null, txid: "ab".repeat(32) },
    });
    test.each<[string, AwardView, Bounty["issueState"], string]>([
      ["held, before the hold ends", award(), "completed", "⏳ paid after 2025-03-02 12:00 UTC"],
      ["held, the issue still open", award({ holdUntil: past }), "open", "⏳ paid once the issue is closed as completed"],
      ["held for approval", award({ holdUntil: past, approval: "needed", approvalReason: "@bob made the award" }), "completed", "⏸️ held for operator approval: @bob made the award"],
      ["past the hold, not priced yet", award({ holdUntil: past }), "completed", "⏳ priced in the next payout run (within 1h)"],
      ["past the hold, a run found no reliable price", award({ holdUntil: past, priceWait: true }), "completed",
        "⏳ waiting for a reliable BTC price (the price sources are missing or disagree); tried again in the next payout run (within 1h)"],
      ["credited, no wallet linked", credited({ balanceSats: 2_500n }), "completed",
        "2,500 sats credited to @bob's balance; paid once @bob links a wallet with `/wallet <bitcoin address>`"],
      ["credited, balance below PAYOUT_MIN_SATS", credited({ balanceSats: 4_000n, wallet: linked }), "completed",
        "2,500 sats credited to @bob's balance; paid once your balance reaches 10,000 sats"],
      ["credited, balance at PAYOUT_MIN_SATS", credited({ balanceSats: 10_000n, wallet: linked }), "completed",
        "2,500 sats credited to @bob's balance; paid in the next payout run (within 1h)"],
      ["credited, donating to a charity", credited({ balanceSats: 2_500n, wallet: { kind: "charity", addressType: "p2wpkh", charityName: "Coin Center" } }), "completed",
        "2,500 sats credited to @bob's balance; given to Coin Center once at least 10,000 sats are due to it"],
      ["in a payout awaiting approval", credited({ wallet: linked, ...payout("awaiting_approval") }), "completed",
        "2,500 sats credited to @bob's balance; the payout waits for an operator's approval"],
      ["in a queued payout", credited({ wallet: linked, ...payout("queued") }), "completed", "2,500 sats credited to @bob's balance; queued, paid in the next payout run (within 1h)"],
      ["in a signed transaction", credited({ wallet: linked, ...payout("signed") }), "completed", "💸 being paid"],
      ["broadcast", credited({ wallet: linked, ...payout("broadcast") }), "completed", "💸 paid in `abababababab…`"],
      ["broadcast to a charity", credited({ ...payout("broadcast", "charity") }), "completed", "💸 paid to Coin Center in `abababababab…`"],
      ["confirmed", credited({ wallet: linked, ...payout("confirmed") }), "completed", "✅ paid in `abababababab…`, confirmed"],
      ["cancelled", award({ state: "cancelled", cancelReason: "#9 was reverted by #10" }), "completed", "cancelled: #9 was reverted by #10"],
    ])("%s", (_name, a, issueState, text) => {
      expect(state(a, issueState)).toBe(text);
    });

    test("the minimum is never below the address type's dust limit", () => {
      const tiny = { minSats: 1n, intervalMs: 3_600_000 };
      const text = renderCard(bounty(), [pledge], [credited({ sats: 100n, balanceSats: 100n, wallet: linked })], { now: NOW, payouts: tiny });
      expect(text).toContain("paid once your balance reaches 294 sats");
    });

    test("no 'reliable BTC price' text in any state unless a run failed to price the award", () => {
      const all = [award(), award({ holdUntil: past }), credited({}), credited({ wallet: linked, ...payout("queued") })];
      expect(renderCard(bounty(), [pledge], all, { now: NOW, payouts })).not.toMatch(/reliable BTC price/);
    });
  });

  test("paid and confirmed: the transaction, shortened", () => {
    const txid = "f".repeat(64);
    const paid = (state: "signed" | "broadcast" | "confirmed", payeeKind: "user" | "charity" = "user") =>
      row(award({ state: "credited", sats: 16_667n, payoutId: 5n, payout: { state, payeeKind, charityName: "Coin Center", txid } }));
    expect(paid("signed")).toContain("💸 being paid |");
    expect(paid("broadcast")).toContain("💸 paid in `ffffffffffff…` |");
    expect(paid("confirmed")).toContain("✅ paid in `ffffffffffff…`, confirmed |");
    expect(paid("broadcast", "charity")).toContain("💸 paid to Coin Center in `ffffffffffff…`");
  });

  test("cancelled: struck through, with the reason", () => {
    expect(row(award({ state: "cancelled", cancelReason: "#9 was reverted by #10" }))).toBe(
      "| ~~@bob~~ | 100% | $10 | cancelled: #9 was reverted by #10 |",
    );
  });

  test("an unclaimed charity is stated from the start, and no more once paid", () => {
    const charity = { id: "coin-center", name: "Coin Center", address: "tb1q…" };
    const text = renderCard(bounty(), [pledge], [award({ unclaimedCharity: charity })], { now: NOW, unclaimedDays: 30 });
    expect(text).toContain("Without a wallet linked with `/wallet <bitcoin address>` within 30 days, a recipient's share goes to **Coin Center** instead.");
    const paid = award({ unclaimedCharity: charity, state: "credited", sats: 1n, payoutId: 5n, payout: { state: "broadcast", payeeKind: "user", charityName: null, txid: "ab" } });
    expect(renderCard(bounty(), [pledge], [paid], { now: NOW })).not.toContain("Coin Center");
  });

  test("a whole card with a split award", () => {
    const text = renderCard(
      bounty(),
      [pledge],
      [
        award({ state: "cancelled", cancelReason: "replaced by /award from @alice" }),
        award({ id: 2n, shareBps: 6667, amounts: [{ currency: "USD", minor: 667n }] }),
        award({ id: 3n, recipientLogin: "carol", shareBps: 3333, amounts: [{ currency: "USD", minor: 333n }] }),
      ],
      { now: NOW },
    );
    expect(text).toContain(
      [
        "| Recipient | Share | Amount | State |",
        "| --- | ---: | ---: | --- |",
        "| ~~@bob~~ | 100% | $10 | cancelled: replaced by /award from @alice |",
        "| @bob | 66.67% | $6.67 | ⏳ paid after 2025-03-02 12:00 UTC |",
        "| @carol | 33.33% | $3.33 | ⏳ paid after 2025-03-02 12:00 UTC |",
      ].join("\n"),
    );
    expect(text).toContain("**Status:** 🏆 Awarded");
  });

  test("helpers", () => {
    expect(formatUtc(new Date("2025-01-02T03:04:59.999Z"))).toBe("2025-01-02 03:04 UTC");
    expect(formatShare(10000)).toBe("100%");
    expect(formatShare(3334)).toBe("33.34%");
    expect(formatShare(50)).toBe("0.50%");
  });
});
