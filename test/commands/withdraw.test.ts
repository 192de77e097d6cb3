import { escrowOf, fundsOf, WALLET } from "../../src/ledger/rules.js";
import { accountBalance, transferNow } from "../../src/store/ledger.js";
import { listPayouts } from "../../src/store/payouts.js";
import type { BountyBot } from "../../src/server.js";
import { randomAddress } from "../bitcoin/helpers.js";
import { deliver, github, mockNoConfig, repoPath } from "../support/bot.js";
import { ENGINES } from "../support/databases.js";
import { useTestBot } from "../support/harness.js";
import { ledgerProblems } from "../support/ledger.js";
import { usePaidTestBot } from "../support/paid.js";
import { commentCreated, type Who } from "../support/payloads.js";
import { linkWallet, priceOracle } from "../support/payouts.js";

/** /withdraw through a signed webhook: what it queues and reserves, and every refusal, which records nothing. */

const ISSUE = 23;
let nextComment = 960_000;
let nextUser = 96_000;

async function say(bot: BountyBot, body: string, user: Who): Promise<string> {
  mockNoConfig();
  const bodies: string[] = [];
  github()
    .post(`${repoPath}/issues/${ISSUE}/comments`)
    .reply(201, (_u, b) => {
      bodies.push((b as { body: string }).body);
      return { id: 1 };
    });
  const res = await deliver(bot, "issue_comment", commentCreated({ issue: { number: ISSUE }, commentId: nextComment++, body, user }));
  expect(res.status).toBe(200);
  await bot.settled();
  expect(bodies).toHaveLength(1);
  return bodies[0]!;
}

/** p2wpkh output (31 vB) at `rate` sat/kvB, rounded up. */
const shareAt = (rate: bigint): bigint => (31n * rate + 999n) / 1000n;

