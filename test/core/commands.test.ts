import fc from "fast-check";
import { extractCommands, type CommandLine } from "../../src/core/commands.js";

const names = (body: string | null | undefined): string[] => extractCommands(body).map((c) => c.name);
const cmd = (name: string, args: string, line: string): CommandLine => ({ name, args, line });

describe("extractCommands: what counts as a command", () => {
  test("a single command with args", () => {
    expect(extractCommands("/bounty 5usd")).toEqual([cmd("bounty", "5usd", "/bounty 5usd")]);
  });

  test("several commands in order, with other text around", () => {
    const body = "Thanks for the report!\n/bounty 5usd\nSome more words.\n/wallet bc1qexample\n/lgtm\n";
    expect(extractCommands(body)).toEqual([
      cmd("bounty", "5usd", "/bounty 5usd"),
      cmd("wallet", "bc1qexample", "/wallet bc1qexample"),
      cmd("lgtm", "", "/lgtm"),
    ]);
  });

  test("names are case-insensitive and returned lowercased; the line keeps its case", () => {
    expect(extractCommands("/BOUNTY 5USD")).toEqual([cmd("bounty", "5USD", "/BOUNTY 5USD")]);
  });

  test("args are trimmed, inner spacing kept", () => {
    expect(extractCommands("/bounty    5 usd   \t")).toEqual([cmd("bounty", "5 usd", "/bounty    5 usd")]);
  });

  test("a tab after the name separates the args", () => {
    expect(extractCommands("/bounty\t5usd")).toEqual([cmd("bounty", "5usd", "/bounty\t5usd")]);
  });

  test("names may hold digits, - and _", () => {
    expect(names("/hold-2\n/retitle_now x\n/a")).toEqual(["hold-2", "retitle_now", "a"]);
  });

  test("\\r\\n and lone \\r line endings", () => {
    expect(extractCommands("hello\r\n/bounty 5usd\r\n/wallet x\r\n")).toEqual([
      cmd("bounty", "5usd", "/bounty 5usd"),
      cmd("wallet", "x", "/wallet x"),
    ]);
    expect(names("a\r/bounty 1\r/lgtm")).toEqual(["bounty", "lgtm"]);
  });

  test("up to three leading spaces are allowed (Markdown shows them as plain text)", () => {
    expect(extractCommands("   /bounty 5usd")).toEqual([cmd("bounty", "5usd", "/bounty 5usd")]);
    expect(names(" /a\n  /b\n   /c")).toEqual(["a", "b", "c"]);
  });

  test.each([
    ["space after the slash", "/ bounty 5usd"],
    ["not at the start of the line", "please /bounty 5usd"],
    ["a path", "/usr/bin/env"],
    ["punctuation right after the name", "/bounty: 5usd"],
    ["a digit first", "/5usd"],
    ["just a slash", "/"],
    ["a double slash", "//bounty 5usd"],
    ["indented four spaces (code)", "    /bounty 5usd"],
    ["indented by a tab (code)", "\t/bounty 5usd"],
    ["a backslash", "\\/bounty 5usd"],
    ["inline code", "`/bounty 5usd`"],
    ["a comment glued to the name", "/bounty<!-- x --> 5usd"],
  ])("not a command: %s", (_what, body) => {
    expect(extractCommands(body)).toEqual([]);
  });

  test("null, undefined and empty bodies give nothing", () => {
    expect(extractCommands(null)).toEqual([]);
    expect(extractCommands(undefined)).toEqual([]);
    expect(extractCommands("")).toEqual([]);
  });

  test("a non-ASCII whitespace after the name still separates", () => {
    expect(extractCommands("/bounty\u00a05usd")).toEqual([cmd("bounty", "5usd", "/bounty\u00a05usd")]);
  });
});

