import { parseAddress } from "../bitcoin/address.js";
import { parseRepoConfig, type ConfigResult } from "../config/schema.js";
import type { RepoGitHub } from "../github/client.js";
import type { Deps } from "./types.js";

/** Reads and validates .github/bounties.yml; a file GitHub cannot parse is an invalid config too. */
export async function loadRepoConfig(gh: RepoGitHub, deps: Pick<Deps, "network" | "defaults">): Promise<ConfigResult> {
  let raw: unknown;
  try {
    raw = await gh.loadConfig();
  } catch (err) {
    const status = (err as { status?: number }).status;
    if (typeof status === "number" && status >= 500) throw err; // GitHub trouble: retry later
    // Probot's config plugin says so when the file is not YAML, not an object, or not a file.
    const message = String((err as Error)?.message ?? err);
    if (message.startsWith("[@probot/octokit-plugin-config]")) {
      const why = message.replace("[@probot/octokit-plugin-config] ", "").replace(/^Configuration could not be parsed from \S+ /, "");
      return { ok: false, errors: [`.github/bounties.yml could not be read: ${why}`] };
    }
    throw err;
  }
  return parseRepoConfig(raw, {
    validateAddress: (a) => {
      const p = parseAddress(a, deps.network);
      return p.ok ? null : p.reason;
    },
    defaults: deps.defaults,
    org: gh.owner,
  });
}

export function configErrorReply(errors: string[]): string {
  return [
    "this repository's `.github/bounties.yml` is invalid, so I recorded nothing. Please fix:",
    "",
    ...errors.map((e) => `- ${e}`),
  ].join("\n");
}