describe.each(ENGINES)("/withdraw (%s)", (engine) => {
  const h = usePaidTestBot(engine, { PAYOUT_MIN_SATS: "5000" });

  /** A new person with `sats` deposited (as the deposit watcher records it) and, unless `wallet: false`, a linked address. */
  async function person(sats: bigint, opts: { wallet?: boolean } = {}): Promise<{ who: Who; address: string }> {
    const who: Who = { login: `w${nextUser}`, id: nextUser++ };
    if (sats > 0n) {
      expect(await transferNow(h.db, { key: `deposit:cmd${who.id}:0:1`, debit: WALLET, credit: fundsOf(who.id), sats, kind: "deposit" })).toMatchObject({ ok: true });
    }
    const address = randomAddress("p2wpkh");
    if (opts.wallet !== false) await linkWallet(h.db, who.id, who.login, address);
    return { who, address };
  }

  const withdrawals = async (userId: number) => (await listPayouts(h.db)).filter((p) => p.userId === userId);
  const reserved = async (userId: number) => (await accountBalance(h.db, fundsOf(userId))).debitsPending;

  afterEach(async () => {
    expect(await ledgerProblems(h.db)).toEqual([]);
  });

  test("/withdraw all queues every available sat to the linked address, reserved at once, with the fee share estimated", async () => {
    const { who, address } = await person(30_000n);
    const reply = await say(h.bot, "/withdraw all", who);
    const rate = await h.rig.wallet.feeRate();
    const share = shareAt(rate);
    expect(reply).toContain("> /withdraw all");
    expect(reply).toContain(`@${who.login}: 30,000 sats of your funds will be sent to \`${address}\` in the next payout run.`);
    expect(reply).toContain(`about ${share} sats at today's ${Number(rate) / 1000} sat/vB (its output's 31 vB), so about ${(30_000n - share).toLocaleString("en-US")} sats arrive`);
    expect(reply).toContain("earnings are not part of this");
    expect(await withdrawals(who.id)).toEqual([
      expect.objectContaining({ source: "funds", state: "queued", sats: 30_000n, requestedSats: 30_000n, feeShareSats: null, address }),
    ]);
    expect(await reserved(who.id)).toBe(30_000n);
  });

  test("an amount in sats, or in fiat priced now; without an amount, all", async () => {
    const a = await person(40_000n);
    expect(await say(h.bot, "/withdraw 12000sats", a.who)).toContain("12,000 sats of your funds will be sent");
    expect(await reserved(a.who.id)).toBe(12_000n);
    const b = await person(40_000n);
    // 10 USD at 60,000 USD/BTC.
    expect(await say(h.bot, "/withdraw 10usd", b.who)).toContain("16,667 sats of your funds will be sent");
    const c = await person(25_000n);
    expect(await say(h.bot, "/withdraw", c.who)).toContain("25,000 sats of your funds will be sent");
  });

  test.each([
    ["no linked wallet", { sats: 20_000n, wallet: false }, "/withdraw all", /you have not linked a wallet.*\/wallet <your bitcoin address>.*Nothing was recorded\./],
    ["no funds at all", { sats: 0n }, "/withdraw all", /you have no funds available to withdraw\. Funds are what you deposited with `\/deposit`.*earnings are paid out automatically.*Nothing was recorded\./],
    ["more than is available", { sats: 8_000n }, "/withdraw 9000sats", /you have only 8,000 sats of funds available to withdraw \(you asked for 9,000 sats\)/],
    ["below the payout minimum once its fee share is taken", { sats: 5_010n }, "/withdraw all", /5,010 sats is too little to withdraw: its share of the network fee is about \d+ sats at today's [\d.]+ sat\/vB, which would leave less than the 5,000 sats payout minimum\. Nothing was recorded\./],
    ["a bad amount", { sats: 8_000n }, "/withdraw lots", /Try: \/withdraw/],
  ] as const)("refused, recording nothing: %s", async (_name, setup, body, expected) => {
    const { who } = await person(setup.sats, { wallet: "wallet" in setup ? setup.wallet : true });
    expect(await say(h.bot, body, who)).toMatch(expected);
    expect(await withdrawals(who.id)).toEqual([]);
    expect(await reserved(who.id)).toBe(0n);
  });

  test("a fiat amount without an agreeing price is refused (fail closed)", async () => {
    h.prices = priceOracle("fixed:USD=60000");
    const { who } = await person(50_000n);
    expect(await say(h.bot, "/withdraw 5gbp", who)).toMatch(/a withdrawal in GBP is priced in sats at today's price, and there is no agreeing GBP price right now .*Nothing was recorded\./);
    expect(await withdrawals(who.id)).toEqual([]);
  });

  test("from an overdrawn account (a deposit taken back), nothing is withdrawn", async () => {
    // 15,000 of a 20,000 deposit escrowed for a pledge, then the deposit leaves the chain.
    const o = await person(20_000n);
    expect(await transferNow(h.db, { key: `esc:${o.who.id}`, debit: fundsOf(o.who.id), credit: escrowOf("pledge", `w${o.who.id}`), sats: 15_000n, kind: "escrow" })).toMatchObject({ ok: true });
    expect(await transferNow(h.db, { key: `deposit:cmd${o.who.id}:0:1:reversal`, debit: fundsOf(o.who.id), credit: WALLET, sats: 20_000n, kind: "deposit_reversal" })).toMatchObject({ ok: true });
    expect(await say(h.bot, "/withdraw all", o.who)).toMatch(/your funds are overdrawn by 15,000 sats .*nothing is withdrawn from them until that is covered\. Nothing was recorded\./);
    expect(await withdrawals(o.who.id)).toEqual([]);
  });

  test("one withdrawal at a time: a second one waits for the first to be paid", async () => {
    const { who } = await person(40_000n);
    expect(await say(h.bot, "/withdraw 10000sats", who)).toContain("10,000 sats of your funds will be sent");
    const [first] = await withdrawals(who.id);
    expect(await say(h.bot, "/withdraw 15000sats", who)).toContain(
      `@${who.login}: you already have a withdrawal of 10,000 sats waiting to be sent (payout ${first!.id}); one at a time, so wait for it to be paid first. Nothing was recorded.`,
    );
    expect(await withdrawals(who.id)).toHaveLength(1);
    expect(await reserved(who.id)).toBe(10_000n);
  });

  test("with /wallet donate set, the withdrawal is donated to that charity", async () => {
    const { who } = await person(20_000n, { wallet: false });
    const charity = randomAddress("p2wpkh");
    await h.db.query(
      `INSERT INTO wallets (user_id, login, kind, address, address_type, network, charity_id, charity_name)
       VALUES ($1, $2, 'charity', $3, 'p2wpkh', 'regtest', 'coin-center', 'Coin Center')`,
      [who.id, who.login, charity],
    );
    expect(await say(h.bot, "/withdraw all", who)).toContain(`20,000 sats of your funds will be donated to **Coin Center** (\`${charity}\`) in the next payout run.`);
    expect(await withdrawals(who.id)).toEqual([expect.objectContaining({ kind: "charity", charityId: "coin-center", source: "funds", address: charity })]);
  });

  test("the help table lists /withdraw and says earnings are not withdrawn this way", async () => {
    const { who } = await person(0n);
    const help = await say(h.bot, "/withdraw help", who);
    expect(help).toContain("| `/withdraw [<amount>\\|all]` |");
    expect(help).toContain("Earnings are not withdrawn this way");
  });
});

describe.each(ENGINES)("/withdraw with PAYOUT_MODE=approve (%s)", (engine) => {
  const h = usePaidTestBot(engine, { PAYOUT_MODE: "approve" });

  test("the withdrawal waits for an operator's approval, and the reply says so", async () => {
    const who: Who = { login: "appr", id: 96_900 };
    await transferNow(h.db, { key: "deposit:appr:0:1", debit: WALLET, credit: fundsOf(who.id), sats: 30_000n, kind: "deposit" });
    await linkWallet(h.db, who.id, who.login, randomAddress("p2wpkh"));
    expect(await say(h.bot, "/withdraw all", who)).toContain("in a payout run once an operator approves it");
    expect((await listPayouts(h.db))[0]).toMatchObject({ state: "awaiting_approval", source: "funds" });
  });
});

describe.each(ENGINES)("/withdraw without a payout wallet (%s)", (engine) => {
  const h = useTestBot(engine);

  test("says no wallet is configured and records nothing", async () => {
    expect(await say(h.bot, "/withdraw all", { login: "nowallet", id: 96_800 })).toMatch(/no payout wallet configured, so nothing can be withdrawn/);
    expect(await h.db.query("SELECT 1 FROM payouts")).toEqual([]);
  });
});