describe("extractCommands: fenced code", () => {
  test("backtick fences, with and without info strings", () => {
    const body = ["```", "/bounty 1usd", "```", "```yaml", "/bounty 2usd", "```", "/bounty 3usd"].join("\n");
    expect(extractCommands(body)).toEqual([cmd("bounty", "3usd", "/bounty 3usd")]);
  });

  test("tilde fences", () => {
    expect(names("~~~\n/bounty 1usd\n~~~\n/ok")).toEqual(["ok"]);
    expect(names("~~~~ text\n/bounty 1usd\n~~~~\n/ok")).toEqual(["ok"]);
  });

  test("a fence closes only with the same character, at least as long", () => {
    expect(names("````\n/a\n```\n/b\n~~~~\n/c\n````\n/d")).toEqual(["d"]);
    expect(names("~~~\n/a\n```\n/b\n~~~\n/c")).toEqual(["c"]);
  });

  test("a closing fence has nothing after it but spaces", () => {
    expect(names("```\n/a\n``` not a close\n/b\n```  \n/c")).toEqual(["c"]);
  });

  test("an unterminated fence runs to the end", () => {
    expect(names("/before\n```\n/bounty 5usd\n/wallet x")).toEqual(["before"]);
  });

  test("fences may be indented up to three spaces, and close likewise", () => {
    expect(names("   ```\n/a\n  ```\n/b")).toEqual(["b"]);
    // Four spaces is indented code, not a fence: the next line is plain text.
    expect(names("    ```\n/a")).toEqual(["a"]);
  });

  test("three backticks with another backtick on the line is inline code, not a fence", () => {
    expect(names("```foo```\n/a")).toEqual(["a"]);
  });

  test("fences opened on a list item", () => {
    expect(names("- ```\n  /hidden\n  ```\n/shown")).toEqual(["shown"]);
    expect(names("1. ~~~sh\n   /hidden\n   ~~~\n/shown")).toEqual(["shown"]);
    // A blank line does not end the item's code block.
    expect(names("* ```\n  /hidden\n\n  /hidden\n  ```\n/shown")).toEqual(["shown"]);
    // A line indented less than the item's content ends the item and its code block.
    expect(names("- ```\n/shown\n")).toEqual(["shown"]);
  });

  test("comment markers inside code are just code", () => {
    expect(names("```\n<!--\n```\n/shown\n")).toEqual(["shown"]);
  });

  test("a fence marker inside a comment does not open a fence", () => {
    expect(names("<!--\n```\n-->\n/shown")).toEqual(["shown"]);
  });

  test("\\r\\n fences", () => {
    expect(names("```\r\n/hidden\r\n```\r\n/shown\r\n")).toEqual(["shown"]);
  });
});

describe("extractCommands: quotes", () => {
  test.each([
    ["> /bounty 5usd"],
    [">/bounty 5usd"],
    ["   > /bounty 5usd"],
    ["> > /bounty 5usd"],
  ])("quoted: %j", (body) => {
    expect(extractCommands(body)).toEqual([]);
  });

  test("a reply quoting a command runs only its own", () => {
    const body = "> /bounty 500usd\n> is too much\n\n/bounty 5usd";
    expect(extractCommands(body)).toEqual([cmd("bounty", "5usd", "/bounty 5usd")]);
  });

  test("a fence inside a quote ends with the quote", () => {
    expect(names("> ```\n> /hidden\n\n/shown")).toEqual(["shown"]);
  });
});

