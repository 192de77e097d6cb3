import { expandAliases, expandApprovers, parseOwners, parseOwnersAliases } from "../../src/core/owners.js";

// Real files from kubernetes/kubernetes (some trimmed).
const KUBELET_OWNERS = `# See the OWNERS docs at https://go.k8s.io/owners

approvers:
- Random-Liu
- dchen1107
- derekwaynecarr
- vishh
- yujuhong
reviewers:
- sig-node-reviewers
- tallclair
labels:
- area/kubelet
- sig/node
`;

const PKG_API_OWNERS = `# See the OWNERS docs at https://go.k8s.io/owners

# Disable inheritance as this is an api owners file
options:
  no_parent_owners: true
filters:
  ".*":
    approvers:
      - api-approvers
    reviewers:
      - api-reviewers
  # examples:
  #   pkg/api/types.go
  #   pkg/api/*/register.go
  "([^/]+/)?(register|types)\\\\.go$":
    labels:
      - kind/api-change
`;

const OWNERS_ALIASES = `aliases:
  # sig-auth subproject aliases
  sig-auth-audit-approvers:
    - sttts
    - tallclair
  sig-node-reviewers:
    - Random-Liu
    - dashpole
    - dchen1107
    - tallclair
  sig-auth-policy-reviewers:
    - deads2k
    - liggitt
    - pweil-
    - tallclair
  api-approvers:
    - erictune
    - lavalamp
    - smarterclayton
    - thockin
    - liggitt
    # - bgrant0607 # manual escalations only
  api-reviewers:
    - erictune
    - lavalamp
    - smarterclayton
    - thockin
    - liggitt
    - wojtek-t
  # sig-apps-api-reviewers:
  #   -
  #   -
  sig-cluster-lifecycle-api-reviewers:
    # - someone
  feature-approvers:
    - bgrant0607      # Architecture
    - brancz          # Instrumentation
    - Huang-Wei
`;

