import yaml from "js-yaml";
import {
  CONFIG_DOC,
  CONFIG_MERGE_OPTIONS,
  DEFAULT_CONFIG,
  configDocMarkdown,
  formatPath,
  boundByOrg,
  maxBountyFor,
  parseRepoConfig,
  type ParseConfigOptions,
  type RepoConfig,
} from "../../src/config/schema.js";
import type { Amount } from "../../src/core/money.js";

/** Stand-in for the real address check: known-good test addresses only. */
const GOOD = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kmdmtrj";
const validateAddress = (a: string): string | null =>
  a === GOOD || a === "bc1qcharity2" ? null : a.startsWith("bc1") ? "bad checksum" : "not a bitcoin address";
const opts: ParseConfigOptions = { validateAddress };

const usd = (minor: bigint): Amount => ({ currency: "USD", minor });
const eur = (minor: bigint): Amount => ({ currency: "EUR", minor });
const gbp = (minor: bigint): Amount => ({ currency: "GBP", minor });
const sats = (minor: bigint): Amount => ({ currency: "BTC", minor });

function ok(raw: unknown, o: ParseConfigOptions = opts): RepoConfig {
  const r = parseRepoConfig(raw, o);
  if (!r.ok) throw new Error(`expected a valid config, got:\n${r.errors.join("\n")}`);
  return r.config;
}
function errors(raw: unknown, o: ParseConfigOptions = opts): string[] {
  const r = parseRepoConfig(raw, o);
  if (r.ok) throw new Error("expected errors, the config was accepted");
  return r.errors;
}
const fromYaml = (text: string): unknown => yaml.load(text);

describe("defaults", () => {
  test("no file gives the defaults", () => {
    const expected: RepoConfig = {
      currency: "USD",
      maxBounty: [usd(100_000n), eur(100_000n), gbp(100_000n), sats(1_000_000n)],
      funders: { users: [], teams: [], owners: false, budget: null },
      labels: { bounty: "bounty", auto: [], trustedSenders: [] },
      charities: [],
      claim: { coauthors: false },
      payout: { holdMs: 24 * 3_600_000, unclaimed: null },
      questions: { minReplyChars: 20, expiresMs: 7 * 86_400_000, maxOpenPerAsker: 5, maxResponders: 10 },
      lists: [],
      tips: { holdMs: 3_600_000, maxPerDay: usd(5_000n) },
      surveys: { minAccountAgeMs: 30 * 86_400_000 },
      raw: null,
    };
    expect(parseRepoConfig(null, opts)).toEqual({ ok: true, config: expected });
    expect(parseRepoConfig(undefined, opts)).toEqual({ ok: true, config: expected });
    expect(DEFAULT_CONFIG).toEqual(expected);
  });

  test("an empty mapping gives the defaults too", () => {
    expect(ok({})).toEqual({ ...DEFAULT_CONFIG, raw: {} });
  });

  test("keys present but empty mean their defaults", () => {
    const c = ok(fromYaml("currency:\nmax_bounty:\nfunders:\nlabels:\ncharities:\nclaim:\npayout:\n"));
    expect({ ...c, raw: null }).toEqual(DEFAULT_CONFIG);
  });

  test("DEFAULT_CONFIG is frozen, and parse results are fresh objects", () => {
    expect(Object.isFrozen(DEFAULT_CONFIG)).toBe(true);
    expect(Object.isFrozen(DEFAULT_CONFIG.maxBounty[0])).toBe(true);
    const a = ok(null);
    a.funders.users.push("mallory");
    a.maxBounty[0]!.minor = 1n;
    expect(ok(null).funders.users).toEqual([]);
    expect(ok(null).maxBounty[0]).toEqual(usd(100_000n));
  });

  test("the environment's default currency applies when the file has none", () => {
    expect(ok(null, { ...opts, defaults: { currency: "EUR" } }).currency).toBe("EUR");
    expect(ok({ labels: { auto: { small: "5" } } }, { ...opts, defaults: { currency: "GBP" } }).labels.auto).toEqual([
      { label: "small", amount: gbp(500n) },
    ]);
  });

  test("the repository's currency wins over the environment's", () => {
    expect(ok({ currency: "usd" }, { ...opts, defaults: { currency: "EUR" } }).currency).toBe("USD");
  });
});

