import { coAuthors, trailerBlock, type CoAuthor } from "../../src/claims/coauthors.js";

describe("coAuthors", () => {
  test.each<[string, string[], CoAuthor[]]>([
    [
      "GitHub squash merge",
      [
        "kubelet: fix admission race (#123456)\n\n* kubelet: fix admission race\n\n* address review comments\n\n---------\n\nCo-authored-by: Jane Doe <1234567+janedoe@users.noreply.github.com>\nCo-authored-by: Bob Smith <bob@example.com>",
      ],
      [
        { name: "Jane Doe", email: "1234567+janedoe@users.noreply.github.com", login: "janedoe", id: 1234567 },
        { name: "Bob Smith", email: "bob@example.com" },
      ],
    ],
    [
      "old-style noreply address",
      ["Fix typo\n\nCo-authored-by: Old Timer <oldtimer@users.noreply.github.com>"],
      [{ name: "Old Timer", email: "oldtimer@users.noreply.github.com", login: "oldtimer" }],
    ],
    [
      "key in any case, mixed with other trailers",
      ["Add test\n\nSome explanation.\n\nSigned-off-by: A <a@example.com>\nco-authored-by: C <c@example.com>\nCO-AUTHORED-BY: D <d@example.com>\nReviewed-by: E <e@example.com>"],
      [
        { name: "C", email: "c@example.com" },
        { name: "D", email: "d@example.com" },
      ],
    ],
    [
      "deduplicated by email, case-insensitively, across commits",
      [
        "One\n\nCo-authored-by: Jane <Jane@Example.com>",
        "Two\n\nCo-authored-by: Jane D. <jane@example.com>\nCo-authored-by: Kim <kim@example.com>",
      ],
      [
        { name: "Jane", email: "Jane@Example.com" },
        { name: "Kim", email: "kim@example.com" },
      ],
    ],
    [
      "a co-author line above the trailer block is prose",
      ["Refactor\n\nCo-authored-by: Not A Trailer <no@example.com>\nwas discussed in the meeting.\n\nSigned-off-by: A <a@example.com>"],
      [],
    ],
    [
      "a trailer block must be the last paragraph",
      ["Refactor\n\nCo-authored-by: X <x@example.com>\n\nMore text after."],
      [],
    ],
    ["the subject is never a trailer", ["Co-authored-by: X <x@example.com>"], []],
    [
      "trailing blank lines and CRLF are fine",
      ["Fix\r\n\r\nCo-authored-by: W <w@example.com>\r\n\r\n\r\n"],
      [{ name: "W", email: "w@example.com" }],
    ],
    [
      "git's 25% rule with a Signed-off-by line",
      ["Fix\n\nCo-authored-by: P <p@example.com>\nSigned-off-by: Q <q@example.com>\n(cherry picked from commit 0123abcd)"],
      [{ name: "P", email: "p@example.com" }],
    ],
    [
      "a block of mostly prose is not trailers",
      ["Fix\n\nCo-authored-by: P <p@example.com>\nthis line is prose\nand this one"],
      [],
    ],
    [
      "a folded trailer",
      ["Fix\n\nCo-authored-by: Very Long\n  Name <long@example.com>"],
      [{ name: "Very Long Name", email: "long@example.com" }],
    ],
    [
      "malformed values are skipped",
      ["Fix\n\nCo-authored-by: No Email\nCo-authored-by: Bad <not-an-email>\nCo-authored-by: <anon@example.com>\nCo-authored-by: Two <a@x.org> <b@x.org>"],
      [{ name: "", email: "anon@example.com" }],
    ],
    [
      "a noreply look-alike on another domain has no login",
      ["Fix\n\nCo-authored-by: M <123+mallory@users.noreply.github.com.evil.example>"],
      [{ name: "M", email: "123+mallory@users.noreply.github.com.evil.example" }],
    ],
    [
      "an invalid login in a noreply address gives no login",
      ["Fix\n\nCo-authored-by: M <123+-bad@users.noreply.github.com>"],
      [{ name: "M", email: "123+-bad@users.noreply.github.com" }],
    ],
    ["no messages", [], []],
  ])("%s", (_name, messages, want) => {
    expect(coAuthors(messages)).toEqual(want);
  });
});

describe("trailerBlock", () => {
  test("returns the folded trailers of the last paragraph", () => {
    expect(trailerBlock("Subject\n\nBody.\n\nFixes: #1\nAcked-by: X\n  continued")).toEqual([
      { key: "Fixes", value: "#1" },
      { key: "Acked-by", value: "X continued" },
    ]);
  });
  test("a message with only a subject has none", () => {
    expect(trailerBlock("Subject: with colon")).toEqual([]);
  });
});
