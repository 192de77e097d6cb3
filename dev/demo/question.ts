import { generateMnemonic } from "@scure/bip39";
import { wordlist } from "@scure/bip39/wordlists/english.js";
import { RECEIVE, WalletKeys } from "../../src/bitcoin/keys.js";
import { earningsOf, escrowOf, fundsOf, type TransferKind } from "../../src/ledger/rules.js";
import { listTransfers } from "../../src/store/ledger.js";
import { listPayouts } from "../../src/store/payouts.js";
import { quoted } from "./github.js";
import { DemoFailure, REPO, within, type Stage } from "./stage.js";
import { fetchTx, type DecodedTx } from "./transaction.js";

export const QUESTION_ISSUE = 3;
const TITLE = "How do I run the node e2e tests on my laptop?";
/** What the asker sends to their deposit address. */
export const DEPOSIT_SATS = 50_000n;
/** The expert's `/price`: above the default PAYOUT_MIN_SATS (10,000), so the next run pays it. */
export const PRICE_SATS = 20_000n;
const ANSWER =
  "Run `make test-e2e-node REMOTE=false FOCUS='NodeConformance' SKIP='Flaky|Serial'` from the root of the repository. " +
  "It builds the kubelet and runs the suite against it on your own machine, so you need a container runtime and sudo; " +
  "the first run takes about twenty minutes.";

/** What the question story showed, for a test to check. */
export interface QuestionResult {
  depositAddress: string;
  /** The ledger's deposit transfers to the asker's funds, counted after the last payout run. */
  depositCredits: Array<{ key: string; sats: bigint }>;
  /** The expert's earnings credited by the answer (escrow release into earnings). */
  answerCredits: Array<{ key: string; sats: bigint }>;
  expertAddress: string;
  txid: string;
  expertSats: bigint;
  feeSats: bigint;
  /** The asker's funds at the end: deposit less the question. */
  askerFundsSats: bigint;
  confirmedInBlock: number;
}

/**
 * The second story: @rob, who may not fund from the treasury, asks @dana a paid question with his
 * own money. He comments `/deposit`, pays the address from the local chain's faucet, blocks are
 * mined until the deposit watcher credits it, `/ask @dana` escrows her `/price`, her answer
 * releases it to her earnings, and the next payout run pays her on chain.
 */