describe("a realistic full config", () => {
  const text = `
# .github/bounties.yml for kubernetes/kubernetes
currency: USD
max_bounty:
  - 500usd
  - "€400"
  - 2,000,000 sats
funders:
  users: ["@Thockin", liggitt, liggitt]
  teams: [sig-node-leads, "@kubernetes/sig-release"]
  owners: true
labels:
  bounty: has-bounty
  auto:
    bounty/small: 20usd
    bounty/medium: 100
    "bounty/sats": 50000sats
  trusted_senders: [k8s-ci-robot, "dependabot[bot]"]
charities:
  coin-center:
    name: Coin Center
    address: ${GOOD}
  hrf:
    name: " Human Rights Foundation "
    address: " bc1qcharity2 "
claim:
  coauthors: true
payout:
  hold: 1d12h
  unclaimed: coin-center
`;

  test("is read completely", () => {
    const raw = fromYaml(text);
    const c = ok(raw, { ...opts, org: "kubernetes" });
    expect(c).toEqual({
      currency: "USD",
      maxBounty: [usd(50_000n), eur(40_000n), sats(2_000_000n)],
      funders: { users: ["thockin", "liggitt"], teams: ["sig-node-leads", "sig-release"], owners: true, budget: null },
      labels: {
        bounty: "has-bounty",
        auto: [
          { label: "bounty/small", amount: usd(2_000n) },
          { label: "bounty/medium", amount: usd(10_000n) },
          { label: "bounty/sats", amount: sats(50_000n) },
        ],
        trustedSenders: ["k8s-ci-robot", "dependabot[bot]"],
      },
      charities: [
        { id: "coin-center", name: "Coin Center", address: GOOD },
        { id: "hrf", name: "Human Rights Foundation", address: "bc1qcharity2" },
      ],
      claim: { coauthors: true },
      payout: { holdMs: 36 * 3_600_000, unclaimed: { id: "coin-center", name: "Coin Center", address: GOOD } },
      questions: { minReplyChars: 20, expiresMs: 7 * 86_400_000, maxOpenPerAsker: 5, maxResponders: 10 },
      lists: [],
      tips: { holdMs: 3_600_000, maxPerDay: usd(5_000n) },
      surveys: { minAccountAgeMs: 30 * 86_400_000 },
      raw,
    } satisfies RepoConfig);
    expect(maxBountyFor(c, "EUR")).toEqual(eur(40_000n));
    expect(maxBountyFor(c, "GBP")).toBeUndefined();
  });
});