describe("parseOwners", () => {
  test("a plain OWNERS file (pkg/kubelet)", () => {
    expect(parseOwners(KUBELET_OWNERS)).toEqual({
      ok: true,
      value: {
        approvers: ["random-liu", "dchen1107", "derekwaynecarr", "vishh", "yujuhong"],
        reviewers: ["sig-node-reviewers", "tallclair"],
      },
    });
  });

  test('the filters form takes the ".*" filter (pkg/api)', () => {
    expect(parseOwners(PKG_API_OWNERS)).toEqual({
      ok: true,
      value: { approvers: ["api-approvers"], reviewers: ["api-reviewers"] },
    });
  });

  test("top-level lists and the .* filter are merged without duplicates", () => {
    const text = `approvers: [alice]\nfilters:\n  ".*":\n    approvers: [Alice, bob]\n  "\\\\.go$":\n    approvers: [carol]\n`;
    expect(parseOwners(text)).toEqual({ ok: true, value: { approvers: ["alice", "bob"], reviewers: [] } });
  });

  test("logins are normalised like Prow: trimmed, @ removed, lowercased", () => {
    expect(parseOwners(`approvers:\n- "@CJWagner"\n- " Bob "\n- 12345\n`)).toEqual({
      ok: true,
      value: { approvers: ["cjwagner", "bob", "12345"], reviewers: [] },
    });
  });

  test.each([
    ["empty file", ""],
    ["only comments", "# nothing here\n"],
    ["empty lists", "approvers:\nreviewers:\n"],
    ["only other keys", "labels:\n- sig/node\noptions:\n  no_parent_owners: true\n"],
    ["filters without .*", 'filters:\n  "\\\\.md$":\n    approvers: [docs]\n'],
    ["empty .* filter", 'filters:\n  ".*":\n'],
  ])("%s: no owners", (_what, text) => {
    expect(parseOwners(text)).toEqual({ ok: true, value: { approvers: [], reviewers: [] } });
  });

  test.each([
    ["invalid YAML", "approvers:\n- jdoe\nreviewers:\n- alice\nlabels\n- label1\n", /^OWNERS is not valid YAML: /],
    ["a list at the top", "- alice\n", /^OWNERS: expected a mapping with approvers and reviewers$/],
    ["approvers not a list", "approvers: alice\n", /^OWNERS: approvers: expected a list of GitHub logins$/],
    ["an entry that is a mapping", "approvers:\n- {name: alice}\n", /^OWNERS: approvers\[0\]: \{"name":"alice"\} is not a GitHub login$/],
    ["an entry with a space", "reviewers:\n- alice bob\n", /^OWNERS: reviewers\[0\]: "alice bob" is not a GitHub login$/],
    ["filters not a mapping", "filters: [a]\n", /^OWNERS: filters: expected a mapping/],
    [".* filter not a mapping", 'filters:\n  ".*": [a]\n', /^OWNERS: filters\.".\*": expected a mapping/],
    ["bad entry in the .* filter", 'filters:\n  ".*":\n    approvers: [true]\n', /^OWNERS: filters\.".\*"\.approvers\[0\]: true is not a GitHub login$/],
  ])("refuses %s", (_what, text, error) => {
    const r = parseOwners(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(error);
  });

  test("YAML tags that would build objects are refused (safe schema)", () => {
    const r = parseOwners("approvers: !!js/function 'function () { return 1 }'\n");
    expect(r.ok).toBe(false);
  });
});

describe("parseOwnersAliases", () => {
  test("the kubernetes OWNERS_ALIASES format, with empty and commented-out aliases", () => {
    const r = parseOwnersAliases(OWNERS_ALIASES);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value["api-approvers"]).toEqual(["erictune", "lavalamp", "smarterclayton", "thockin", "liggitt"]);
    expect(r.value["sig-node-reviewers"]).toEqual(["random-liu", "dashpole", "dchen1107", "tallclair"]);
    expect(r.value["sig-auth-policy-reviewers"]).toContain("pweil-");
    expect(r.value["sig-cluster-lifecycle-api-reviewers"]).toEqual([]);
    expect(r.value["feature-approvers"]).toEqual(["bgrant0607", "brancz", "huang-wei"]);
    expect(r.value["sig-apps-api-reviewers"]).toBeUndefined();
    expect(Object.keys(r.value)).toHaveLength(7);
  });

  test("alias names are lowercased", () => {
    expect(parseOwnersAliases("aliases:\n  SIG-Foo-Leads: [A, b]\n")).toEqual({
      ok: true,
      value: { "sig-foo-leads": ["a", "b"] },
    });
  });

  test.each([
    ["", {}],
    ["# none\n", {}],
    ["aliases:\n", {}],
    ["aliases: {}\n", {}],
  ])("%j has no aliases", (text, value) => {
    expect(parseOwnersAliases(text)).toEqual({ ok: true, value });
  });

  test.each([
    ["aliases: [a, b]\n", /^OWNERS_ALIASES: aliases: expected a mapping/],
    ["- a\n", /^OWNERS_ALIASES: expected a mapping with an aliases key$/],
    ["aliases:\n  team: alice\n", /^OWNERS_ALIASES: aliases\.team: expected a list of GitHub logins$/],
    ["aliases:\n  team: [alice, {x: 1}]\n", /^OWNERS_ALIASES: aliases\.team\[1\]: \{"x":1\} is not a GitHub login$/],
    ["aliases:\n  team: [alice\n", /^OWNERS_ALIASES is not valid YAML: /],
  ])("refuses %j", (text, error) => {
    const r = parseOwnersAliases(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(error);
  });
});

describe("expandApprovers", () => {
  const aliases = (() => {
    const r = parseOwnersAliases(OWNERS_ALIASES);
    if (!r.ok) throw new Error(r.error);
    return r.value;
  })();

  test("an alias used as an approver is replaced by its members (pkg/api)", () => {
    const owners = parseOwners(PKG_API_OWNERS);
    if (!owners.ok) throw new Error(owners.error);
    expect(expandApprovers(owners.value, aliases)).toEqual(["erictune", "lavalamp", "smarterclayton", "thockin", "liggitt"]);
  });

  test("logins and aliases mixed, lowercased and deduplicated, in first-seen order", () => {
    expect(
      expandApprovers({ approvers: ["Thockin", "api-approvers", "sig-auth-audit-approvers", "newperson"] }, aliases),
    ).toEqual(["thockin", "erictune", "lavalamp", "smarterclayton", "liggitt", "sttts", "tallclair", "newperson"]);
  });

  test("alias lookup ignores case on both sides", () => {
    expect(expandApprovers({ approvers: ["API-Approvers"] }, { "Api-Approvers": ["Bob"] })).toEqual(["bob"]);
  });

  test("reviewers are not approvers", () => {
    const owners = parseOwners(KUBELET_OWNERS);
    if (!owners.ok) throw new Error(owners.error);
    const approvers = expandApprovers(owners.value, aliases);
    expect(approvers).toEqual(["random-liu", "dchen1107", "derekwaynecarr", "vishh", "yujuhong"]);
    expect(approvers).not.toContain("tallclair");
    expect(expandAliases(owners.value.reviewers, aliases)).toEqual(["random-liu", "dashpole", "dchen1107", "tallclair"]);
  });

  test("an empty alias expands to nobody, not to its own name", () => {
    expect(expandApprovers({ approvers: ["sig-cluster-lifecycle-api-reviewers"] }, aliases)).toEqual([]);
  });

  test("aliases are expanded one level only, as in Prow", () => {
    expect(expandApprovers({ approvers: ["outer"] }, { outer: ["inner"], inner: ["alice"] })).toEqual(["inner"]);
  });

  test("no aliases: the approvers themselves", () => {
    expect(expandApprovers({ approvers: ["@Alice", "alice", "bob"] }, {})).toEqual(["alice", "bob"]);
  });
});
