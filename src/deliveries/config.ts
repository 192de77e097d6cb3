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
    const name = (err as Error).name;
    if (name === "YAMLException" || /yaml/i.test(String((err as Error).message))) {
      return { ok: false, errors: [`.github/bounties.yml is not valid YAML: ${(err as Error).message.split("\n")[0]}`] };
    }
    throw err;
  }
  return parseRepoConfig(raw, {
    validateAddress: (a) => {
      const p = parseAddress(a, deps.network);
      return p.ok ? null : p.reason;
    },
    defaults: deps.defaults,
  });
}

export function configErrorReply(errors: string[]): string {
  return [
    "this repository's `.github/bounties.yml` is invalid, so I recorded nothing. Please fix:",
    "",
    ...errors.map((e) => `- ${e}`),
  ].join("\n");
}