describe("values", () => {
  test.each([
    ["usd", "USD"],
    ["EUR", "EUR"],
    ["Gbp", "GBP"],
    ["btc", "BTC"],
    ["sats", "BTC"],
  ])("currency %j → %s", (value, currency) => {
    expect(ok({ currency: value }).currency).toBe(currency);
  });

  test("payout.hold: the app's PAYOUT_HOLD (24h unless set) is a floor the file may raise but not lower", () => {
    expect(ok({}).payout.holdMs).toBe(24 * 3_600_000);
    expect(ok({}, { ...opts, defaults: { holdMs: 60_000 } }).payout.holdMs).toBe(60_000);
    expect(ok(null, { ...opts, defaults: { holdMs: 60_000 } }).payout.holdMs).toBe(60_000);
    expect(ok({ payout: { hold: "2h" } }, { ...opts, defaults: { holdMs: 60_000 } }).payout.holdMs).toBe(7_200_000);
    // Lower than the floor: the floor holds.
    expect(ok({ payout: { hold: "0s" } }).payout.holdMs).toBe(24 * 3_600_000);
    expect(ok({ payout: { hold: "30s" } }, { ...opts, defaults: { holdMs: 60_000 } }).payout.holdMs).toBe(60_000);
    // 0s works when the operator allows it.
    expect(ok({ payout: { hold: "0s" } }, { ...opts, defaults: { holdMs: 0 } }).payout.holdMs).toBe(0);
  });

  test("payout.unclaimed names a charity, case-insensitively, and carries its name and address", () => {
    const c = ok({ charities: { "coin-center": { name: "Coin Center", address: GOOD } }, payout: { unclaimed: "Coin-Center" } });
    expect(c.payout.unclaimed).toEqual({ id: "coin-center", name: "Coin Center", address: GOOD });
  });

  test("max_bounty as a single amount replaces the whole default list", () => {
    expect(ok({ max_bounty: "1000usd" }).maxBounty).toEqual([usd(100_000n)]);
  });

  test("max_bounty is kept in the order USD, EUR, GBP, BTC whatever the file's order", () => {
    expect(ok({ max_bounty: ["1btc", "£5", "5usd"] }).maxBounty).toEqual([usd(500n), gbp(500n), sats(100_000_000n)]);
  });

  test("max_bounty amounts without a unit are in the config's currency; plain YAML numbers work", () => {
    expect(ok({ currency: "eur", max_bounty: [250] }).maxBounty).toEqual([eur(25_000n)]);
    expect(ok({ currency: "gbp", max_bounty: "99.5" }).maxBounty).toEqual([gbp(9_950n)]);
  });

  test("with currency btc, a bare number is BTC", () => {
    expect(ok({ currency: "btc", max_bounty: "0.01", labels: { auto: { tiny: "1000sats" } } })).toMatchObject({
      currency: "BTC",
      maxBounty: [sats(1_000_000n)],
      labels: { auto: [{ label: "tiny", amount: sats(1_000n) }] },
    });
  });

  test("teams written as org/slug keep the slug; without an org to check against any org is taken", () => {
    expect(ok({ funders: { teams: ["kubernetes/sig-node-leads", "SIG-Release"] } }).funders.teams).toEqual([
      "sig-node-leads",
      "sig-release",
    ]);
  });

  test("logins: leading @ stripped, lowercased, deduplicated; bots allowed only as trusted senders", () => {
    const c = ok({ funders: { users: ["@Alice", "alice", "BOB"] }, labels: { trusted_senders: ["Renovate[bot]"] } });
    expect(c.funders.users).toEqual(["alice", "bob"]);
    expect(c.labels.trustedSenders).toEqual(["renovate[bot]"]);
  });

  test("keys that name Object.prototype members are plain keys", () => {
    expect(errors(fromYaml("__proto__: {currency: eur}"))).toEqual([
      "__proto__: unknown setting; known settings here are currency, max_bounty, funders, labels, charities, claim, payout, questions, lists, tips, surveys",
    ]);
    expect(errors(fromYaml("funders: {__proto__: {owners: true}}"))).toEqual([
      "funders.__proto__: unknown setting; known settings here are users, teams, owners, budget",
    ]);
    expect(ok(fromYaml("charities: {constructor: {name: C, address: " + GOOD + "}}")).charities).toEqual([
      { id: "constructor", name: "C", address: GOOD },
    ]);
    expect(ok({}).funders.owners).toBe(false);
  });

  test("_extends, if Probot left it, is ignored", () => {
    expect(ok({ _extends: ".github", currency: "eur" }).currency).toBe("EUR");
  });
});