describe("extractCommands: HTML comments", () => {
  test("a single-line comment", () => {
    expect(names("<!-- /bounty 5usd -->\n/shown")).toEqual(["shown"]);
  });

  test("a comment spanning lines, with commands on its lines", () => {
    expect(names("<!--\n/bounty 5usd\n/wallet x\n-->\n/shown")).toEqual(["shown"]);
  });

  test("a line that starts inside a comment is not a command even after the comment ends", () => {
    expect(names("<!-- start\n--> /bounty 5usd\n-->/bounty 5usd\n/shown")).toEqual(["shown"]);
  });

  test("several comments on one line are removed from the args", () => {
    expect(extractCommands("/bounty <!-- a -->5<!-- b -->usd<!-- c -->")).toEqual([
      cmd("bounty", "5usd", "/bounty <!-- a -->5<!-- b -->usd<!-- c -->"),
    ]);
  });

  test("a comment opened after a command hides the rest of that line and the next lines", () => {
    expect(extractCommands("/bounty 5usd <!-- no\n/hidden\n-->\n/shown x")).toEqual([
      cmd("bounty", "5usd", "/bounty 5usd <!-- no"),
      cmd("shown", "x", "/shown x"),
    ]);
  });

  test("an unterminated comment runs to the end", () => {
    expect(names("/a\n<!--\n/b\n```\n/c")).toEqual(["a"]);
  });

  test("GitHub issue templates keep their instructions in comments", () => {
    const body = [
      "<!-- Please use this template while reporting a bug.",
      "",
      "If the matter is security related, please disclose it privately.",
      "/kind bug",
      "-->",
      "",
      "#### What happened?",
      "",
      "The scheduler panics.",
      "",
      "/sig scheduling",
      "/bounty 50usd",
    ].join("\r\n");
    expect(extractCommands(body)).toEqual([
      cmd("sig", "scheduling", "/sig scheduling"),
      cmd("bounty", "50usd", "/bounty 50usd"),
    ]);
  });

  test("comment openers in quoted and indented lines still hide what follows", () => {
    expect(names("> quoted <!--\n/hidden\n-->\n/shown")).toEqual(["shown"]);
    expect(names("    <!--\n/hidden\n-->\n/shown")).toEqual(["shown"]);
  });
});

