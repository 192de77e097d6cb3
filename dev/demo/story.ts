import { generateMnemonic } from "@scure/bip39";
import { wordlist } from "@scure/bip39/wordlists/english.js";
import { RECEIVE, WalletKeys } from "../../src/bitcoin/keys.js";
import { satsText } from "../../src/cli/format.js";
import { pullRequestClosed } from "../sandbox/payloads.js";
import { listPayouts } from "../../src/store/payouts.js";
import { quoted } from "./github.js";
import { DEPOSIT_SATS, playQuestion, type QuestionResult } from "./question.js";
import { DemoFailure, INSTALLATION, REPO, Stage, within } from "./stage.js";
import { fetchTx } from "./transaction.js";
import { startWorld, type DemoWorld } from "./world.js";

export { DemoFailure, REPO };
const ISSUE = 1;
const PR = 2;
const PR_TITLE = "Make TestPodReady wait for the probe";
const FUNDING_SATS = 1_000_000n;

export interface DemoOptions {
  write(text: string): void;
  /** Longest wait for any one step (webhook handling, a payout run). */
  stepTimeoutMs?: number;
}

/** What the demo showed, for a test to check. */
export interface DemoResult {
  code: number;
  txid?: string;
  contributorAddress?: string;
  contributorSats?: bigint;
  /** The second story's: the deposit, the answer's earnings, the payout to the expert. */
  question?: QuestionResult;
}

/**
 * The whole story, offline: a maintainer offers $10 on issue #1, a contributor links a regtest
 * address, their PR that says "Fixes #1" is merged and the issue closed, a payout run pays, a block
 * confirms it. Then a paid question (question.ts): a deposit, `/ask`, the answer, the payout.
 * Prints a transcript; the result's code is 0 only if every step happened.
 */
