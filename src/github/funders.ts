import { expandApprovers, parseOwners, parseOwnersAliases } from "../core/owners.js";
import type { RepoConfig } from "../config/schema.js";
import type { FundCheck } from "../commands/types.js";
import type { RepoGitHub } from "./client.js";

const WRITE_ROLES = new Set(["admin", "maintain", "write"]);

/** Says, in words, who may fund in this repository (for refusals). */
export function whoMayFund(gh: Pick<RepoGitHub, "owner" | "repo">, config: RepoConfig): string {
  const parts = [`people with write access to ${gh.owner}/${gh.repo}`];
  if (config.funders.users.length) parts.push(config.funders.users.map((u) => `@${u}`).join(", "));
  if (config.funders.teams.length) parts.push(config.funders.teams.map((t) => `@${gh.owner}/${t}`).join(", "));
  if (config.funders.owners) parts.push("approvers in the root OWNERS file");
  return parts.length === 1 ? parts[0]! : `${parts.slice(0, -1).join(", ")} and ${parts[parts.length - 1]}`;
}

/**
 * May this user fund bounties here? Cheapest checks first: the config's own list, then the
 * repository permission (author_association is not reliable), then teams, then OWNERS.
 */
export async function mayFund(gh: RepoGitHub, config: RepoConfig, login: string): Promise<FundCheck> {
  const who = login.toLowerCase();
  if (config.funders.users.includes(who)) return { ok: true };
  if (WRITE_ROLES.has(await gh.permission(login))) return { ok: true };
  for (const team of config.funders.teams) {
    if (await gh.isTeamMember(gh.owner, team, login)) return { ok: true };
  }
  if (config.funders.owners) {
    const owners = await gh.readFile("OWNERS");
    if (owners !== null) {
      const parsed = parseOwners(owners);
      const aliasesText = await gh.readFile("OWNERS_ALIASES");
      const aliases = aliasesText === null ? { ok: true as const, value: {} } : parseOwnersAliases(aliasesText);
      if (parsed.ok && aliases.ok && expandApprovers(parsed.value, aliases.value).includes(who)) return { ok: true };
    }
  }
  return { ok: false, who: whoMayFund(gh, config) };
}
