import { useTestBot } from "../support/harness.js";
import { ENGINES } from "../support/databases.js";
import { deliver, github, mockNoConfig, repoPath } from "../support/bot.js";
import { usePaidTestBot } from "../support/paid.js";
import { commentCreated, type Who } from "../support/payloads.js";
import { listDepositAddresses } from "../../src/store/deposits.js";
import type { BountyBot } from "../../src/server.js";

const carol: Who = { login: "carol", id: 4001 };
const dave: Who = { login: "dave", id: 4002 };
const ISSUE = 17;
let nextComment = 470000;

async function say(bot: BountyBot, body: string, user: Who): Promise<string[]> {
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
  return bodies;
}

describe.each(ENGINES)("/deposit with a wallet on %s", (engine) => {
  const h = usePaidTestBot(engine, { DEPOSIT_CONFIRMATIONS: "3" });

  test("replies with the commenter's own address, says it is public, the depth and the network, and records where they asked", async () => {
    const [reply] = await say(h.bot, "/deposit", carol);
    const address = h.rig.wallet.depositAddress(0);
    expect(reply).toContain("> /deposit");
    expect(reply).toContain(`@carol: your deposit address is \`${address}\` (Bitcoin regtest)`);
    expect(reply).toContain("once it has 3 confirmations");
    expect(reply).toMatch(/public/);
    const [daves] = await say(h.bot, "/deposit", dave);
    expect(daves).toContain(`\`${h.rig.wallet.depositAddress(1)}\``);
    const issued = await listDepositAddresses(h.db, h.rig.wallet.depositWallet);
    expect(issued.map((a) => [a.userId, a.login, a.index, a.address, a.where])).toEqual([
      [carol.id, "carol", 0, address, { installationId: 2, owner: "kubernetes", repo: "website", issueNumber: ISSUE }],
      [dave.id, "dave", 1, h.rig.wallet.depositAddress(1), { installationId: 2, owner: "kubernetes", repo: "website", issueNumber: ISSUE }],
    ]);
  });

  test("/deposit takes no argument, and the help table lists it", async () => {
    const [reply] = await say(h.bot, "/deposit 5000", carol);
    expect(reply).toContain("takes nothing after it");
    expect(await listDepositAddresses(h.db, h.rig.wallet.depositWallet)).toEqual([]);
    const [help] = await say(h.bot, "/deposit help", carol);
    expect(help).toContain("| `/deposit` |");
  });
});

describe.each(ENGINES.flatMap((e) => [[e, "testnet"], [e, "bitcoin"]] as const))("/deposit when the wallet is on another network (%s, app on %s)", (engine, network) => {
  const h = usePaidTestBot(engine, { BITCOIN_NETWORK: network });

  test("refuses and records nothing", async () => {
    const [reply] = await say(h.bot, "/deposit", carol);
    expect(reply).toContain(`runs on Bitcoin ${network === "bitcoin" ? "mainnet" : network} but its wallet is on Bitcoin regtest`);
    expect(reply).toContain("Do not send anything");
    expect(reply).not.toMatch(/bcrt1|tb1|bc1/);
    expect(await listDepositAddresses(h.db, h.rig.wallet.depositWallet)).toEqual([]);
  });
});

describe.each(ENGINES)("/deposit without a wallet (%s)", (engine) => {
  const h = useTestBot(engine);

  test("says no wallet is configured", async () => {
    const [reply] = await say(h.bot, "/deposit", carol);
    expect(reply).toContain("no wallet configured");
    expect(await h.db.query("SELECT 1 FROM deposit_addresses")).toEqual([]);
  });
});