describe("extractCommands: properties", () => {
  // Pieces that make structure, mixed with arbitrary text.
  const token = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom("```", "~~~", "````", "<!--", "-->", "> ", "/", "/bounty", " 5usd", "    ", "   ", "- ", "1. ", "`", "\n", "\r\n", "\r", "\t", "<!-- x -->", "/lgtm\n") },
    { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 8 }) },
    { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
  );
  const messyBody = fc.array(token, { maxLength: 60 }).map((t) => t.join(""));

  test("never throws; every command's line is in the body and looks like a command", () => {
    fc.assert(
      fc.property(fc.oneof(messyBody, fc.string({ unit: "binary", maxLength: 500 })), (body) => {
        const out = extractCommands(body);
        for (const c of out) {
          expect(body.includes(c.line)).toBe(true);
          expect(c.line.startsWith("/" )).toBe(true);
          expect(c.name).toMatch(/^[a-z][a-z0-9_-]*$/);
          expect(c.line.toLowerCase().startsWith("/" + c.name)).toBe(true);
          expect(c.args).toBe(c.args.trim());
          expect(c.args.includes("<!--")).toBe(false);
        }
      }),
      { numRuns: 5000 },
    );
  });

  // A body built from blocks whose visibility is known: shown lines carry a
  // command named "shownN", hidden ones "hiddenN". Filler text cannot form
  // structure of its own (no `, ~, <, >, /, leading spaces).
  const filler = fc.stringMatching(/^[a-zA-Z0-9 .,!?()'"#*_:;=+-]{0,20}$/).map((s) => s.trimStart());
  type Block = { lines: string[]; shown: string[] };
  let counter = 0;
  const shownCommand = fc.tuple(filler, fc.constantFrom("", " ", "  ", "   ")).map(([args, indent]): Block => {
    const name = `shown${counter++}`;
    return { lines: [`${indent}/${name}${args === "" ? "" : " " + args}`], shown: [name] };
  });
  const hiddenCommand = (): string => `/hidden${counter++} 5usd`;
  const hiddenLines = fc.array(fc.oneof(filler, fc.constant("").map(() => hiddenCommand())), { maxLength: 4 });
  const block: fc.Arbitrary<Block> = fc.oneof(
    shownCommand,
    filler.map((f): Block => ({ lines: [f], shown: [] })),
    // fenced code
    fc
      .tuple(fc.constantFrom("```", "~~~", "````", "~~~~~"), fc.constantFrom("", "yaml", " sh", "go title"), hiddenLines, fc.constantFrom("", " ", "  ", "   "))
      .map(([fence, info, inner, indent]): Block => ({
        lines: [`${indent}${fence}${info}`, hiddenCommand(), ...inner, `${fence}`],
        shown: [],
      })),
    // HTML comment over several lines
    fc.tuple(filler, hiddenLines, filler).map(([before, inner, after]): Block => ({
      lines: [`<!-- ${before}`, hiddenCommand(), ...inner, `${after} -->`],
      shown: [],
    })),
    // HTML comment on one line, holding a command
    filler.map((f): Block => ({ lines: [`${f}<!-- ${hiddenCommand()} -->${f}`], shown: [] })),
    // quoted command
    fc.constantFrom(">", "> ", " > ", ">> ").map((q): Block => ({ lines: [`${q}${hiddenCommand()}`], shown: [] })),
    // indented code
    fc.constantFrom("    ", "\t", "     ").map((ind): Block => ({ lines: [`${ind}${hiddenCommand()}`], shown: [] })),
    // blank line
    fc.constant<Block>({ lines: [""], shown: [] }),
  );

  test("returns exactly the visible commands, in order, and never one inside code, a comment or a quote", () => {
    fc.assert(
      fc.property(fc.array(block, { maxLength: 25 }), fc.constantFrom("\n", "\r\n"), (blocks, eol) => {
        const body = blocks.flatMap((b) => b.lines).join(eol);
        const got = extractCommands(body).map((c) => c.name);
        expect(got).toEqual(blocks.flatMap((b) => b.shown));
        expect(got.some((n) => n.startsWith("hidden"))).toBe(false);
      }),
      { numRuns: 3000 },
    );
  });

  test("commands after an unterminated fence or comment are never returned", () => {
    fc.assert(
      fc.property(
        fc.array(shownCommand, { maxLength: 5 }),
        fc.constantFrom("```", "~~~", "<!--", "text <!-- open", "```js"),
        fc.array(fc.oneof(filler, fc.constant("").map(() => hiddenCommand())), { maxLength: 10 }),
        (before, opener, after) => {
          const body = [...before.flatMap((b) => b.lines), opener, ...after].join("\n");
          expect(names(body)).toEqual(before.flatMap((b) => b.shown));
        },
      ),
    );
  });

  test("runs in linear time on adversarial bodies", () => {
    const n = 200_000;
    const bodies = [
      "<!--".repeat(n), // many openers, never closed
      "<!-- -->".repeat(n),
      "-->".repeat(n),
      "/a".repeat(n) + ":", // a long almost-name
      "/" + "a".repeat(n * 4) + "!",
      ("```\n".repeat(n)),
      ("- ".repeat(n) + "```"),
      ("1. ".repeat(n) + "```\n/x"),
      ("/bounty 5usd <!-- x\n-->\n").repeat(n / 10),
      ("> /bounty 5usd\n").repeat(n / 10),
      ("```\n/bounty 5usd\n").repeat(n / 10),
      " ".repeat(n * 4),
      "\r\n".repeat(n * 2),
      "`".repeat(n * 4),
    ];
    for (const body of bodies) {
      const start = performance.now();
      extractCommands(body);
      const ms = performance.now() - start;
      // Linear work on ~1 MB is a few ms; a quadratic pass would take minutes.
      expect(ms).toBeLessThan(1500);
    }
  });

  test("a large realistic body with many commands", () => {
    const parts: string[] = [];
    for (let i = 0; i < 20_000; i++) parts.push(i % 3 === 0 ? "```\n/no\n```" : `/c${i} ${i}`);
    const start = performance.now();
    const out = extractCommands(parts.join("\n"));
    expect(performance.now() - start).toBeLessThan(1500);
    expect(out.length).toBe(20_000 - Math.ceil(20_000 / 3));
    expect(out.every((c) => !c.name.startsWith("no"))).toBe(true);
  });
});
