import { parseAddress } from "../bitcoin/address.js";
import { boundByOrg, parseRepoConfig, type ConfigResult, type ParseConfigOptions } from "../config/schema.js";
import { ConfigFileError, type LoadedConfig, type RepoGitHub } from "../github/client.js";
import type { Deps } from "./types.js";

/**
 * Reads and validates .github/bounties.yml; a file that cannot be read (not YAML, `_extends` to
 * another account) is an invalid config too, and so is one that adds funders or budget beyond what
 * the org's `.github` file allows.
 */
export async function loadRepoConfig(gh: RepoGitHub, deps: Pick<Deps, "network" | "defaults">): Promise<ConfigResult> {
  let loaded: LoadedConfig;
  try {
    loaded = await gh.loadConfig();
  } catch (err) {
    if (err instanceof ConfigFileError) return { ok: false, errors: [`.github/bounties.yml could not be read: ${err.message}`] };
    throw err; // GitHub trouble: retry later
  }
  const opts: ParseConfigOptions = {
    validateAddress: (a) => {
      const p = parseAddress(a, deps.network);
      return p.ok ? null : p.reason;
    },
    defaults: deps.defaults,
    org: gh.owner,
  };
  const result = parseRepoConfig(loaded.config, opts);
  if (loaded.bound === null || loaded.bound === undefined || !result.ok) return result;
  const org = parseRepoConfig(loaded.bound, opts);
  if (!org.ok) return { ok: false, errors: org.errors.map((e) => `${gh.owner}/.github's ${e}`) };
  return boundByOrg(result.config, org.config, gh.owner);
}

export function configErrorReply(errors: string[]): string {
  return [
    "this repository's `.github/bounties.yml` is invalid, so I recorded nothing. Please fix:",
    "",
    ...errors.map((e) => `- ${e}`),
  ].join("\n");
}