describe("errors name the YAML path and say what is wrong", () => {
  const cases: Array<[string, unknown, string[], ParseConfigOptions?]> = [
    ["not a mapping: list", [1, 2], ['the config must be a mapping of settings (like "currency: usd"), got a list']],
    ["not a mapping: text", "usd", ['the config must be a mapping of settings (like "currency: usd"), got "usd"']],
    [
      "a typo at the top level",
      { fundrs: { users: ["a"] } },
      ['fundrs: unknown setting (did you mean "funders"?); known settings here are currency, max_bounty, funders, labels, charities, claim, payout, questions, lists, tips, surveys'],
    ],
    [
      "an unrelated unknown key",
      { colour: "blue" },
      ["colour: unknown setting; known settings here are currency, max_bounty, funders, labels, charities, claim, payout, questions, lists, tips, surveys"],
    ],
    [
      "max-bounty with a hyphen",
      { "max-bounty": "5usd" },
      ['max-bounty: unknown setting (did you mean "max_bounty"?); known settings here are currency, max_bounty, funders, labels, charities, claim, payout, questions, lists, tips, surveys'],
    ],
    ["currency unknown", { currency: "yen" }, ['currency: "yen" is not a currency; use usd, eur, gbp, btc or sats']],
    ["currency not text", { currency: 5 }, ["currency: 5 is not a currency; use usd, eur, gbp, btc or sats"]],
    ["max_bounty unknown currency", { max_bounty: "10xyz" }, ['max_bounty: "10xyz" is not an amount: unknown currency "xyz" (e.g. "10usd")']],
    ["max_bounty zero", { max_bounty: "0usd" }, ['max_bounty: "0usd" is not an amount: must be more than zero (e.g. "5usd")']],
    ["max_bounty negative", { max_bounty: ["5usd", "-5eur"] }, ['max_bounty[1]: "-5eur" is not an amount: must be positive (e.g. "5eur")']],
    [
      "max_bounty too many decimals",
      { max_bounty: "5.555usd" },
      ['max_bounty: "5.555usd" is not an amount: more decimals than USD allows (2) (e.g. "5.55usd")'],
    ],
    ["max_bounty a mapping", { max_bounty: { usd: 5 } }, ['max_bounty: expected an amount like "1000usd", got a mapping']],
    ["max_bounty a boolean in the list", { max_bounty: [true] }, ['max_bounty[0]: expected an amount like "1000usd", got true']],
    ["max_bounty a huge number", { max_bounty: 1e300 }, ['max_bounty: expected an amount like "1000usd", got 1e+300']],
    [
      "max_bounty empty list",
      { max_bounty: [] },
      ["max_bounty: the list is empty, so no bounty could ever be placed; list at least one amount, or remove the key for the defaults"],
    ],
    [
      "max_bounty two in one currency",
      { max_bounty: ["5usd", "1000sats", "$7"] },
      ['max_bounty[2]: a second maximum for USD ("$7", after "5usd"); keep one'],
    ],
    [
      "max_bounty btc and sats are one currency",
      { max_bounty: ["1000sats", "0.1btc"] },
      ['max_bounty[1]: a second maximum for BTC ("0.1btc", after "1000sats"); keep one'],
    ],
    [
      "max_bounty without the repository's currency",
      { currency: "eur", max_bounty: "500usd" },
      ['max_bounty: has no maximum for EUR, the repository\'s currency, so "/bounty 5" could never work; add one like "1000eur"'],
    ],
    ["funders not a mapping", { funders: ["alice"] }, ["funders: expected a mapping with users, teams, owners and budget, got a list"]],
    [
      "funders unknown key",
      { funders: { user: ["alice"] } },
      ['funders.user: unknown setting (did you mean "users"?); known settings here are users, teams, owners, budget'],
    ],
    ["funders.users not a list", { funders: { users: "alice" } }, ['funders.users: expected a list of GitHub logins, got "alice"']],
    ["funders.users bad login", { funders: { users: ["ok", "not a login"] } }, ['funders.users[1]: "not a login" is not a GitHub login']],
    ["funders.users a bot", { funders: { users: ["dependabot[bot]"] } }, ['funders.users[0]: "dependabot[bot]" is not a GitHub login']],
    ["funders.users a number", { funders: { users: [42] } }, ["funders.users[0]: 42 is not a GitHub login"]],
    ["funders.teams not a list", { funders: { teams: "leads" } }, ['funders.teams: expected a list of team slugs like "sig-node-leads", got "leads"']],
    ["funders.teams bad slug", { funders: { teams: ["sig node"] } }, ['funders.teams[0]: "sig node" is not a team slug like "sig-node-leads"']],
    ["funders.teams not text", { funders: { teams: [null] } }, ["funders.teams[0]: nothing is not a team slug"]],
    ["funders.teams bad org", { funders: { teams: ["bad org/leads"] } }, ['funders.teams[0]: "bad org/leads": "bad org" is not an organization name']],
    [
      "funders.teams another org",
      { funders: { teams: ["kubernetes-sigs/leads"] } },
      ['funders.teams[0]: "kubernetes-sigs/leads" is a team of "kubernetes-sigs", but only teams of "kubernetes" can be checked'],
      { validateAddress, org: "Kubernetes" },
    ],
    ["funders.owners not a boolean", { funders: { owners: "yes" } }, ['funders.owners: expected true or false, got "yes"']],
    ["labels not a mapping", { labels: "bounty" }, ['labels: expected a mapping with bounty, auto and trusted_senders, got "bounty"']],
    [
      "labels unknown key",
      { labels: { trusted: ["a"] } },
      ["labels.trusted: unknown setting; known settings here are bounty, auto, trusted_senders"],
    ],
    ["labels.bounty empty", { labels: { bounty: "  " } }, ['labels.bounty: expected a label name, got "  "']],
    ["labels.bounty a list", { labels: { bounty: ["a"] } }, ["labels.bounty: expected a label name, got a list"]],
    [
      "labels.bounty too long",
      { labels: { bounty: "x".repeat(51) } },
      [`labels.bounty: "${"x".repeat(51)}" is longer than GitHub allows for a label (50 characters)`],
    ],
    ["labels.auto a list", { labels: { auto: ["bounty/small"] } }, ["labels.auto: expected a mapping of label names to amounts, got a list"]],
    [
      "labels.auto bad amount",
      { labels: { auto: { "bounty/small": "5 dollars" } } },
      ['labels.auto."bounty/small": "5 dollars" is not an amount: unknown currency "dollars" (e.g. "5usd")'],
    ],
    [
      "labels.auto amount missing",
      { labels: { auto: { "good first issue": null } } },
      ['labels.auto."good first issue": expected an amount like "1000usd", got nothing'],
    ],
    [
      "labels.auto same label twice in different case",
      { labels: { auto: { "Bounty/Small": "5usd", "bounty/small": "7usd" } } },
      ['labels.auto."bounty/small": same label as "Bounty/Small" (GitHub label names ignore case); keep one'],
    ],
    [
      "labels.auto the bounty label itself",
      { labels: { bounty: "Bounty", auto: { bounty: "5usd" } } },
      ["labels.auto.bounty: is the same label as labels.bounty; the bot puts that label on every bounty, so pick another name"],
    ],
    [
      "labels.auto over the maximum",
      { max_bounty: "100usd", labels: { auto: { big: "500usd" } } },
      ["labels.auto.big: $500 is more than max_bounty allows for USD, which is $100"],
    ],
    [
      "labels.auto in a currency max_bounty does not accept",
      { max_bounty: "100usd", labels: { auto: { euro: "5eur" } } },
      ["labels.auto.euro: €5 is in EUR, which max_bounty does not accept"],
    ],
    [
      "labels.trusted_senders bad login",
      { labels: { trusted_senders: ["k8s-ci-robot", "bot[robot]"] } },
      ['labels.trusted_senders[1]: "bot[robot]" is not a GitHub login (bots end in [bot])'],
    ],
    ["labels.trusted_senders not a list", { labels: { trusted_senders: "k8s-ci-robot" } }, ['labels.trusted_senders: expected a list of GitHub logins, got "k8s-ci-robot"']],
    ["charities a list", { charities: ["coin-center"] }, ["charities: expected a mapping of charity ids to {name, address}, got a list"]],
    [
      "charities bad id",
      { charities: { "Coin Center": { name: "Coin Center", address: GOOD } } },
      ['charities."Coin Center": "Coin Center" is not a charity id: use lowercase letters, digits and hyphens, like "coin-center"'],
    ],
    ["charities entry not a mapping", { charities: { cc: GOOD } }, [`charities.cc: expected a mapping with name and address, got "${GOOD}"`]],
    ["charities missing name", { charities: { cc: { address: GOOD } } }, ["charities.cc.name: expected the charity's name, got undefined"]],
    ["charities missing address", { charities: { cc: { name: "CC" } } }, ["charities.cc.address: expected a Bitcoin address, got undefined"]],
    [
      "charities address rejected by the validator",
      { charities: { "coin-center": { name: "Coin Center", address: "bc1qbadchecksum" } } },
      ["charities.coin-center.address: bad checksum"],
    ],
    [
      "charities unknown key",
      { charities: { cc: { name: "CC", address: GOOD, adress: "x" } } },
      ['charities.cc.adress: unknown setting (did you mean "address"?); known settings here are name, address'],
    ],
    ["claim not a mapping", { claim: "14d" }, ['claim: expected a mapping with coauthors, got "14d"']],
    ["payout not a mapping", { payout: [1] }, ["payout: expected a mapping with hold and unclaimed, got a list"]],
    [
      "claim unknown key",
      { claim: { window: "14d" } },
      ["claim.window: unknown setting; known settings here are coauthors"],
    ],
    ["claim.coauthors not a boolean", { claim: { coauthors: "yes" } }, ['claim.coauthors: expected true or false, got "yes"']],
    ["payout.hold a bare number", { payout: { hold: 24 } }, ['payout.hold: expected a duration like "24h" or "0s", got 24']],
    [
      "payout.hold without a unit",
      { payout: { hold: "24" } },
      ['payout.hold: "24" is not a duration: "24" has no unit (s, m, h or d). Durations look like 30s, 10m, 2h, 7d or 1h30m; try 24m.'],
    ],
    [
      "payout.hold too long",
      { payout: { hold: "400d" } },
      ['payout.hold: "400d" is not a duration: it is longer than 365 days. Durations look like 30s, 10m, 2h, 7d or 1h30m.'],
    ],
    [
      "payout.hold a typo",
      { payout: { hodl: "1h" } },
      ['payout.hodl: unknown setting (did you mean "hold"?); known settings here are hold, unclaimed'],
    ],
    ["payout.unclaimed not an id", { payout: { unclaimed: "Coin Center!" } }, ['payout.unclaimed: "Coin Center!" is not a charity id like "coin-center"']],
    [
      "payout.unclaimed with no charities",
      { payout: { unclaimed: "coin-center" } },
      ['payout.unclaimed: "coin-center" is not one of this repository\'s charities; add it under `charities` with a name and an address'],
    ],
    [
      "payout.unclaimed naming another charity",
      { charities: { hrf: { name: "HRF", address: GOOD } }, payout: { unclaimed: "coin-center" } },
      ['payout.unclaimed: "coin-center" is not one of this repository\'s charities (hrf)'],
    ],
  ];

  // Rows carry their options explicitly: with a missing fourth element jest
  // would take the fourth parameter for a `done` callback and wait for it.
  const rows = cases.map(([what, raw, expected, o]) => [what, raw, expected, o ?? opts] as const);
  test.each(rows)("%s", (_what, raw, expected, o) => {
    expect(errors(raw, o)).toEqual(expected);
  });

  test("all problems are reported at once, in file order", () => {
    const raw = fromYaml(`
fundrs: {}
currency: yen
max_bounty: [10xyz, 5usd, $7]
funders:
  users: alice
  owners: yes
labels:
  auto:
    small: 5 dollars
charities:
  coin-center: {name: Coin Center, address: bc1qnope}
`);
    expect(errors(raw)).toEqual([
      'fundrs: unknown setting (did you mean "funders"?); known settings here are currency, max_bounty, funders, labels, charities, claim, payout, questions, lists, tips, surveys',
      'currency: "yen" is not a currency; use usd, eur, gbp, btc or sats',
      'max_bounty[0]: "10xyz" is not an amount: unknown currency "xyz" (e.g. "10usd")',
      'max_bounty[2]: a second maximum for USD ("$7", after "5usd"); keep one',
      'funders.users: expected a list of GitHub logins, got "alice"',
      'funders.owners: expected true or false, got "yes"',
      'labels.auto.small: "5 dollars" is not an amount: unknown currency "dollars" (e.g. "5usd")',
      "charities.coin-center.address: bad checksum",
    ]);
  });

  test("the validator gets the trimmed address", () => {
    const seen: string[] = [];
    ok({ charities: { cc: { name: "CC", address: `  ${GOOD}\n` } } }, {
      validateAddress: (a) => {
        seen.push(a);
        return null;
      },
    });
    expect(seen).toEqual([GOOD]);
  });
});

