import { isHidden } from "../../src/store/board.js";
import { findCommand, helpTable } from "../../src/commands/index.js";
import { useTestBot } from "../support/harness.js";
import { ENGINES } from "../support/databases.js";
import { deliver, github, mockNoConfig, repoPath } from "../support/bot.js";
import { commentCreated, type Who } from "../support/payloads.js";

const ISSUE = 13;
let nextComment = 1_300_000;

describe.each(ENGINES)("/board hide | show on %s", (engine) => {
  const h = useTestBot(engine);

  /** Says `body` and returns the 👍 or the reply it was answered with (only that one is mocked). */
  async function say(user: Who, body: string, answer: "react" | "reply"): Promise<string> {
    const commentId = nextComment++;
    mockNoConfig();
    let got = "";
    if (answer === "react") {
      github().post(`${repoPath}/issues/comments/${commentId}/reactions`, { content: "+1" }).reply(201, () => ((got = "+1"), { id: 1, content: "+1" }));
    } else {
      github().post(`${repoPath}/issues/${ISSUE}/comments`).reply(201, (_u, b) => ((got = (b as { body: string }).body), { id: 2 }));
    }
    expect((await deliver(h.bot, "issue_comment", commentCreated({ issue: { number: ISSUE }, commentId, body, user }))).status).toBe(200);
    await h.bot.settled();
    return got;
  }

  test("hide takes the person off the board (their page is gone), show brings them back; each says when nothing changed", async () => {
    const eve: Who = { login: "eve-board", id: 13501 };
    await h.db.query(`INSERT INTO question_prices (user_id, login, currency, amount_minor) VALUES ($1, $2, 'USD', 1000)`, [eve.id, eve.login]);
    expect((await fetch(`${h.bot.url}/u/${eve.login}`)).status).toBe(200);

    expect(await say(eve, "/board hide", "react")).toBe("+1");
    expect(await isHidden(h.db, eve.id)).toBe(true);
    expect((await fetch(`${h.bot.url}/u/${eve.login}`)).status).toBe(404);
    const experts = (await (await fetch(`${h.bot.url}/api/v1/experts`)).json()) as { experts: Array<{ login: string }> };
    expect(experts.experts.map((e) => e.login)).not.toContain(eve.login);

    expect(await say(eve, "/board hide", "reply")).toContain("you are already off the public board.");

    expect(await say(eve, "/board show", "react")).toBe("+1");
    expect(await isHidden(h.db, eve.id)).toBe(false);
    expect((await fetch(`${h.bot.url}/u/${eve.login}`)).status).toBe(200);
    expect(await say(eve, "/board show", "reply")).toContain("you are already on the public board.");
  });

  test("anything else after /board is answered with how to use it", async () => {
    expect(await say({ login: "frank", id: 13502 }, "/board vanish", "reply")).toContain("`/board` takes `hide` or `show`. Try: `/board hide`");
  });
});

test("/board is registered, with its help in the command table", () => {
  expect(findCommand("board")?.help[0]?.usage).toBe("/board hide | /board show");
  expect(helpTable()).toContain("`/board hide \\| /board show`");
});