export async function playQuestion(stage: Stage, firstStep: number, rob: { id: number; login: string }): Promise<QuestionResult> {
  const { w, say } = stage;
  const { github: gh, chain } = w;
  let step = firstStep;
  const heading = (text: string) => say(`== ${step++}. ${text}`);

  const dana = gh.addUser("dana");
  const danaAddress = WalletKeys.fromMnemonic(generateMnemonic(wordlist), { network: "regtest", script: "p2wpkh" }).address({ chain: RECEIVE, index: 0 });
  const robBody = "I want to check my change to the readiness probe before I send it. Who can tell me how?";
  gh.addIssue(REPO, { number: QUESTION_ISSUE, title: TITLE, author: rob.login, body: robBody });
  stage.issues.push(QUESTION_ISSUE);
  const accounts = [
    { who: "@rob's deposited funds", account: fundsOf(rob.id) },
    { who: "@dana's earnings, paid out automatically", account: earningsOf(dana.id) },
  ];

  // ---------------------------------------------------------------- the expert's terms
  heading("A paid question: the expert says what she charges");
  say(`  @rob opens issue #${QUESTION_ISSUE} "${TITLE}":`, ...quoted(robBody, "    > "));
  await stage.comment(dana, QUESTION_ISSUE, `/wallet ${danaAddress}\n/price ${PRICE_SATS}sats`);

  // ---------------------------------------------------------------- the deposit address
  heading("The asker asks for a deposit address");
  say("  @rob may not fund from the organisation's treasury (he may only read the repository), so he pays from his own funds.");
  await stage.comment(rob, QUESTION_ISSUE, "/deposit");
  const reply = gh.comments(REPO, QUESTION_ISSUE).find((c) => c.user.type === "Bot" && c.body.includes("your deposit address is"));
  const depositAddress = /your deposit address is `(bcrt1[0-9a-z]+)`/.exec(reply?.body ?? "")?.[1];
  if (!depositAddress) throw new DemoFailure(`the bot did not reply to @rob's /deposit with a regtest address on issue #${QUESTION_ISSUE}`);
  await stage.showLedger(accounts);

  // ---------------------------------------------------------------- the deposit confirms
  heading("The deposit arrives and confirms");
  const paid = chain.fund(depositAddress, DEPOSIT_SATS);
  say(
    `  @rob's own wallet (here the local chain's faucet) sends ${DEPOSIT_SATS} sats to ${depositAddress}: output ${paid.txid}:${paid.vout}.`,
    "  The address is the app's wallet's (its deposit branch): the coins are the app's to spend, and the ledger owes them to @rob.",
    `  The deposit watcher credits a payment once it has DEPOSIT_CONFIRMATIONS=${w.settings.depositConfirmations} confirmations (the documented default); it runs`,
    "  before every payout run (and every 30 s when the scheduler is on). The demo mines a block and starts a run until it is credited:",
  );
  const credited = () => gh.comments(REPO, QUESTION_ISSUE).some((c) => c.user.type === "Bot" && c.body.includes("your deposit of") && c.body.includes(paid.txid));
  let confirmations = 0;
  for (;;) {
    await stage.payoutRun({ quiet: true });
    await stage.settled("the app announcing the deposit");
    const funds = (await stage.balance(fundsOf(rob.id))).posted;
    const depth = confirmations === 0 ? "in the mempool, 0 confirmations" : `block ${chain.chain.tipHeight} mined, ${confirmations} confirmation${confirmations === 1 ? "" : "s"}`;
    say(`  ${depth}: a payout run watches deposits first → @rob's funds hold ${funds} sats${credited() ? ", and the bot says so" : ""}`);
    if (credited()) break;
    if (confirmations > w.settings.depositConfirmations) throw new DemoFailure(`the deposit ${paid.txid} was not credited after ${confirmations} confirmations`);
    chain.mine(1);
    confirmations++;
  }
  say("");
  stage.showBotWrites();
  const afterDeposit = await stage.showLedger(accounts);
  if (afterDeposit.get(fundsOf(rob.id).key)!.posted !== DEPOSIT_SATS) throw new DemoFailure(`@rob's funds do not hold the ${DEPOSIT_SATS} sats deposited`);

  // ---------------------------------------------------------------- the question
  heading("The asker asks the expert, at her price");
  await stage.comment(rob, QUESTION_ISSUE, `/ask @dana ${TITLE.replace(/^How/, "how")}`);
  const card = () => gh.comments(REPO, QUESTION_ISSUE).find((c) => c.body.includes("bounty-bot:card:question:"))?.body ?? "";
  const id = /bounty-bot:card:question:(\d+)/.exec(card())?.[1];
  if (!id || !card().includes("waiting for an answer")) throw new DemoFailure(`the bot did not post an open question card on issue #${QUESTION_ISSUE}`);
  const withEscrow = [...accounts, { who: "the question's escrow", account: escrowOf("question", id) }];
  const asked = await stage.showLedger(withEscrow);
  if (asked.get(fundsOf(rob.id).key)!.out !== PRICE_SATS || asked.get(escrowOf("question", id).key)!.in !== PRICE_SATS) {
    throw new DemoFailure(`the question did not hold ${PRICE_SATS} sats of @rob's funds in escrow`);
  }

  // ---------------------------------------------------------------- the answer
  heading("The expert answers");
  await stage.comment(dana, QUESTION_ISSUE, ANSWER);
  if (!card().includes("✅ answered")) throw new DemoFailure(`the question card on issue #${QUESTION_ISSUE} does not say it is answered`);
  const answered = await stage.showLedger(withEscrow);
  if (answered.get(earningsOf(dana.id).key)!.posted !== PRICE_SATS) throw new DemoFailure(`@dana's earnings were not credited ${PRICE_SATS} sats for her answer`);
  if (answered.get(fundsOf(rob.id).key)!.posted !== DEPOSIT_SATS - PRICE_SATS) throw new DemoFailure("@rob's funds were not charged the question");

  // ---------------------------------------------------------------- the payout
  heading("The next payout run pays the expert");
  say("  @dana's earnings are at least PAYOUT_MIN_SATS (10,000 sats, the default) and she linked a wallet: the run pays them.");
  const run = await stage.payoutRun();
  const txid = run.broadcast[0];
  if (!txid) throw new DemoFailure(`the payout run sent no transaction to @dana${run.waiting ? `: ${run.waiting}` : ""}`);
  const tx: DecodedTx = await within(stage.timeout, "reading the transaction from the chain", fetchTx(chain.url, txid, "regtest"));
  const payout = (await listPayouts(w.db)).find((p) => p.userId === dana.id);
  const toDana = tx.outputs.find((o) => o.address === danaAddress);
  if (!payout || payout.txid !== txid || !toDana || toDana.sats !== PRICE_SATS) throw new DemoFailure(`transaction ${txid} does not pay @dana's address her ${PRICE_SATS} sats`);
  say(
    `  transaction ${txid} (${tx.vsize} vB), as the local chain has it:`,
    ...tx.outputs.map((o) => `    output ${o.vout}  ${o.address}  ${String(o.sats).padStart(9)} sats  ${o === toDana ? "→ @dana: her answer to @rob's question" : "→ change, back to the app's wallet"}`),
    `    fee ${tx.feeSats} sats (${(Number(tx.feeSats) / tx.vsize).toFixed(1)} sat/vB), paid by the app's wallet on top: @dana receives the full amount`,
    "",
  );
  await stage.settled("the app announcing the payment");
  stage.showBotWrites();
  const end = await stage.showLedger(withEscrow);
  if (end.get(earningsOf(dana.id).key)!.posted !== 0n) throw new DemoFailure("@dana's earnings were not paid out");

  const height = chain.mine(1);
  say(`  Block ${height} is mined; another payout run:`);
  const settled = await stage.payoutRun();
  if (!settled.confirmed.includes(txid)) throw new DemoFailure(`the payout run did not see ${txid} confirmed`);
  await stage.settled("the app after the confirmation");

  const transfers = async (account: string, kinds: TransferKind[]) =>
    (await listTransfers(w.db, { account, kinds })).filter((t) => t.credit === account).map((t) => ({ key: t.key, sats: t.sats }));
  return {
    depositAddress,
    depositCredits: await transfers(fundsOf(rob.id).key, ["deposit"]),
    answerCredits: await transfers(earningsOf(dana.id).key, ["escrow_release"]),
    expertAddress: danaAddress,
    txid,
    expertSats: toDana.sats,
    feeSats: tx.feeSats,
    askerFundsSats: end.get(fundsOf(rob.id).key)!.posted,
    confirmedInBlock: height,
  };
}