describe("helpers", () => {
  test("formatPath", () => {
    expect(formatPath([])).toBe("");
    expect(formatPath(["funders", "users", 2])).toBe("funders.users[2]");
    expect(formatPath(["labels", "auto", "good first issue"])).toBe('labels.auto."good first issue"');
    expect(formatPath(["charities", "coin-center", "address"])).toBe("charities.coin-center.address");
  });

  test("CONFIG_DOC describes every key the parser knows, and nothing else", () => {
    const documented = CONFIG_DOC.map((d) => d.key);
    expect(documented).toEqual([
      "currency",
      "max_bounty",
      "funders.users",
      "funders.teams",
      "funders.owners",
      "funders.budget",
      "labels.bounty",
      "labels.auto",
      "labels.trusted_senders",
      "charities",
      "claim.coauthors",
      "payout.hold",
      "payout.unclaimed",
      "questions.min_reply_chars",
      "questions.expires",
      "questions.max_open_per_asker",
      "questions.max_responders",
      "lists",
      "tips.hold",
      "tips.max_per_day",
      "surveys.min_account_age",
    ]);
    // Each documented key is accepted by the parser ...
    for (const key of documented) {
      const [top, sub] = key.split(".") as [string, string | undefined];
      const raw = sub === undefined ? { [top]: null } : { [top]: { [sub]: null } };
      expect(parseRepoConfig(raw, opts).ok).toBe(true);
    }
    // ... and the Markdown table has a row per key.
    const table = configDocMarkdown().split("\n");
    expect(table).toHaveLength(documented.length + 2);
    expect(table[2]).toMatch(/^\| `currency` \| usd \\\| eur/);
  });

  test("CONFIG_MERGE_OPTIONS replaces lists instead of concatenating them", () => {
    expect(CONFIG_MERGE_OPTIONS.arrayMerge(["1000usd"], ["500usd"])).toEqual(["500usd"]);
  });
});

