import { inspect } from "node:util";
import { redact, redactError } from "../../src/core/redact.js";

describe("redact", () => {
  test.each([
    ["postgres://bounty:s3cret@db.internal:5432/bounty", "postgres://bounty:***@db.internal:5432/bounty"],
    ["https://user:pa%40ss@esplora.example/api", "https://user:***@esplora.example/api"],
    ["https://ghp_abcdef@example.com/x", "https://***@example.com/x"],
    ["https://user:p@ss@example.com/x", "https://user:***@example.com/x"],
    ["postgres://bounty:pa/ss-secret@db.internal/bounty", "postgres://bounty:***@db.internal/bounty"],
    ["postgres://bounty:pa#ss?x@db.internal/bounty", "postgres://bounty:***@db.internal/bounty"],
    ["mempool:https://u:p@a.example,mempool:https://v:q@b.example", "mempool:https://u:***@b.example"],
    ["https://host.example/x/@someone:secret", "https://***@someone:secret"],
    ["mempool:https://u:p@mempool.example", "mempool:https://u:***@mempool.example"],
    ["https://api.example/prices?apikey=abc123&pair=BTCUSD", "https://api.example/prices?apikey=***&pair=BTCUSD"],
    ["https://x.example/?pair=1&access_token=zz#frag", "https://x.example/?pair=1&access_token=***#frag"],
    ["https://x.example/?Api-Key=zz", "https://x.example/?Api-Key=***"],
    ["postgres://u@h/db?sslmode=require&password=hunter2", "postgres://***@h/db?sslmode=require&password=***"],
    [
      "fetch failed for http://a:b@1.2.3.4:1/p and https://c:d@e.example/q?token=t ok",
      "fetch failed for http://a:***@1.2.3.4:1/p and https://c:***@e.example/q?token=*** ok",
    ],
  ])("%s", (input, expected) => {
    expect(redact(input)).toBe(expected);
  });

  test("text without credentials is unchanged", () => {
    for (const s of ["https://mempool.space/api", "connect ECONNREFUSED 127.0.0.1:5432", "alice@example.com wrote", "a?b=c"]) {
      expect(redact(s)).toBe(s);
    }
  });

  test("runs in linear time on hostile input", () => {
    const t = Date.now();
    for (const hostile of [
      `${"a://".repeat(50_000)}${"?x=".repeat(50_000)}${"@".repeat(50_000)}`,
      "a-".repeat(100_000),
      `${"?".repeat(100_000)}=`,
      `${"&a".repeat(100_000)}`,
      `${"a:// ".repeat(50_000)}@`,
    ]) {
      redact(hostile);
    }
    expect(Date.now() - t).toBeLessThan(1000);
  });
});

describe("redactError", () => {
  test("keeps the name, code and a redacted message and cause, and drops every other field", () => {
    const inner = Object.assign(new Error("connect to postgres://u:secret@h failed"), { code: "ECONNREFUSED" });
    const err = Object.assign(new TypeError("Invalid URL: postgres://u:secret@h:x/db", { cause: inner }), {
      code: "ERR_INVALID_URL",
      input: "postgres://u:secret@h:x/db",
    });
    const safe = redactError(err);
    expect(safe.name).toBe("TypeError");
    expect(safe.message).toBe("Invalid URL: postgres://u:***@h:x/db");
    expect((safe as { code?: string }).code).toBe("ERR_INVALID_URL");
    expect(inspect(safe, { depth: 5 })).not.toContain("secret");
    expect((safe.cause as Error).message).toBe("connect to postgres://u:***@h failed");
  });
});