export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const say = (...lines: string[]) => opts.write(lines.map((l) => `${l}\n`).join(""));
  const timeout = opts.stepTimeoutMs ?? 30_000;
  const result: DemoResult = { code: 1 };
  let world: DemoWorld | undefined;
  const starting = startWorld();
  try {
    say("bounty-bot offline demo: a local regtest chain, a GitHub API stand-in and the app, all on 127.0.0.1.", "");
    world = await within(timeout, "starting the local chain, the GitHub stand-in and the app", starting);
    const w = world;
    const { github: gh, chain } = w;
    const stage = new Stage(w, say, timeout);
    stage.issues.push(ISSUE, PR);

    gh.addRepo(REPO, { installationId: INSTALLATION });
    const maria = gh.addUser("maria");
    const carol = gh.addUser("carol");
    const rob = gh.addUser("rob");
    gh.setPermission(REPO, maria.login, "write");
    gh.addIssue(REPO, { number: ISSUE, title: "TestPodReady is flaky", author: "rob", body: "It fails about one run in ten." });

    const funding = await w.wallet.receiveAddress();
    chain.fund(funding, FUNDING_SATS);
    const fundedAt = chain.mine(1);
    // The contributor's own wallet: an address of a key only they would hold.
    const carolAddress = WalletKeys.fromMnemonic(generateMnemonic(wordlist), { network: "regtest", script: "p2wpkh" }).address({ chain: RECEIVE, index: 0 });
    result.contributorAddress = carolAddress;

    say(
      "== Setting up",
      `  local chain (Esplora API)  ${chain.url}  regtest`,
      `  GitHub stand-in            ${gh.apiUrl}  repository ${REPO}; @maria may write, @carol is a contributor`,
      `  bounty-bot                 ${w.hookUrl}  embedded database in memory`,
      `  payout wallet              a fresh mnemonic (thrown away at exit); funded with ${satsText(FUNDING_SATS)}`,
      `                             at ${funding}, confirmed in block ${fundedAt}`,
      "",
      "== Settings the demo changes (everything else, e.g. PAYOUT_MIN_SATS, is the documented default)",
      ...w.changed.map((c) => `  ${c.name}=${c.value}  (default: ${c.default}): ${c.why}`),
      "  and the payout scheduler is off (PAYOUT_INTERVAL unused): the story starts each payout run when it needs one",
      "",
    );

    // ---------------------------------------------------------------- 1. the bounty
    say("== 1. A maintainer offers a bounty");
    await stage.comment(maria, ISSUE, "/bounty 10usd");
    const card = () => gh.comments(REPO, ISSUE).find((c) => c.body.includes("bounty-bot:card"))?.body ?? "";
    if (!/Bounty: \$10(\.00)?\b/.test(card())) throw new DemoFailure("the bot did not post a $10 bounty card on issue #1");

    // ---------------------------------------------------------------- 2. the wallet
    say("== 2. The contributor links where to be paid");
    await stage.comment(carol, ISSUE, `/wallet ${carolAddress}`);
    const [linked] = await w.db.query<{ address: string }>("SELECT address FROM wallets WHERE user_id = $1", [carol.id]);
    if (linked?.address !== carolAddress) throw new DemoFailure("the bot did not link @carol's address");

    // ---------------------------------------------------------------- 3. the fix
    say("== 3. The fix is merged and the issue closed");
    const prBody = "Retry the readiness probe once before failing.\n\nFixes #1";
    gh.addIssue(REPO, { number: PR, title: PR_TITLE, author: carol.login, body: prBody, pull_request: true, merged: true, merged_by: maria.login });
    say(`  @carol's pull request #${PR} "${PR_TITLE}" says:`, ...quoted(prBody, "    > "), `  @maria merges it.`);
    await stage.hook(
      "pull_request",
      pullRequestClosed({
        repo: REPO,
        installationId: INSTALLATION,
        pull_request: { number: PR, title: PR_TITLE, body: prBody, author: carol, merged: true, merged_by: maria },
        sender: maria,
      }),
      "pull_request.closed (merged)",
    );
    await stage.closeIssue(maria.login, ISSUE);
    await stage.settled("the app handling the merge and the close");
    stage.showBotWrites();
    if (!card().includes("@carol")) throw new DemoFailure("the card on issue #1 shows no award to @carol after the merge and the close");

    // ---------------------------------------------------------------- 4. the payout
    say("== 4. A payout run", "  The award's hold (PAYOUT_HOLD=0s) is over; the app's scheduler is off in this demo, so we start the run.");
    const paid = await stage.payoutRun();
    const txid = paid.broadcast[0];
    if (!txid) throw new DemoFailure(`the payout run sent no transaction${paid.waiting ? `: ${paid.waiting}` : ""}`);
    result.txid = txid;
    const tx = await within(timeout, "reading the transaction from the chain", fetchTx(chain.url, txid, "regtest"));
    const [payout] = await listPayouts(w.db);
    const toCarol = tx.outputs.find((o) => o.address === carolAddress);
    if (!payout || !toCarol || toCarol.sats !== payout.sats) throw new DemoFailure(`transaction ${txid} does not pay @carol's address the payout's amount`);
    result.contributorSats = toCarol.sats;
    say(
      `  transaction ${txid} (${tx.vsize} vB), as the local chain has it:`,
      ...tx.outputs.map(
        (o) =>
          `    output ${o.vout}  ${o.address}  ${String(o.sats).padStart(9)} sats  ${o === toCarol ? "→ @carol: the bounty, $10 at $60,000/BTC" : "→ change, back to the app's wallet"}`,
      ),
      `    fee ${tx.feeSats} sats (${(Number(tx.feeSats) / tx.vsize).toFixed(1)} sat/vB), paid by the app's wallet on top: @carol receives the full amount`,
      "",
    );
    await stage.settled("the app announcing the payment");
    stage.showBotWrites();
    if (!card().includes("💸 Paid")) throw new DemoFailure("the card on issue #1 did not turn to paid");

    // ---------------------------------------------------------------- 5. confirmation
    const height = chain.mine(1);
    say(`== 5. Block ${height} is mined; another payout run`);
    const settled = await stage.payoutRun();
    if (!settled.confirmed.includes(txid)) throw new DemoFailure(`the payout run did not see ${txid} confirmed`);
    await stage.settled("the app updating the card");
    stage.showBotWrites();
    if (!card().includes("✅ Confirmed")) throw new DemoFailure("the card on issue #1 did not turn to confirmed");

    // ---------------------------------------------------------------- 6–10. a paid question
    const q = await playQuestion(stage, 6, rob);
    result.question = q;

    const balance = await w.wallet.sync();
    const held = balance.confirmedSats + balance.unconfirmedSats;
    const expected = FUNDING_SATS + DEPOSIT_SATS - toCarol.sats - tx.feeSats - q.expertSats - q.feeSats;
    say(
      "== Done",
      `  @carol was paid ${satsText(toCarol.sats)} for the bounty to ${carolAddress}`,
      `  in ${txid}, confirmed in block ${height}.`,
      `  @dana was paid ${satsText(q.expertSats)} for her answer to ${q.expertAddress}`,
      `  in ${q.txid}, confirmed in block ${q.confirmedInBlock}; @rob has ${q.askerFundsSats} sats of his deposit left to ask with.`,
      `  The app's wallet now holds ${satsText(held)}:`,
      `  ${FUNDING_SATS} funded + ${DEPOSIT_SATS} deposited − ${toCarol.sats} and ${q.expertSats} paid − ${tx.feeSats} and ${q.feeSats} in fees.`,
    );
    if (held !== expected) throw new DemoFailure("the wallet's balance does not add up to funding + deposit − payouts − fees");
    result.code = 0;
  } catch (err) {
    say("", `DEMO FAILED: ${err instanceof Error ? err.message : String(err)}`);
    const warnings = world?.warnings.slice(-10) ?? [];
    if (warnings.length) say("The app's last warnings:", ...warnings.map((x) => `  ${x}`));
    result.code = 1;
  } finally {
    // A world that came up too late is closed all the same.
    await (world ?? (await starting.catch(() => undefined)))?.close();
  }
  return result;
}
