import { revertOf, type RevertTarget } from "../../src/claims/revert.js";

const here = { owner: "kubernetes", repo: "kubernetes" };
const pr = (number: number, owner = "kubernetes", repo = "kubernetes"): RevertTarget => ({ kind: "pr", owner, repo, number });
const title = (t: string): RevertTarget => ({ kind: "title", title: t });

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
    ["body alone, no revert title", "Roll back the scheduler change", "Reverts kubernetes/kubernetes#120001\n\nIt doubled scheduling latency.", pr(120001)],
    ["any case, indented", "Roll back", "  REVERTS #57", pr(57)],
    ["the first named PR wins", 'Revert "two things"', "Reverts #10\nReverts #11", pr(10)],
    ["revert of a revert (GitHub's titles nest)", 'Revert "Revert "Add x""', "Reverts kubernetes/kubernetes#9", pr(9)],
    // By the exact title of the reverted PR.
    ["revert title without a number", 'Revert "Add pod-level resource limits"', null, title("Add pod-level resource limits")],
    ["nested revert title", 'Revert "Revert "Add x""', "", title('Revert "Add x"')],
    ["git's own commit line is not a PR", 'Revert "Add x"', "This reverts commit 0a1b2c3d4e5f.", title("Add x")],
    // Looser forms are not reverts: a revert cancels someone's award.
    ["a PR URL", "Revert flaky test change", "Reverts https://github.com/kubernetes/kubernetes/pull/120500", null],
    ["\"This reverts #N\"", "Roll back", "This reverts #55.", null],
    ["\"revert: #N\" in the body", "Roll back", "revert: #56", null],
    ["title names the PR", "Revert #120002", null, null],
    ["title names the PR with owner/repo", "Revert: kubernetes/kubectl#1500", "", null],
    ["revert: title", "revert: drop the metrics change", "Sorry, it broke CI.", null],
    ["curly quotes", "Revert “Add x”", "", null],
    ["lower-case revert title", 'revert "Add x"', "", null],
    ["text after the quoted title", 'Revert "Add x" and "Add y"', "", title('Add x" and "Add y')],
    // Hidden text does not count.
    ["a commented-out line", "Tidy up", "<!-- Reverts #3 -->", null],
    ["a line in code", "Tidy up", "```\nReverts #3\n```", null],
    ["an indented code block", "Tidy up", "Notes:\n\n    Reverts #3", null],
    ["an HTML attribute", "Tidy up", '<p title="\nReverts #3">x</p>\n<span data-x="Reverts #3"></span>', null],
    ["a link reference definition", "Tidy up", '[x]: https://example.com "Reverts #3"', null],
    ["mid-sentence is not a revert line", "Tidy up", "This PR partially reverts #3 and adds tests.", null],
    ["a feature title is not a revert", "Revert to the previous default for --max-pods", "Fixes #4", null],
    ["an ordinary PR", "kubelet: fix race", "Fixes #5\n/kind bug", null],
    ["null body", "Add a flag", null, null],
    ["#0 is no PR", "Tidy up", "Reverts #0", null],
  ])("%s", (_name, t, body, want) => {
    expect(revertOf({ title: t, body }, here)).toEqual(want);
  });
});
