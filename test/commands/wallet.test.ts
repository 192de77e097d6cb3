import { useTestBot } from "../support/harness.js";
import { ENGINES } from "../support/databases.js";
import { deliver, github, mockConfig, mockNoConfig, repoPath } from "../support/bot.js";
import { commentCreated, type Who } from "../support/payloads.js";
import { getWallet } from "../../src/store/wallets.js";

const carol: Who = { login: "carol", id: 3001 };
const dave: Who = { login: "dave", id: 3002 };
const ISSUE = 7;
let nextComment = 70000;

// Real addresses: BIP173/BIP350 vectors and well-known testnet/mainnet ones.
const TESTNET_P2WPKH = "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx";
const TESTNET_P2WSH = "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7";
const TESTNET_P2TR = "tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c";
const TESTNET_P2PKH = "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn";
const TESTNET_P2SH = "2MzQwSSnBHWHqSAqtTVQ6v47XtaisrJa1Vc";
const MAINNET_P2WPKH = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4";
const REGTEST_P2WPKH = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080";
const BAD_CHECKSUM = "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsy";
const WITNESS_V2 = "tb1zw508d6qejxtdg4y5r3zarvaryv5p829g";
const WITNESS_V16 = "tb1sw508d6qejxtdg4y5r3zarvaryvpf98dr";

describe.each(ENGINES)("/wallet on %s", (engine) => {
  const h = useTestBot(engine);

  async function say(body: string, user: Who, config?: string): Promise<number> {
    if (config) mockConfig(config);
    else mockNoConfig();
    const id = nextComment++;
    const res = await deliver(h.bot, "issue_comment", commentCreated({ issue: { number: ISSUE }, commentId: id, body, user }));
    expect(res.status).toBe(200);
    return id;
  }
  const expectThumbsUp = (commentId: number) =>
    github().post(`${repoPath}/issues/comments/${commentId}/reactions`, { content: "+1" }).reply(201, { id: 1, content: "+1" });
  function captureReply(): string[] {
    const bodies: string[] = [];
    github()
      .post(`${repoPath}/issues/${ISSUE}/comments`)
      .reply(201, (_u, b) => {
        bodies.push((b as { body: string }).body);
        return { id: 1 };
      });
    return bodies;
  }

  test.each([
    [TESTNET_P2WPKH, "p2wpkh"],
    [TESTNET_P2WSH, "p2wsh"],
    [TESTNET_P2TR, "p2tr"],
    [TESTNET_P2PKH, "p2pkh"],
    [TESTNET_P2SH, "p2sh"],
  ])("links %s (%s) to the commenter's numeric id with a 👍", async (address, type) => {
    expectThumbsUp(nextComment);
    await say(`/wallet ${address}`, carol);
    await h.bot.settled();
    const w = await getWallet(h.db, carol.id);
    expect([w?.address, w?.addressType, w?.kind, w?.network]).toEqual([address.toLowerCase().startsWith("tb1") ? address.toLowerCase() : address, type, "address", "testnet"]);
  });

  test.each([
    [MAINNET_P2WPKH, /mainnet|network/i],
    [REGTEST_P2WPKH, /regtest|network/i],
    [BAD_CHECKSUM, /checksum/i],
    [WITNESS_V2, /version|future/i],
    [WITNESS_V16, /version|future/i],
    ["not-an-address", /./],
  ])("refuses %s with a reply and keeps the wallet already linked", async (address, why) => {
    const before = await getWallet(h.db, carol.id);
    const replies = captureReply();
    await say(`/wallet ${address}`, carol);
    await h.bot.settled();
    expect(replies[0]).toContain(`> /wallet ${address}`);
    expect(replies[0]).toMatch(why);
    expect(await getWallet(h.db, carol.id)).toEqual(before);
  });

  test("/wallet shows what is linked; /wallet remove unlinks; only one's own wallet changes", async () => {
    const shown = captureReply();
    await say("/wallet", carol);
    await h.bot.settled();
    expect(shown[0]).toContain("your payouts go to");

    // dave's commands never touch carol's wallet.
    const daveReply = captureReply();
    await say("/wallet remove", dave);
    await h.bot.settled();
    expect(daveReply[0]).toContain("no wallet linked");
    expect(await getWallet(h.db, carol.id)).not.toBeNull();

    const id = nextComment;
    expectThumbsUp(id);
    await say("/wallet remove", carol);
    await h.bot.settled();
    expect(await getWallet(h.db, carol.id)).toBeNull();
  });

  test("/wallet donate routes payouts to a configured charity; an unknown charity is refused", async () => {
    const config = `charities:\n  coin-center:\n    name: Coin Center\n    address: ${TESTNET_P2WPKH}\n`;
    const replies = captureReply();
    await say("/wallet donate black-girls-code", dave, config);
    await h.bot.settled();
    expect(replies[0]).toContain("`coin-center` (Coin Center)");
    expect(await getWallet(h.db, dave.id)).toBeNull();

    expectThumbsUp(nextComment);
    await say("/wallet donate coin-center", dave, config);
    await h.bot.settled();
    const w = await getWallet(h.db, dave.id);
    expect([w?.kind, w?.charityId, w?.charityName, w?.address]).toEqual(["charity", "coin-center", "Coin Center", TESTNET_P2WPKH]);
  });
});
