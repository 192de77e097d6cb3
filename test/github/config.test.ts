import nock from "nock";
import { ProbotOctokit } from "probot";
import { ConfigFileError, loadConfigFiles, octokitRepo } from "../../src/github/client.js";

/** The account's repositories' .github/bounties.yml, by repository name; `fetched` records each read. */
function files(texts: Record<string, string | null>) {
  const fetched: string[] = [];
  const fetchFile = async (repo: string) => {
    fetched.push(repo);
    return texts[repo] ?? null;
  };
  return { fetched, load: (repo = "website") => loadConfigFiles(fetchFile, "kubernetes", repo) };
}

describe("loadConfigFiles", () => {
  test("a repository without a file takes the org's .github file, which then bounds nothing more", async () => {
    const f = files({ ".github": "currency: eur\n" });
    expect(await f.load()).toEqual({ config: { currency: "eur" }, bound: null });
    expect(f.fetched).toEqual(["website", ".github"]);
  });

  test("a repository with a file of its own is bounded by the org's file, read beside it", async () => {
    const f = files({ website: "funders:\n  users: [a]\n", ".github": "funders:\n  users: [a, b]\n" });
    expect(await f.load()).toEqual({ config: { funders: { users: ["a"] } }, bound: { funders: { users: ["a", "b"] } } });
    expect(f.fetched).toEqual(["website", ".github"]);
  });

  test("a chain through the org's file reads it once: base of the config and its bound", async () => {
    const f = files({
      website: "_extends: sig-docs\nmax_bounty: 5usd\n",
      "sig-docs": "_extends: kubernetes/.github\ncurrency: gbp\n",
      ".github": "_extends: base\nfunders:\n  budget: 5usd/1d\n",
      base: "claim:\n  coauthors: true\n",
    });
    const { config, bound } = await f.load();
    expect(config).toEqual({ claim: { coauthors: true }, funders: { budget: "5usd/1d" }, currency: "gbp", max_bounty: "5usd" });
    expect(bound).toEqual({ claim: { coauthors: true }, funders: { budget: "5usd/1d" } });
    expect(f.fetched).toEqual(["website", "sig-docs", ".github", "base"]);
  });

  test("no file anywhere, and the org repository itself", async () => {
    expect(await files({}).load()).toEqual({ config: null, bound: null });
    expect(await files({ ".github": "currency: usd\n" }).load(".github")).toEqual({ config: { currency: "usd" }, bound: null });
  });

  test.each([
    ["_extends: otherorg/.github\n", /names a repository of another account \(otherorg\)/],
    ["_extends: OtherOrg/website\n", /names a repository of another account \(OtherOrg\)/],
    ["_extends: sig-docs\n", /loops back to kubernetes\/website/],
    ["_extends: [a]\n", /is not a repository like/],
    ["_extends: .github:other.yml\n", /names another file/],
    ["currency: [\n", /is not valid YAML/],
    ["just text\n", /is not a mapping of settings/],
  ])("%j is refused before anything else is fetched", async (text, why) => {
    const f = files({ website: text, "sig-docs": "_extends: website\n" });
    await expect(f.load()).rejects.toThrow(ConfigFileError);
    await expect(f.load()).rejects.toThrow(why);
    expect(f.fetched.every((r) => r === "website" || r === "sig-docs")).toBe(true);
  });

  test("an extends chain in the same account may name the owner in any case", async () => {
    const f = files({ website: "_extends: KUBERNETES/community\n", community: "currency: eur\n", ".github": null });
    expect(await f.load()).toEqual({ config: { currency: "eur" }, bound: null });
  });
});

describe("octokitRepo.loadConfig over HTTP", () => {
  const API = "https://api.github.com";
  const path = `/contents/${encodeURIComponent(".github/bounties.yml")}`;
  beforeAll(() => nock.disableNetConnect());
  afterEach(() => {
    const pending = nock.pendingMocks();
    nock.cleanAll();
    expect(pending).toEqual([]);
  });
  afterAll(() => nock.enableNetConnect());
  const octokit = () => new ProbotOctokit({ auth: { token: "t" }, throttle: { enabled: false }, retry: { enabled: false } });

  test("reads the raw file; 404 is no file; GitHub's errors are thrown for a retry", async () => {
    nock(API)
      .get(`/repos/kubernetes/website${path}`)
      .matchHeader("accept", /raw/)
      .reply(200, "currency: eur\n")
      .get(`/repos/kubernetes/.github${path}`)
      .reply(404, { message: "Not Found" });
    expect(await octokitRepo(octokit(), "kubernetes", "website").loadConfig()).toEqual({ config: { currency: "eur" }, bound: null });
    nock(API).get(`/repos/kubernetes/website${path}`).reply(502, { message: "Bad gateway" });
    await expect(octokitRepo(octokit(), "kubernetes", "website").loadConfig()).rejects.toMatchObject({ status: 502 });
  });

  test("a directory where the file should be is a config error", async () => {
    nock(API).get(`/repos/kubernetes/website${path}`).reply(200, [{ type: "file", name: "x" }]);
    await expect(octokitRepo(octokit(), "kubernetes", "website").loadConfig()).rejects.toThrow(/is a directory or a submodule/);
  });
});
