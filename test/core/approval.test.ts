import { approvalNeeded, type Pledger } from "../../src/core/approval.js";

const bob = { id: 2, login: "bob" };
const pledgers: Pledger[] = [
  { id: 1, login: "alice", label: null },
  { id: 3, login: "carol", label: "bounty/50" },
  { id: 4, login: "dave", label: null },
  { id: 4, login: "dave", label: "bounty/10" },
];

describe("which awards need an operator's approval", () => {
  test.each([
    ["someone with no money in the bounty, awarded by a funder", bob, 1, null],
    ["someone with no money in the bounty, awarded by a merge", bob, null, null],
    ["a funder, awarded by another funder", { id: 1, login: "alice" }, 4, "@alice pledged on this bounty"],
    ["a funder, awarded by a merge", { id: 1, login: "alice" }, null, "@alice pledged on this bounty"],
    ["whoever added a label that pledged", { id: 3, login: "carol" }, null, "@carol added the label `bounty/50` that pledged on this bounty"],
    ["a funder who also added a label: their own pledge is named", { id: 4, login: "dave" }, null, "@dave pledged on this bounty"],
    ["the awarder, even with no pledge", { id: 9, login: "erin" }, 9, "@erin made this award"],
  ] as const)("%s", (_what, recipient, awarderId, why) => {
    expect(approvalNeeded(recipient, { pledgers, awarderId })).toBe(why);
  });
});
