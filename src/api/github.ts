/**
 * What the rewards API asks GitHub, through the app: a recipient by login or id, and the app's
 * installation on a repository (to comment there). The API is called by CI systems, not by
 * webhooks, so there is no installation in the request: users are looked up through the
 * installation of the first served account (ALLOWED_ACCOUNTS, or the app's owner) that has one,
 * as any installation may read public profiles. Answers are kept a few minutes.
 */
import type { Probot } from "probot";
import { octokitRepo, type GitHubUser } from "../github/client.js";

export interface ApiGitHub {
  /** A GitHub account by login or numeric id; null when there is none. */
  user(who: { login: string } | { id: number }): Promise<GitHubUser | null>;
  /** The app's installation on a repository; null when it is not installed there. */
  installationOf(owner: string, repo: string): Promise<number | null>;
}

const status = (err: unknown): number | undefined => (err as { status?: number })?.status;

/** Remembers answers for `ttlMs` (misses too), at most `max` of them. */
class Memo<V> {
  readonly #m = new Map<string, { at: number; value: V }>();
  constructor(
    readonly ttlMs: number,
    readonly max = 10_000,
  ) {}
  async get(key: string, load: () => Promise<V>): Promise<V> {
    const hit = this.#m.get(key);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.value;
    const value = await load();
    if (this.#m.size >= this.max) this.#m.delete(this.#m.keys().next().value!);
    this.#m.set(key, { at: Date.now(), value });
    return value;
  }
}

/** ApiGitHub through a Probot app; `accounts` are the served accounts, in order of preference. */
export function appGitHub(probot: Probot, accounts: () => Iterable<string>, ttlMs = 300_000): ApiGitHub {
  const installations = new Memo<number | null>(ttlMs);
  const users = new Memo<GitHubUser | null>(ttlMs);
  const request = async (route: string, params: Record<string, string | number>): Promise<{ id: number } | null> => {
    try {
      return ((await (await probot.auth()).request(route, params)).data as { id: number }) ?? null;
    } catch (err) {
      if (status(err) === 404) return null;
      throw err;
    }
  };
  const accountInstallation = async (): Promise<{ account: string; id: number }> => {
    for (const account of accounts()) {
      const id = await installations.get(`account:${account}`, async () => (await request("GET /users/{username}/installation", { username: account }))?.id ?? null);
      if (id !== null) return { account, id };
    }
    throw new Error("the app is not installed on any served account (ALLOWED_ACCOUNTS), so it cannot look up GitHub users");
  };
  return {
    user: (who) =>
      users.get("login" in who ? `login:${who.login.toLowerCase()}` : `id:${who.id}`, async () => {
        const { account, id } = await accountInstallation();
        const gh = octokitRepo(await probot.auth(id), account, ".github");
        return "login" in who ? gh.user(who.login) : gh.userById(who.id);
      }),
    installationOf: (owner, repo) =>
      installations.get(`repo:${owner}/${repo}`.toLowerCase(), async () => (await request("GET /repos/{owner}/{repo}/installation", { owner, repo }))?.id ?? null),
  };
}
