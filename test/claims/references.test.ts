import { closingReferences, type IssueRef } from "../../src/claims/references.js";
import { proseOnly } from "../../src/claims/markdown.js";

const here = { owner: "kubernetes", repo: "kubernetes" };
const k = (number: number): IssueRef => ({ owner: "kubernetes", repo: "kubernetes", number });

/** The current kubernetes/kubernetes PR template, filled in. */
const K8S_TEMPLATE = (whatItFixes: string, extra = "") => `<!--  Thanks for sending a pull request!  Here are some tips for you:

1. If this is your first time, please read our contributor guidelines: https://git.k8s.io/community/contributors/guide/first-contribution.md#your-first-contribution and developer guide https://git.k8s.io/community/contributors/devel/development.md#development-guide
2. Please label this pull request according to what type of issue you are addressing, especially if this is a release targeted pull request. For reference on required PR/issue labels, read here:
https://git.k8s.io/community/contributors/devel/sig-release/release.md#issuepr-kind-label
3. Ensure you have added or ran the appropriate tests for your PR: https://git.k8s.io/community/contributors/devel/sig-testing/testing.md
4. If you want *faster* PR reviews, read how: https://git.k8s.io/community/contributors/guide/pull-requests.md#best-practices-for-faster-reviews
5. If the PR is unfinished, see how to mark it: https://git.k8s.io/community/contributors/guide/pull-requests.md#marking-unfinished-pull-requests
-->

#### What type of PR is this?

<!--
Add one of the following kinds:
/kind bug
/kind cleanup
/kind documentation
/kind feature
-->
/kind bug

#### What this PR does / why we need it:

kubelet: fix a race between pod admission and the device manager that left
pods stuck in \`UnexpectedAdmissionError\`.${extra}

#### Which issue(s) this PR fixes:
<!--
*Automatically closes linked issue when PR is merged.
Usage: \`Fixes #<issue number>\`, or \`Fixes (paste link of issue)\`.
_If PR is about \`failing-tests or flakes\`, please post the related issues/tests in a comment and do not use \`Fixes\`_*
-->
${whatItFixes}

#### Special notes for your reviewer:

#### Does this PR introduce a user-facing change?
<!--
If no, just write "NONE" in the release-note block below.
If yes, a release note is required:
Enter your extended release note in the block below. If the PR requires additional action from users switching to the new release, include the string "action required".
-->
\`\`\`release-note
Fixed a bug where pods could be rejected with UnexpectedAdmissionError. Fixes #99999 in the release note does not count.
\`\`\`

#### Additional documentation e.g., KEPs (Kubernetes Enhancement Proposals), usage docs, etc.:

<!--
This section can be blank if this PR does not require a release note.
- [KEP]: <link>
-->
\`\`\`docs

\`\`\`
`;

/** The older template with bold headings. */
const K8S_OLD_TEMPLATE = (fixes: string) => `**What type of PR is this?**
/kind bug
/kind regression

**What this PR does / why we need it**:
Stops kube-proxy from flushing conntrack entries for UDP services on every sync.

**Which issue(s) this PR fixes**:
<!--
*Automatically closes linked issue when PR is merged.
Usage: \`Fixes #<issue number>\`, or \`Fixes (paste link of issue)\`.
-->
${fixes}

**Special notes for your reviewer**:
/assign @thockin
/sig network

**Does this PR introduce a user-facing change?**:
\`\`\`release-note
NONE
\`\`\`
`;

