import { chooseClaim, waitStatus, waitText, type ClaimOfPull, type Closer } from "../../src/claims/closer.js";

const REPO = 10;
const claim = (prNumber: number, prRepoId = REPO): ClaimOfPull => ({ prRepoId, prOwner: "kubernetes", prRepo: prRepoId === REPO ? "website" : "community", prNumber });
const [a, b, elsewhere] = [claim(1), claim(2), claim(1, 11)];
const pull = (number: number, repoId = REPO): Closer => ({ kind: "pull", repoId, number });
const none: Closer = { kind: "none" };
const failed: Closer = { kind: "failed" };

describe("chooseClaim", () => {
  test.each<[string, ClaimOfPull[], Closer, ReturnType<typeof chooseClaim>]>([
    ["no claims: nothing, whatever GitHub says", [], pull(1), { kind: "none" }],
    ["no claims and no answer", [], failed, { kind: "none" }],
    ["the closer's claim wins over an earlier one", [a, b], pull(2), { kind: "award", claim: b }],
    ["the closer is matched by repository too", [elsewhere, b], pull(1, 11), { kind: "award", claim: elsewhere }],
    ["same number in another repository is not the closer", [elsewhere], pull(1), { kind: "wait", why: "closer-unclaimed", claims: [elsewhere] }],
    ["a closer without a claim: a lone other claim waits", [a], pull(3), { kind: "wait", why: "closer-unclaimed", claims: [a] }],
    ["a person or commit closed it: the lone claim wins", [a], none, { kind: "award", claim: a }],
    ["a person closed it and two claim it: ambiguous", [a, b], none, { kind: "wait", why: "ambiguous", claims: [a, b] }],
    ["GitHub could not say: even a lone claim waits", [a], failed, { kind: "wait", why: "closer-unknown", claims: [a] }],
  ])("%s", (_name, claims, closer, want) => {
    expect(chooseClaim(claims, closer)).toEqual(want);
  });
});

describe("waitText", () => {
  test("names the claims as the issue's comments do, and what GitHub said", () => {
    expect(waitText(REPO, "ambiguous", [a, b], none)).toBe("#1 and #2 claim it, and GitHub names none of them as what closed the issue");
    expect(waitText(REPO, "closer-unclaimed", [elsewhere], pull(7))).toBe(
      "GitHub says #7 closed the issue, which claims no bounty here, while kubernetes/community#1 claims it",
    );
    expect(waitText(REPO, "closer-unclaimed", [a], pull(7, 11))).toBe(
      "GitHub says a pull request in another repository closed the issue, which claims no bounty here, while #1 claims it",
    );
    expect(waitText(REPO, "closer-unknown", [a], failed)).toBe("GitHub did not say what closed the issue, and #1 claims it");
    expect(waitStatus("x")).toBe("no award yet: x; a funder can award it with `/award @login`");
  });
});