describe("questions, lists, tips and surveys", () => {
  test("read with their defaults, in the repository's currency", () => {
    const c = ok({
      currency: "eur",
      questions: { min_reply_chars: 40, expires: "3d", max_open_per_asker: 2, max_responders: 25 },
      lists: { "SIG-Docs-Experts": ["@Alice", "bob"] },
      tips: { hold: "30m", max_per_day: 20 },
      surveys: { min_account_age: "90d" },
    });
    expect(c.questions).toEqual({ minReplyChars: 40, expiresMs: 3 * 86_400_000, maxOpenPerAsker: 2, maxResponders: 25 });
    expect(c.lists).toEqual([{ name: "sig-docs-experts", members: ["alice", "bob"] }]);
    expect(c.tips).toEqual({ holdMs: 1_800_000, maxPerDay: eur(2_000n) });
    expect(c.surveys).toEqual({ minAccountAgeMs: 90 * 86_400_000 });
    expect(ok({ currency: "sats" }).tips.maxPerDay).toEqual(sats(50_000n));
  });

  test("bad values are named with their path", () => {
    const r = parseRepoConfig(
      {
        questions: { min_reply_chars: 0, expires: "soon", max_responders: 101, maximum: 3 },
        lists: { "bad name!": ["alice"], empty: [], team: ["not a login"] },
        tips: { max_per_day: "5xyz" },
        surveys: { min_account_age: 30 },
      },
      opts,
    );
    expect(r.ok).toBe(false);
    const errors = r.ok ? [] : r.errors;
    expect(errors).toEqual(
      expect.arrayContaining([
        "questions.min_reply_chars: expected a whole number from 1 to 10000, got 0",
        "questions.max_responders: expected a whole number from 1 to 100, got 101",
        expect.stringMatching(/^questions\.expires: /),
        expect.stringMatching(/^questions\.maximum: unknown setting/),
        expect.stringMatching(/^lists\."bad name!": .* is not a list name/),
        "lists.empty: the list is empty; name at least one person, or remove it",
        'lists.team[0]: "not a login" is not a GitHub login',
        expect.stringMatching(/^tips\.max_per_day: "5xyz" is not an amount/),
        'surveys.min_account_age: expected a duration like "24h" or "0s", got 30',
      ]),
    );
    expect(parseRepoConfig({ questions: { expires: "0s" } }, opts)).toEqual({
      ok: false,
      errors: ["questions.expires: a question needs time to be answered; use a duration like 7d"],
    });
  });
});