describe("closingReferences", () => {
  test.each<[string, string, IssueRef[]]>([
    ["template left empty", K8S_TEMPLATE("Fixes #"), []],
    ["template, short form", K8S_TEMPLATE("Fixes #123456"), [k(123456)]],
    ["template, cross-repo", K8S_TEMPLATE("Fixes kubernetes/kubectl#1520"), [{ owner: "kubernetes", repo: "kubectl", number: 1520 }]],
    ["template, URL", K8S_TEMPLATE("Fixes https://github.com/kubernetes/kubernetes/issues/120001"), [k(120001)]],
    ["template, several", K8S_TEMPLATE("Fixes #1\nfixes #2\nCloses: kubernetes/k8s.io#33\nResolves #1"), [k(1), k(2), { owner: "kubernetes", repo: "k8s.io", number: 33 }]],
    ["template, not closing", K8S_TEMPLATE("Part of #123\nRef #124\nxref #125\n/kind flake"), []],
    ["old template", K8S_OLD_TEMPLATE("Fixes #118000"), [k(118000)]],
    ["old template, empty", K8S_OLD_TEMPLATE(""), []],
    ["mention in prose of the description", K8S_TEMPLATE("NONE", "\nThis also fixes #777 as a side effect."), [k(777)]],
  ])("%s", (_name, body, want) => {
    expect(closingReferences(body, here)).toEqual(want);
  });

  test.each<[string, IssueRef[]]>([
    // every keyword, any case, with and without colon
    ["close #1", [k(1)]],
    ["closes #1", [k(1)]],
    ["Closed #1", [k(1)]],
    ["FIX #1", [k(1)]],
    ["fixes #1", [k(1)]],
    ["Fixed: #1", [k(1)]],
    ["resolve #1", [k(1)]],
    ["Resolves:#1", [k(1)]],
    ["RESOLVED  #1", [k(1)]],
    ["fixes:\t#1", [k(1)]],
    // reference forms
    ["Fixes kubernetes-sigs/kind#3000", [{ owner: "kubernetes-sigs", repo: "kind", number: 3000 }]],
    ["Fixes https://github.com/kubernetes-sigs/kind/issues/3000.", [{ owner: "kubernetes-sigs", repo: "kind", number: 3000 }]],
    ["Fixes http://www.github.com/Kubernetes/Kubernetes/issues/5", [{ owner: "Kubernetes", repo: "Kubernetes", number: 5 }]],
    ["Fixes https://github.com/kubernetes/kubernetes/issues/5#issuecomment-123", [k(5)]],
    // several, deduplicated case-insensitively, first spelling kept
    ["Fixes #1, fixes #2, fixes #1", [k(1), k(2)]],
    ["Fixes #1\nFixes Kubernetes/KUBERNETES#1\nFixes https://github.com/kubernetes/kubernetes/issues/1", [k(1)]],
    ["Fixes Foo/Bar#9 and fixes foo/bar#9", [{ owner: "Foo", repo: "Bar", number: 9 }]],
    // one keyword closes one reference, as on GitHub
    ["Fixes #1, #2 and #3", [k(1)]],
    ["Fixes #1 and fixes #3", [k(1), k(3)]],
    // not closing
    ["Fixes #", []],
    ["Fixes #abc", []],
    ["Fixes #12abc", []],
    ["Fixes #0", []],
    ["Fixes issue #12", []],
    ["Fixes\n#12", []],
    ["Fixes#12", []],
    ["prefixes #12", []],
    ["hotfixes #12", []],
    ["unresolved #12", []],
    ["closure #12", []],
    ["Fixing #12", []],
    ["Fixes https://github.com/kubernetes/kubernetes/pull/12", []],
    ["Fixes https://gitlab.com/kubernetes/kubernetes/issues/12", []],
    ["Fixes https://github.com/kubernetes/kubernetes/issues/12abc", []],
    ["Fixes ../kubernetes#12", []],
    ["Fixes #99999999999999999999", []],
    // comments and code
    ["<!-- Fixes #1 -->", []],
    ["<!--\nFixes #1\n-->Fixes #2", [k(2)]],
    ["Fixes <!-- #1 --> #2", []], // nothing is glued across a removed comment
    ["Fixes #2<!-- trailing comment -->", [k(2)]],
    ["before <!-- never closed\nFixes #1", []],
    ["`Fixes #1` but Fixes #2", [k(2)]],
    ["``Fixes `#1` `` Fixes #3", [k(3)]],
    ["a lone ` backtick Fixes #4", [k(4)]],
    ["```\nFixes #1\n```\nFixes #2", [k(2)]],
    ["~~~go\n// Fixes #1\n~~~\nFixes #2", [k(2)]],
    ["````\n```\nFixes #1\n```\n````\nFixes #2", [k(2)]],
    ["  ```\nFixes #1\n  ```", []],
    ["```\nFixes #1", []],
    ["```\n<!--\n```\nFixes #2\n-->", [k(2)]],
    ["<!--\n```\n-->\nFixes #3", [k(3)]],
    ["Fixes #5\r\n<!--\r\nFixes #6\r\n-->\r\n", [k(5)]],
    // text GitHub does not render: link reference definitions, HTML tags and attributes, indented code
    ['[docs]: https://kubernetes.io "Fixes #1"\nFixes #2', [k(2)]],
    ["  [a\\]b]: <https://x.example>\n  'Fixes #1'\nFixes #2", [k(2)]],
    ["Some text\n[x]: https://x.example (Fixes #1)", []],
    ['<a title="Fixes #1" href="https://x.example">docs</a> Fixes #2', [k(2)]],
    ["<img alt='fixes #1'/><p data-x=\"a > b fixes #3\">Fixes #2</p>", [k(2)]],
    ['<details title="\nFixes #1\n">\n<summary>More</summary>\nFixes #2\n</details>', [k(2)]],
    ["<b never closed, Fixes #1\n\nFixes #2", [k(2)]],
    ["Fixes <https://github.com/kubernetes/kubernetes/issues/3>", []],
    ["Fixes https://github.com/kubernetes/kubernetes/issues/3 <br>", [k(3)]],
    ["values <5 and Fixes #4", [k(4)]],
    ["Notes:\n\n    Fixes #1\n\n    more code\nFixes #2", [k(2)]],
    ["\tFixes #1", []],
    ["A paragraph\n    Fixes #1 continues it", [k(1)]],
    ["```\ncode\n```\n    Fixes #1", []],
  ])("%j", (body, want) => {
    expect(closingReferences(body, here)).toEqual(want);
  });

  test("short references belong to the repository the PR is in", () => {
    expect(closingReferences("Fixes #42", { owner: "kubernetes-sigs", repo: "cluster-api" })).toEqual([
      { owner: "kubernetes-sigs", repo: "cluster-api", number: 42 },
    ]);
  });
});

describe("proseOnly", () => {
  test("hides tags, link definitions and indented code, keeping lines and lengths", () => {
    const body = '<a title="x">t</a>\n[d]: /u "T"\n\n    code\ntext';
    const out = proseOnly(body);
    expect(out.split("\n").map((l) => l.length)).toEqual(body.split("\n").map((l) => l.length));
    expect(out).toBe("             t    \n           \n\n        \ntext");
  });

  test("keeps lines and lengths", () => {
    const body = "a <!-- b -->c\n```\ncode\n```\n`x` d";
    const out = proseOnly(body);
    expect(out.split("\n").map((l) => l.length)).toEqual(body.split("\n").map((l) => l.length));
    expect(out).toBe("a           c\n   \n    \n   \n    d");
  });
});
