import type { Logger } from "pino";
import { coAuthors } from "../claims/coauthors.js";
import { equalShares } from "../claims/award.js";
import type { Recipient } from "../store/awards.js";
import type { GitHubUser, RepoGitHub } from "./client.js";

/**
 * The GitHub users named by `Co-authored-by:` trailers in a PR's commits, each resolved only
 * where that is certain: a noreply address with an id (`123+login@users.noreply.github.com`)
 * when GitHub's user 123 has that login (anyone can type any id and login into a trailer), an
 * old noreply address (`login@…`, looked up by login), or an address GitHub itself matched to an
 * account as the author or committer of one of the PR's commits. Anything else is skipped and
 * logged: a name or an unmatched address could be anyone.
 */
export async function coAuthorUsers(gh: RepoGitHub, prNumber: number, log: Logger): Promise<GitHubUser[]> {
  const commits = await gh.pullCommits(prNumber);
  const byEmail = new Map<string, GitHubUser>();
  for (const c of commits) {
    for (const who of [c.author, c.committer]) {
      if (who.user && who.email) byEmail.set(who.email.toLowerCase(), who.user);
    }
  }
  const out: GitHubUser[] = [];
  for (const a of coAuthors(commits.map((c) => c.message))) {
    let user: GitHubUser | null = null;
    if (a.id !== undefined && a.login !== undefined) {
      const byId = await gh.userById(a.id);
      if (byId && byId.login.toLowerCase() !== a.login.toLowerCase()) {
        log.info({ pr: prNumber, coauthor: a.name, email: a.email, login: byId.login }, "co-author's noreply address names another account's id; no share");
        continue;
      }
      user = byId;
    }
    else if (a.login !== undefined) user = await gh.user(a.login);
    else user = byEmail.get(a.email.toLowerCase()) ?? null;
    if (!user) {
      log.info({ pr: prNumber, coauthor: a.name, email: a.email }, "co-author not resolved to a GitHub user; no share");
      continue;
    }
    out.push(user);
  }
  return out;
}

/**
 * Who shares a merged PR's bounty: its author, and with `coauthors` the distinct users in its
 * commits' Co-authored-by trailers, in equal shares (the author first, so any odd basis point is
 * theirs). Only user accounts get a share: never bots (nor organizations).
 */
export function sharesFor(author: GitHubUser, coauthors: readonly GitHubUser[]): Recipient[] {
  const people: GitHubUser[] = [];
  for (const u of [author, ...coauthors]) {
    if (u.type !== "User" || u.login.endsWith("[bot]")) continue;
    if (people.some((p) => p.id === u.id)) continue;
    people.push(u);
  }
  if (people.length === 0) return [];
  const bps = equalShares(people.length);
  return people.map((p, i) => ({ id: p.id, login: p.login, bps: bps[i]! }));
}
