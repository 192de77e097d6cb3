import { revertOf, type RevertTarget } from "../../src/claims/revert.js";

const here = { owner: "kubernetes", repo: "kubernetes" };
const pr = (number: number, owner = "kubernetes", repo = "kubernetes"): RevertTarget => ({ kind: "pr", owner, repo, number });

describe("revertOf", () => {
  test.each<[string, string, string | null, RevertTarget | null]>([
    [
      "GitHub's revert button",
      'Revert "kubelet: fix race between pod admission and device manager"',
      "Reverts kubernetes/kubernetes#123456",
      pr(123456),
    ],
    [
      "GitHub's revert button, cross-fork target",
      'Revert "Bump kind to v0.23"',
      "Reverts kubernetes-sigs/kind#3600",
      pr(3600, "kubernetes-sigs", "kind"),
    ],
    [
      "manual revert with the short form and a k8s body",
      'Revert "Promote SidecarContainers to GA"',
      "Reverts #118000\n\nThis broke the node e2e suite, see https://github.com/kubernetes/kubernetes/issues/118100\n\n/kind regression\n/sig node\n/priority critical-urgent\n\n```release-note\nNONE\n```",
      pr(118000),
    ],
    ["short form resolves to this repository", 'Revert "x"', "Reverts #7", pr(7)],
    ["PR URL", "Revert flaky test change", "Reverts https://github.com/kubernetes/kubernetes/pull/120500", pr(120500)],
    ["issue URL to a PR (GitHub redirects)", 'Revert "x"', "Reverts https://github.com/kubernetes/kubernetes/issues/120500", pr(120500)],
    ["body alone, no revert title", "Roll back the scheduler change", "Reverts kubernetes/kubernetes#120001\n\nIt doubled scheduling latency.", pr(120001)],
    ["\"This reverts #N\"", "Roll back", "This reverts #55.", pr(55)],
    ["\"Revert #N\" in the body, any case", "Roll back", "revert: #56", pr(56)],
    ["the first named PR wins", 'Revert "two things"', "Reverts #10\nReverts #11", pr(10)],
    ["title names the PR", "Revert #120002", null, pr(120002)],
    ["title names the PR with owner/repo", "Revert: kubernetes/kubectl#1500", "", pr(1500, "kubernetes", "kubectl")],
    ["body wins over the title", "Revert #1", "Reverts #2", pr(2)],
    ["revert title without a number", 'Revert "Add pod-level resource limits"', null, { kind: "unknown", title: 'Revert "Add pod-level resource limits"' }],
    ["revert title with curly quotes", "Revert “Add x”", "", { kind: "unknown", title: "Revert “Add x”" }],
    ["revert: title", "revert: drop the metrics change", "Sorry, it broke CI.", { kind: "unknown", title: "revert: drop the metrics change" }],
    ["revert of a revert (GitHub's titles nest)", 'Revert "Revert "Add x""', "Reverts kubernetes/kubernetes#9", pr(9)],
    ["git's own commit line is not a PR", 'Revert "Add x"', "This reverts commit 0a1b2c3d4e5f.", { kind: "unknown", title: 'Revert "Add x"' }],
    ["a commented-out line does not count", 'Revert "Add x"', "<!-- Reverts #3 -->", { kind: "unknown", title: 'Revert "Add x"' }],
    ["a line in code does not count", "Tidy up", "```\nReverts #3\n```", null],
    ["mid-sentence is not a revert line", "Tidy up", "This PR partially reverts #3 and adds tests.", null],
    ["a feature title is not a revert", "Revert to the previous default for --max-pods", "Fixes #4", null],
    ["an ordinary PR", "kubelet: fix race", "Fixes #5\n/kind bug", null],
    ["null body", "Add a flag", null, null],
    ["#0 is no PR", "Revert #0", null, null],
  ])("%s", (_name, title, body, want) => {
    expect(revertOf({ title, body }, here)).toEqual(want);
  });
});