describe("funders.budget", () => {
  test("an amount and a window; a bare number is in the repository's currency", () => {
    expect(ok({ funders: { budget: "500usd/30d" } }).funders.budget).toEqual({ limit: usd(50_000n), windowMs: 30 * 86_400_000 });
    expect(ok({ currency: "eur", funders: { budget: "200/7d" } }).funders.budget).toEqual({ limit: eur(20_000n), windowMs: 7 * 86_400_000 });
    expect(ok({}).funders.budget).toBeNull();
  });

  test.each([
    ["no window", "500usd", 'funders.budget: "500usd" is not a budget: write an amount and a window, like "500usd/30d"'],
    ["a bad amount", "5xyz/30d", 'funders.budget: "5xyz/30d" is not a budget: '],
    ["a bad window", "500usd/30", 'funders.budget: "500usd/30" is not a budget: '],
    ["zero", "0usd/30d", 'funders.budget: "0usd/30d" is not a budget: '],
  ])("%s is refused", (_what, budget, message) => {
    const [e] = errors({ funders: { budget } });
    expect(e!.startsWith(message)).toBe(true);
  });
});

describe("boundByOrg: the org's .github file bounds what a repository's file adds", () => {
  const org = ok({ funders: { users: ["thockin"], teams: ["sig-node-leads"], owners: false, budget: "500usd/30d" } });
  const bound = (raw: unknown) => boundByOrg(ok(raw), org, "kubernetes");

  test("funders the org lists, and a budget within the org's, are kept", () => {
    const r = bound({ funders: { users: ["thockin"], teams: ["sig-node-leads"], budget: "200usd/30d" } });
    expect(r).toEqual({ ok: true, config: expect.objectContaining({ funders: { users: ["thockin"], teams: ["sig-node-leads"], owners: false, budget: { limit: usd(20_000n), windowMs: 30 * 86_400_000 } } }) });
  });

  test("without a budget of its own the repository gets the org's", () => {
    const r = bound({ currency: "usd" });
    expect(r.ok && r.config.funders.budget).toEqual({ limit: usd(50_000n), windowMs: 30 * 86_400_000 });
  });

  test("users, teams, owners and a larger budget the org does not allow are errors", () => {
    const r = bound({ funders: { users: ["thockin", "mallory"], teams: ["evil"], owners: true, budget: "5000usd/30d" } });
    expect(r).toEqual({
      ok: false,
      errors: [
        'funders.users: "mallory" is not among the funders kubernetes/.github allows (thockin)',
        'funders.teams: "evil" is not among the teams kubernetes/.github allows (sig-node-leads)',
        "funders.owners: kubernetes/.github does not let OWNERS approvers fund, so a repository cannot turn it on",
        "funders.budget: 5000usd/30d is not within kubernetes/.github's 500usd/30d; use the same currency, no more money and a window at least as long",
      ],
    });
  });

  test("a shorter window or another currency is not within the org's budget", () => {
    expect(bound({ funders: { budget: "400usd/1d" } }).ok).toBe(false);
    expect(bound({ funders: { budget: "400eur/30d" } }).ok).toBe(false);
    expect(bound({ funders: { budget: "500usd/60d" } }).ok).toBe(true);
  });

  test("an org file that lists no funders lets a repository add none", () => {
    const r = boundByOrg(ok({ funders: { users: ["mallory"] } }), ok({}), "kubernetes");
    expect(r).toEqual({ ok: false, errors: ['funders.users: "mallory" is not among the funders kubernetes/.github allows (it lists none)'] });
  });
});
