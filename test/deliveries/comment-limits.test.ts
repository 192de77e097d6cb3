import { useTestBot } from "../support/harness.js";
import { ENGINES } from "../support/databases.js";
import { deliver, github, mockNoConfig, mockPermission, mockUser, repoPath } from "../support/bot.js";
import { commentCreated, type Who } from "../support/payloads.js";
import { MAX_COMMANDS_PER_COMMENT } from "../../src/deliveries/comment.js";
import { MAX_COMMENT_CHARS, replyTo } from "../../src/deliveries/reply.js";

const alice: Who = { login: "alice", id: 1001 };
let nextIssue = 3300;
let nextComment = 330000;

describe.each(ENGINES)("a comment with very many commands on %s", (engine) => {
  const h = useTestBot(engine);

  /** Delivers `body` as alice's comment and returns the replies GitHub received. */
  async function commentAndCapture(n: number, body: string): Promise<string[]> {
    const replies: string[] = [];
    github()
      .post(`${repoPath}/issues/${n}/comments`)
      .reply(201, (_u, b) => {
        replies.push((b as { body: string }).body);
        return { id: 1 };
      });
    await deliver(h.bot, "issue_comment", commentCreated({ issue: { number: n }, commentId: nextComment++, body, user: alice }));
    await h.bot.settled();
    return replies;
  }

  test("hundreds of commands get one reply within GitHub's limit: the first ones answered, the rest summarised", async () => {
    const n = nextIssue++;
    mockNoConfig();
    // A comment at GitHub's own size limit: 300 lines of a junk address the reply would echo twice.
    const lines = Array.from({ length: 300 }, (_, i) => `/wallet ${String(i).padStart(3, "0")}${"x".repeat(200)}`);
    expect(lines.join("\n").length).toBeLessThanOrEqual(MAX_COMMENT_CHARS);
    const replies = await commentAndCapture(n, lines.join("\n"));
    expect(replies).toHaveLength(1);
    const reply = replies[0]!;
    expect(reply.length).toBeLessThanOrEqual(MAX_COMMENT_CHARS);
    expect(reply).toContain("`000xxx");
    expect(reply).toContain(`\`${String(MAX_COMMANDS_PER_COMMENT - 1).padStart(3, "0")}xxx`);
    expect(reply).not.toContain(`\`${String(MAX_COMMANDS_PER_COMMENT).padStart(3, "0")}xxx`);
    expect(reply).toContain(`…and ${300 - MAX_COMMANDS_PER_COMMENT} more commands not answered; put fewer commands in one comment.`);
  });

  test("a few very long commands are answered until the reply is full, the rest summarised", async () => {
    const n = nextIssue++;
    mockNoConfig();
    // Ten lines that fill a comment; each answer echoes its address, so ten answers do not fit.
    const lines = Array.from({ length: 10 }, (_, i) => `/wallet ${i}${"y".repeat(6400)}`);
    expect(lines.join("\n").length).toBeLessThanOrEqual(MAX_COMMENT_CHARS);
    const replies = await commentAndCapture(n, lines.join("\n"));
    expect(replies).toHaveLength(1);
    const reply = replies[0]!;
    expect(reply.length).toBeLessThanOrEqual(MAX_COMMENT_CHARS);
    const answered = reply.split("\n\n---\n\n").filter((b) => b.startsWith("> /wallet")).length;
    expect(answered).toBeGreaterThan(0);
    expect(answered).toBeLessThan(10);
    const left = 10 - answered;
    expect(reply).toContain(`…and ${left} more command${left === 1 ? "" : "s"} not answered; put fewer commands in one comment.`);
  });

  test("commands past the cap make no GitHub calls", async () => {
    const n = nextIssue++;
    mockNoConfig();
    mockPermission("alice", "write");
    // Only the first MAX_COMMANDS_PER_COMMENT logins are looked up; nock refuses any other call.
    for (let i = 0; i < MAX_COMMANDS_PER_COMMENT; i++) mockUser(`someone${i}`, null);
    const lines = Array.from({ length: 200 }, (_, i) => `/award @someone${i}`);
    const replies = await commentAndCapture(n, lines.join("\n"));
    expect(replies).toHaveLength(1);
    expect(replies[0]).toContain(`@someone${MAX_COMMANDS_PER_COMMENT - 1} is not a GitHub user`);
    expect(replies[0]).not.toContain(`@someone${MAX_COMMANDS_PER_COMMENT} is not a GitHub user`);
    expect(replies[0]).toContain(`…and ${200 - MAX_COMMANDS_PER_COMMENT} more commands not answered`);
  });
});

describe("replyTo", () => {
  test("keeps a reply within GitHub's limit whatever the blocks, and says how many were left out", () => {
    const blocks = Array.from({ length: 200 }, (_, i) => ({ line: `/x ${i} ${"q".repeat(5000)}`, message: `m${i} ${"z".repeat(1000)}` }));
    const body = replyTo("alice", blocks);
    expect(body.length).toBeLessThanOrEqual(MAX_COMMENT_CHARS);
    const shown = body.split("\n\n---\n\n").filter((b) => b.startsWith("> /x")).length;
    expect(shown).toBeGreaterThan(10);
    expect(body).toContain(`…and ${200 - shown} more commands not answered`);
    // A quoted line is shortened; the message addressed to the author is what matters.
    expect(body).not.toContain("q".repeat(1000));
  });

  test("a single enormous message is cut, not dropped", () => {
    const body = replyTo("alice", [{ line: "/x", message: "w".repeat(200_000) }]);
    expect(body.length).toBeLessThanOrEqual(MAX_COMMENT_CHARS);
    expect(body.startsWith("> /x\n\n@alice: www")).toBe(true);
    expect(body).not.toContain("more commands not answered");
  });

  test("counts commands not run as not answered", () => {
    const body = replyTo("alice", [{ line: "/a", message: "ok" }], 3);
    expect(body).toBe("> /a\n\n@alice: ok\n\n---\n\n@alice: …and 3 more commands not answered; put fewer commands in one comment.");
    expect(replyTo("alice", [{ line: "/a", message: "ok" }], 1)).toContain("…and 1 more command not answered;");
  });

  test("short replies are unchanged", () => {
    expect(replyTo("bob", [{ line: "/a 1", message: "one" }, { line: "/b\n2", message: "two" }])).toBe(
      "> /a 1\n\n@bob: one\n\n---\n\n> /b 2\n\n@bob: two",
    );
  });
});
