/**
 * Kubernetes (Prow) OWNERS and OWNERS_ALIASES files.
 *
 * See https://www.kubernetes.dev/docs/guide/owners/. An OWNERS file lists
 * `approvers` and `reviewers` (GitHub logins or alias names), either at the
 * top level or under `filters`, keyed by a path regular expression; only the
 * `.*` filter applies to a whole directory, so that is the one read here.
 * Other keys (labels, options, emeritus_approvers, required_reviewers, …) are
 * ignored. Logins are normalised like Prow does: trimmed, leading `@`
 * removed, lowercased.
 */

import yaml from "js-yaml";
import type { Parsed } from "./money.js";

export interface Owners {
  approvers: string[];
  reviewers: string[];
}

export type OwnersAliases = Record<string, string[]>;

/**
 * GitHub logins and alias names after lowercasing. Deliberately looser than
 * today's GitHub rules: old accounts may end in "-" (e.g. "pweil-" in the
 * Kubernetes OWNERS_ALIASES), and alias names are free-form.
 */
const NAME_RE = /^[a-z0-9][a-z0-9_.-]{0,99}$/;

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function loadYaml(text: string, what: string): Parsed<unknown> {
  if (typeof text !== "string") return { ok: false, error: `${what}: expected the file's text` };
  try {
    // js-yaml 4's load() uses the safe default schema (no functions, no custom tags).
    return { ok: true, value: yaml.load(text) };
  } catch (e) {
    const reason = e instanceof Error ? e.message.split("\n")[0] : String(e);
    return { ok: false, error: `${what} is not valid YAML: ${reason}` };
  }
}

/** Normalise one login or alias name; null when it is not one. */
function normaliseName(v: unknown): string | null {
  let s: string;
  if (typeof v === "string") s = v;
  else if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) s = String(v); // an all-digit login
  else return null;
  s = s.trim().replace(/^@/, "").toLowerCase();
  return NAME_RE.test(s) ? s : null;
}

/** A list of names at `path`; null or a missing key is an empty list. */
function readNameList(v: unknown, path: string, errors: string[]): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    errors.push(`${path}: expected a list of GitHub logins`);
    return [];
  }
  const out: string[] = [];
  v.forEach((item, i) => {
    const name = normaliseName(item);
    if (name === null) errors.push(`${path}[${i}]: ${JSON.stringify(item) ?? String(item)} is not a GitHub login`);
    else if (!out.includes(name)) out.push(name);
  });
  return out;
}

/**
 * Approvers and reviewers of an OWNERS file: the top-level lists plus those
 * of the `.*` filter, lowercased and deduplicated, aliases not yet expanded.
 * An empty file has no owners.
 */
export function parseOwners(yamlText: string): Parsed<Owners> {
  const loaded = loadYaml(yamlText, "OWNERS");
  if (!loaded.ok) return loaded;
  const doc = loaded.value;
  if (doc === undefined || doc === null) return { ok: true, value: { approvers: [], reviewers: [] } };
  if (!isMapping(doc)) return { ok: false, error: "OWNERS: expected a mapping with approvers and reviewers" };

  const errors: string[] = [];
  const approvers = readNameList(doc["approvers"], "approvers", errors);
  const reviewers = readNameList(doc["reviewers"], "reviewers", errors);

  const filters = doc["filters"];
  if (filters !== undefined && filters !== null) {
    if (!isMapping(filters)) {
      errors.push("filters: expected a mapping of path patterns to approvers and reviewers");
    } else if (Object.prototype.hasOwnProperty.call(filters, ".*")) {
      const all = filters[".*"];
      if (all !== null && all !== undefined && !isMapping(all)) {
        errors.push(`filters.".*": expected a mapping with approvers and reviewers`);
      } else if (isMapping(all)) {
        for (const a of readNameList(all["approvers"], `filters.".*".approvers`, errors)) {
          if (!approvers.includes(a)) approvers.push(a);
        }
        for (const r of readNameList(all["reviewers"], `filters.".*".reviewers`, errors)) {
          if (!reviewers.includes(r)) reviewers.push(r);
        }
      }
    }
  }
  if (errors.length > 0) return { ok: false, error: `OWNERS: ${errors.join("; ")}` };
  return { ok: true, value: { approvers, reviewers } };
}

/**
 * The `aliases` of an OWNERS_ALIASES file: alias name → member logins, all
 * lowercased. An alias with no members (only comments under it) is empty.
 */
export function parseOwnersAliases(yamlText: string): Parsed<OwnersAliases> {
  const loaded = loadYaml(yamlText, "OWNERS_ALIASES");
  if (!loaded.ok) return loaded;
  const doc = loaded.value;
  if (doc === undefined || doc === null) return { ok: true, value: {} };
  if (!isMapping(doc)) return { ok: false, error: "OWNERS_ALIASES: expected a mapping with an aliases key" };
  const aliases = doc["aliases"];
  if (aliases === undefined || aliases === null) return { ok: true, value: {} };
  if (!isMapping(aliases)) {
    return { ok: false, error: "OWNERS_ALIASES: aliases: expected a mapping of alias names to lists of logins" };
  }
  const errors: string[] = [];
  const out: OwnersAliases = Object.create(null) as OwnersAliases;
  for (const [rawName, members] of Object.entries(aliases)) {
    const name = normaliseName(rawName);
    if (name === null) {
      errors.push(`aliases: ${JSON.stringify(rawName)} is not a valid alias name`);
      continue;
    }
    const list = readNameList(members, `aliases.${name}`, errors);
    const existing = out[name];
    if (existing === undefined) out[name] = list;
    else for (const m of list) if (!existing.includes(m)) existing.push(m);
  }
  if (errors.length > 0) return { ok: false, error: `OWNERS_ALIASES: ${errors.join("; ")}` };
  return { ok: true, value: { ...out } };
}

/** Expand alias names in a list of logins (one level, as Prow does), lowercased and deduplicated, order kept. */
export function expandAliases(names: readonly string[], aliases: OwnersAliases): string[] {
  const lookup = new Map<string, readonly string[]>();
  for (const [k, v] of Object.entries(aliases)) lookup.set(k.trim().toLowerCase(), v);
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (login: string): void => {
    const l = login.trim().replace(/^@/, "").toLowerCase();
    if (l !== "" && !seen.has(l)) {
      seen.add(l);
      out.push(l);
    }
  };
  for (const n of names) {
    const key = n.trim().replace(/^@/, "").toLowerCase();
    const members = lookup.get(key);
    if (members !== undefined) members.forEach(add);
    else add(key);
  }
  return out;
}

/** The approvers of an OWNERS file as GitHub logins: aliases replaced by their members, lowercased, deduplicated. */
export function expandApprovers(owners: Pick<Owners, "approvers">, aliases: OwnersAliases): string[] {
  return expandAliases(owners.approvers, aliases);
}
