import { pino } from "pino";
import type { GitHubUser, PullCommit } from "../../src/github/client.js";
import { coAuthorUsers, sharesFor } from "../../src/github/recipients.js";
import { fakeGitHub } from "../support/github.js";

const log = pino({ level: "silent" });

describe("claim recipients", () => {
  const user = (login: string, id: number, type = "User"): GitHubUser => ({ login, id, type });
  const commit = (message: string, email = "x@example.com", u: GitHubUser | null = null): PullCommit => ({
    message,
    author: { email, user: u },
    committer: { email: "noreply@github.com", user: null },
  });

  test("co-authors resolved by noreply id, by noreply login (looked up), or by GitHub's own match of the address", async () => {
    const gh = fakeGitHub({
      users: { dave: user("dave", 4) },
      usersById: { 3: user("carol", 3) },
      commits: [
        commit(
          "Fix\n\nCo-authored-by: C <3+carol@users.noreply.github.com>\nCo-authored-by: D <dave@users.noreply.github.com>\n" +
            "Co-authored-by: E <erin@example.org>\nCo-authored-by: Nobody <nobody@example.net>\nCo-authored-by: Gone <gone@users.noreply.github.com>",
        ),
        commit("Erin's commit", "Erin@Example.org", user("erin", 5)),
      ],
    });
    expect(await coAuthorUsers(gh, 10, log)).toEqual([user("carol", 3), user("dave", 4), user("erin", 5)]);
    expect(gh.calls).toEqual(["commits 10", "user #3", "user dave", "user gone"]);
  });

  test("a noreply address with an id counts only when GitHub's user with that id has that login", async () => {
    const gh = fakeGitHub({
      usersById: { 3: user("carol", 3), 7: user("Grace", 7), 9: user("renovate", 9, "Bot") },
      commits: [
        commit(
          "Fix\n\nCo-authored-by: M <3+mallory@users.noreply.github.com>\nCo-authored-by: X <4+ghost@users.noreply.github.com>\n" +
            "Co-authored-by: G <7+grace@users.noreply.github.com>\nCo-authored-by: R <9+renovate@users.noreply.github.com>",
        ),
      ],
    });
    const found = await coAuthorUsers(gh, 10, log);
    // Logins compare case-insensitively; the bot is found, and sharesFor then gives it nothing.
    expect(found).toEqual([user("Grace", 7), user("renovate", 9, "Bot")]);
    expect(sharesFor(user("bob", 2), found)).toEqual([
      { id: 2, login: "bob", bps: 5000 },
      { id: 7, login: "Grace", bps: 5000 },
    ]);
    expect(gh.calls).toEqual(["commits 10", "user #3", "user #4", "user #7", "user #9"]);
  });

  test("equal shares, the author first; bots, organizations and repeats get none", () => {
    expect(sharesFor(user("bob", 2), [user("carol", 3), user("bob", 2), user("renovate[bot]", 9, "Bot"), user("org", 8, "Organization"), user("dave", 4)])).toEqual([
      { id: 2, login: "bob", bps: 3334 },
      { id: 3, login: "carol", bps: 3333 },
      { id: 4, login: "dave", bps: 3333 },
    ]);
    expect(sharesFor(user("dependabot[bot]", 1, "Bot"), [])).toEqual([]);
  });
});
