/**
 * The repository configuration, `.github/bounties.yml`.
 *
 * Input is what Probot's `context.config()` returns: the YAML already parsed
 * (and `_extends` resolved), or `null` when the repository has no file.
 * Validation is done with zod; every error is one English line starting
 * with the YAML path of the offending value, e.g.
 * `max_bounty: "10xyz" is not an amount: unknown currency "xyz"`.
 */

import { z } from "zod";
import { budgetWithin, formatBudgetInput, parseBudget, type Budget } from "../core/budget.js";
import { parseDuration } from "../core/duration.js";
import {
  CURRENCIES,
  currencyFromName,
  formatAmount,
  formatAmountInput,
  parseAmountDetailed,
  type Amount,
  type Currency,
} from "../core/money.js";

export interface RepoConfig {
  /** Currency of a bare number such as `/bounty 5`. */
  currency: Currency;
  /** The largest single bounty, one per accepted currency; a currency not listed is not accepted. */
  maxBounty: Amount[];
  funders: {
    users: string[];
    teams: string[];
    owners: boolean;
    /** `funders.budget`: the most one funder may pledge across the account within a rolling window; null: no limit. */
    budget: Budget | null;
  };
  labels: { bounty: string; auto: Array<{ label: string; amount: Amount }>; trustedSenders: string[] };
  charities: Charity[];
  claim: {
    /** Whether people named in `Co-authored-by:` trailers of a merged PR's commits share its bounty. */
    coauthors: boolean;
  };
  payout: {
    /** How long an award waits (for a revert) before it is paid: the file's `payout.hold`, never less than the app's PAYOUT_HOLD. */
    holdMs: number;
    /** Where an award goes when its recipient links no wallet in time (`payout.unclaimed`), or null. */
    unclaimed: Charity | null;
  };
  /** Paid questions (`/ask`) and what counts as an answer; survey responses follow the same rule. */
  questions: {
    /** A comment answers only with at least this many characters besides commands. */
    minReplyChars: number;
    /** An unanswered question's escrow returns to the asker after this long. */
    expiresMs: number;
    /** The most open questions one person may have asked across the account at once. */
    maxOpenPerAsker: number;
    /** The most answers one question to a list (`first N`) or a survey may pay. */
    maxResponders: number;
  };
  /** Expert lists addressed as `list:<name>`: lowercase logins. */
  lists: Array<{ name: string; members: string[] }>;
  tips: {
    /** A tip becomes payable after this long; `/tip cancel` by the tipper takes it back meanwhile. */
    holdMs: number;
    /** The most one funder may tip from the treasury per UTC day. */
    maxPerDay: Amount;
  };
  surveys: {
    /** `/survey … anyone`: accounts younger than this are not paid for a response. */
    minAccountAgeMs: number;
  };
  /** The input as given. */
  raw: unknown;
}

export interface Charity {
  id: string;
  name: string;
  address: string;
}

export type ConfigResult = { ok: true; config: RepoConfig } | { ok: false; errors: string[] };

export interface ParseConfigOptions {
  /** Checks a payout address; returns null when valid, else the reason it is not. */
  validateAddress: (address: string) => string | null;
  /** From the environment: the currency is a default the file may change; the hold is a floor it may only raise. */
  defaults?: { currency?: Currency; holdMs?: number };
  /**
   * The organization (or user) owning the repository. When given, a team
   * written as "other-org/slug" is refused, since teams are looked up in
   * the repository's organization only.
   */
  org?: string;
}

/** Config file name inside `.github/`, as passed to `context.config()`. */
export const CONFIG_FILE = "bounties.yml";

/**
 * deepmerge options for `context.config(CONFIG_FILE, undefined, CONFIG_MERGE_OPTIONS)`:
 * with `_extends`, lists in the repository's file replace the base file's
 * lists instead of being concatenated to them (which would otherwise turn
 * two `max_bounty` lists into duplicate currencies).
 */
export const CONFIG_MERGE_OPTIONS = Object.freeze({
  arrayMerge: (_target: unknown[], source: unknown[]): unknown[] => source,
});

/** What `max_bounty` is when the file does not set it. */
function defaultMaxBounty(): Amount[] {
  return [
    { currency: "USD", minor: 100_000n },
    { currency: "EUR", minor: 100_000n },
    { currency: "GBP", minor: 100_000n },
    { currency: "BTC", minor: 1_000_000n },
  ];
}

const DEFAULT_BOUNTY_LABEL = "bounty";
/** `payout.hold` when neither the file nor the app's PAYOUT_HOLD sets it. */
export const DEFAULT_HOLD_MS = 24 * 3_600_000;

function defaultConfig(currency: Currency, holdMs: number, raw: unknown): RepoConfig {
  return {
    currency,
    maxBounty: defaultMaxBounty(),
    funders: { users: [], teams: [], owners: false, budget: null },
    labels: { bounty: DEFAULT_BOUNTY_LABEL, auto: [], trustedSenders: [] },
    charities: [],
    claim: { coauthors: false },
    payout: { holdMs, unclaimed: null },
    ...featureDefaults(currency),
    raw,
  };
}

/** The paid-questions, lists, tips and surveys sections when the file does not set them. */
function featureDefaults(currency: Currency): Pick<RepoConfig, "questions" | "lists" | "tips" | "surveys"> {
  return {
    questions: { ...DEFAULT_QUESTIONS },
    lists: [],
    tips: { holdMs: DEFAULT_TIP_HOLD_MS, maxPerDay: defaultTipsPerDay(currency) },
    surveys: { minAccountAgeMs: DEFAULT_SURVEY_MIN_ACCOUNT_AGE_MS },
  };
}

export const DEFAULT_QUESTIONS = Object.freeze({ minReplyChars: 20, expiresMs: 7 * 86_400_000, maxOpenPerAsker: 5, maxResponders: 10 });
export const DEFAULT_TIP_HOLD_MS = 3_600_000;
export const DEFAULT_SURVEY_MIN_ACCOUNT_AGE_MS = 30 * 86_400_000;
/** `tips.max_per_day` by default: 50 in the repository's fiat currency, or 50,000 sats for bitcoin repositories. */
function defaultTipsPerDay(currency: Currency): Amount {
  return currency === "BTC" ? { currency: "BTC", minor: 50_000n } : { currency, minor: 5_000n };
}

function deepFreeze<T>(o: T): T {
  if (typeof o === "object" && o !== null && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

/** What `parseRepoConfig(null, …)` gives without environment defaults. Frozen: copy before changing. */
export const DEFAULT_CONFIG: RepoConfig = deepFreeze(defaultConfig("USD", DEFAULT_HOLD_MS, null));

/** One line per key, to generate the README and `/bounty help` from one place. */
export interface ConfigDocEntry {
  key: string;
  type: string;
  default: string;
  description: string;
  example?: string;
}

export const CONFIG_DOC: readonly ConfigDocEntry[] = deepFreeze([
  {
    key: "currency",
    type: "usd | eur | gbp | btc | sats",
    default: "usd (or the default currency the app is run with)",
    description:
      "Currency of a bare number, e.g. `/bounty 5`. `btc` and `sats` both select bitcoin, and a bare number is then read as BTC (up to 8 decimals): write `50000sats` for sats.",
    example: "currency: eur",
  },
  {
    key: "max_bounty",
    type: "amount, or list of amounts",
    default: "[1000usd, 1000eur, 1000gbp, 1000000sats]",
    description:
      "Largest single bounty, one per currency. When set, it replaces the default list, and pledges in a currency not listed are refused.",
    example: "max_bounty: [500usd, 250000sats]",
  },
  {
    key: "funders.users",
    type: "list of GitHub logins",
    default: "[]",
    description: "People who may place bounties.",
    example: "funders: { users: [alice, bob] }",
  },
  {
    key: "funders.teams",
    type: "list of team slugs",
    default: "[]",
    description: "Teams of the repository's organization whose members may place bounties (`sig-node-leads` or `org/sig-node-leads`).",
  },
  {
    key: "funders.owners",
    type: "true | false",
    default: "false",
    description: "Whether approvers in the root OWNERS file (aliases expanded) may place bounties.",
  },
  {
    key: "funders.budget",
    type: "amount/duration",
    default: "unset (no limit)",
    description:
      "The most one funder may have pledged (open and awarded pledges, valued when pledged) across all repositories of the account within a rolling window; a pledge over it is refused with what is left. A label pledge counts against whoever added the label.",
    example: "funders: { budget: 500usd/30d }",
  },
  {
    key: "labels.bounty",
    type: "label name",
    default: DEFAULT_BOUNTY_LABEL,
    description: "Label put on issues that carry a bounty.",
  },
  {
    key: "labels.auto",
    type: "map of label name to amount",
    default: "{}",
    description: "Adding one of these labels places a bounty of that amount.",
    example: 'labels: { auto: { "bounty/small": 20usd } }',
  },
  {
    key: "labels.trusted_senders",
    type: "list of GitHub logins (bots allowed)",
    default: "[]",
    description: "Besides funders, accounts whose labelling triggers `labels.auto` bounties, e.g. `k8s-ci-robot`.",
  },
  {
    key: "charities",
    type: "map of id to {name, address}",
    default: "{}",
    description: "Charities a contributor may donate a bounty to; `address` is a Bitcoin address.",
    example: "charities: { coin-center: { name: Coin Center, address: bc1q… } }",
  },
  {
    key: "claim.coauthors",
    type: "true | false",
    default: "false",
    description:
      "Whether each GitHub user named in a `Co-authored-by:` trailer of a merged pull request's commits gets an equal share of the bounty, beside the PR's author. Bots never get a share.",
    example: "claim: { coauthors: true }",
  },
  {
    key: "payout.hold",
    type: "duration (30s, 10m, 2h, 7d, 1h30m)",
    default: "the PAYOUT_HOLD the app is run with (24h)",
    description:
      "How long an award waits before it is paid. A revert of the merged pull request merged within this time cancels the award. The app's PAYOUT_HOLD is a floor: a shorter hold here is raised to it.",
    example: "payout: { hold: 48h }",
  },
  {
    key: "payout.unclaimed",
    type: "charity id",
    default: "unset",
    description:
      "One of `charities`: where an award goes when its recipient links no wallet with `/wallet` within the unclaimed period. Unset, the award waits for the recipient.",
    example: "payout: { unclaimed: coin-center }",
  },
  {
    key: "questions.min_reply_chars",
    type: "whole number",
    default: String(DEFAULT_QUESTIONS.minReplyChars),
    description:
      "A comment answers a question (or a survey) only if it has at least this many characters besides commands. Edits and deletions never count again; replies by bots or by the asker never count.",
    example: "questions: { min_reply_chars: 40 }",
  },
  {
    key: "questions.expires",
    type: "duration",
    default: "7d",
    description: "An unanswered question's escrow returns to the asker after this long (what a list question has not paid out, too).",
  },
  {
    key: "questions.max_open_per_asker",
    type: "whole number",
    default: String(DEFAULT_QUESTIONS.maxOpenPerAsker),
    description: "The most unanswered questions one person may have open at once.",
  },
  {
    key: "questions.max_responders",
    type: "whole number (1–100)",
    default: String(DEFAULT_QUESTIONS.maxResponders),
    description: "The largest `first N` of a question to a list or of a survey.",
  },
  {
    key: "lists",
    type: "map of list name to list of GitHub logins",
    default: "{}",
    description: "Expert lists asked with `/ask list:<name> <amount>`, beside GitHub teams (`/ask @org/team …`).",
    example: "lists: { sig-docs-experts: [alice, bob] }",
  },
  {
    key: "tips.hold",
    type: "duration",
    default: "1h",
    description: "A tip becomes payable after this long; meanwhile `/tip cancel @user` by the tipper takes it back.",
  },
  {
    key: "tips.max_per_day",
    type: "amount",
    default: "50 in the repository's currency (50000sats for bitcoin)",
    description: "The most one funder may tip from the treasury per UTC day (besides `funders.budget`).",
    example: "tips: { max_per_day: 20usd }",
  },
  {
    key: "surveys.min_account_age",
    type: "duration",
    default: "30d",
    description: "`/survey … anyone`: responses from accounts younger than this are not paid.",
  },
]);

/** The documentation as a Markdown table. */
export function configDocMarkdown(): string {
  const esc = (s: string): string => s.replace(/\|/g, "\\|");
  const rows = CONFIG_DOC.map((d) => `| \`${d.key}\` | ${esc(d.type)} | ${esc(d.default)} | ${esc(d.description)} |`);
  return ["| key | type | default | meaning |", "| --- | --- | --- | --- |", ...rows].join("\n");
}

// ---------------------------------------------------------------------------
// Helpers on a parsed config

/** The maximum for one bounty in `currency`, or undefined when the repository does not accept that currency. */
export function maxBountyFor(config: Pick<RepoConfig, "maxBounty">, currency: Currency): Amount | undefined {
  return config.maxBounty.find((a) => a.currency === currency);
}

// ---------------------------------------------------------------------------
// Validation

const LOGIN_RE = /^[a-z0-9][a-z0-9-]{0,38}$/;
const BOT_LOGIN_RE = /^[a-z0-9][a-z0-9-]{0,38}(?:\[bot\])?$/;
const TEAM_SLUG_RE = /^[a-z0-9][a-z0-9_.-]{0,99}$/;
const CHARITY_ID_RE = /^[a-z0-9][a-z0-9-]{0,63}$/;
const MAX_LABEL_LENGTH = 50;

type Ctx = z.RefinementCtx;

function show(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (v === null) return "nothing";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  return String(v);
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

function unknownKeyMessage(key: string, known: readonly string[]): string {
  const k = key.toLowerCase().replace(/-/g, "_");
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = editDistance(k, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  const hint = best !== undefined && bestDistance <= Math.max(2, Math.floor(best.length / 3)) ? ` (did you mean "${best}"?)` : "";
  return `unknown setting${hint}; known settings here are ${known.join(", ")}`;
}

/**
 * A mapping with a fixed set of keys, each validated by its own schema.
 * Unknown keys are reported one by one (with a did-you-mean), alongside any
 * problems in the known keys, so that one run shows every error.
 */
function section<S extends Record<string, z.ZodType>>(shape: S, what: string) {
  const known = Object.keys(shape);
  type Out = { [K in keyof S]: z.output<S[K]> };
  return z.unknown().transform((v, ctx): Out | undefined => {
    if (v === null || v === undefined) return undefined;
    if (!isMapping(v)) {
      ctx.addIssue({ code: "custom", message: `expected a mapping with ${what}, got ${show(v)}` });
      return z.NEVER;
    }
    let failed = false;
    for (const key of Object.keys(v)) {
      if (!known.includes(key)) {
        failed = true;
        ctx.addIssue({ code: "custom", path: [key], message: unknownKeyMessage(key, known) });
      }
    }
    const out: Record<string, unknown> = {};
    for (const key of known) {
      const r = shape[key]!.safeParse(v[key]);
      if (r.success) {
        out[key] = r.data;
      } else {
        failed = true;
        for (const issue of r.error.issues) {
          ctx.addIssue({ code: "custom", path: [key, ...issue.path], message: issue.message });
        }
      }
    }
    return failed ? z.NEVER : (out as Out);
  });
}

/** An amount written as text (or a plain YAML number) in the config's currency. */
function amountValue(currency: Currency) {
  return z.unknown().transform((v, ctx): Amount => {
    let text: string;
    if (typeof v === "string") text = v;
    else if (typeof v === "number" && Number.isFinite(v) && !/e/i.test(String(v))) text = String(v);
    else {
      ctx.addIssue({ code: "custom", message: `expected an amount like "1000usd", got ${show(v)}` });
      return z.NEVER;
    }
    const r = parseAmountDetailed(text, currency);
    if (!r.ok) {
      const example = r.example === undefined ? "" : ` (e.g. "${r.example}")`;
      ctx.addIssue({ code: "custom", message: `${JSON.stringify(text)} is not an amount: ${r.reason}${example}` });
      return z.NEVER;
    }
    return r.value;
  });
}

function maxBountyValue(currency: Currency) {
  const one = amountValue(currency);
  return z.unknown().transform((v, ctx): Amount[] | undefined => {
    if (v === null || v === undefined) return undefined;
    const items = Array.isArray(v) ? v : [v];
    if (items.length === 0) {
      ctx.addIssue({
        code: "custom",
        message: "the list is empty, so no bounty could ever be placed; list at least one amount, or remove the key for the defaults",
      });
      return z.NEVER;
    }
    const out: Amount[] = [];
    const seen = new Map<Currency, string>();
    let failed = false;
    items.forEach((item, i) => {
      const r = one.safeParse(item);
      if (!r.success) {
        failed = true;
        for (const issue of r.error.issues) {
          ctx.addIssue({ code: "custom", path: Array.isArray(v) ? [i] : [], message: issue.message });
        }
        return;
      }
      const previous = seen.get(r.data.currency);
      if (previous !== undefined) {
        failed = true;
        ctx.addIssue({
          code: "custom",
          path: [i],
          message: `a second maximum for ${r.data.currency} (${show(item)}, after ${previous}); keep one`,
        });
        return;
      }
      seen.set(r.data.currency, show(item));
      out.push(r.data);
    });
    if (failed) return z.NEVER;
    // Stable order, whatever the file's order.
    return CURRENCIES.flatMap((c) => out.filter((a) => a.currency === c));
  });
}

function loginList(what: string, re: RegExp, invalid: string) {
  return z.unknown().transform((v, ctx): string[] => {
    if (v === null || v === undefined) return [];
    if (!Array.isArray(v)) {
      ctx.addIssue({ code: "custom", message: `expected a list of ${what}, got ${show(v)}` });
      return z.NEVER;
    }
    const out: string[] = [];
    v.forEach((item, i) => {
      const s = typeof item === "string" ? item.trim().replace(/^@/, "").toLowerCase() : null;
      if (s === null || !re.test(s)) {
        ctx.addIssue({ code: "custom", path: [i], message: `${show(item)} is not ${invalid}` });
      } else if (!out.includes(s)) {
        out.push(s);
      }
    });
    return out;
  });
}

function teamList(org: string | undefined) {
  return z.unknown().transform((v, ctx): string[] => {
    if (v === null || v === undefined) return [];
    if (!Array.isArray(v)) {
      ctx.addIssue({ code: "custom", message: `expected a list of team slugs like "sig-node-leads", got ${show(v)}` });
      return z.NEVER;
    }
    const out: string[] = [];
    v.forEach((item, i) => {
      if (typeof item !== "string") {
        ctx.addIssue({ code: "custom", path: [i], message: `${show(item)} is not a team slug` });
        return;
      }
      const s = item.trim().replace(/^@/, "").toLowerCase();
      const slash = s.indexOf("/");
      const owner = slash === -1 ? undefined : s.slice(0, slash);
      const slug = slash === -1 ? s : s.slice(slash + 1);
      if (owner !== undefined && !LOGIN_RE.test(owner)) {
        ctx.addIssue({ code: "custom", path: [i], message: `${show(item)}: "${owner}" is not an organization name` });
        return;
      }
      if (!TEAM_SLUG_RE.test(slug)) {
        ctx.addIssue({ code: "custom", path: [i], message: `${show(item)} is not a team slug like "sig-node-leads"` });
        return;
      }
      if (owner !== undefined && org !== undefined && owner !== org.toLowerCase()) {
        ctx.addIssue({
          code: "custom",
          path: [i],
          message: `${show(item)} is a team of "${owner}", but only teams of "${org.toLowerCase()}" can be checked`,
        });
        return;
      }
      if (!out.includes(slug)) out.push(slug);
    });
    return out;
  });
}

const booleanValue = z.unknown().transform((v, ctx): boolean => {
  if (v === null || v === undefined) return false;
  if (typeof v !== "boolean") {
    ctx.addIssue({ code: "custom", message: `expected true or false, got ${show(v)}` });
    return z.NEVER;
  }
  return v;
});

function labelName(v: unknown, ctx: Ctx, path: PropertyKey[] = []): string | undefined {
  if (typeof v !== "string" || v.trim() === "") {
    ctx.addIssue({ code: "custom", path, message: `expected a label name, got ${show(v)}` });
    return undefined;
  }
  const s = v.trim();
  if (Array.from(s).length > MAX_LABEL_LENGTH) {
    ctx.addIssue({
      code: "custom",
      path,
      message: `${show(v)} is longer than GitHub allows for a label (${MAX_LABEL_LENGTH} characters)`,
    });
    return undefined;
  }
  return s;
}

const bountyLabelValue = z.unknown().transform((v, ctx): string => {
  if (v === null || v === undefined) return DEFAULT_BOUNTY_LABEL;
  return labelName(v, ctx) ?? z.NEVER;
});

function autoLabelsValue(currency: Currency) {
  const amount = amountValue(currency);
  return z.unknown().transform((v, ctx): Array<{ label: string; amount: Amount }> => {
    if (v === null || v === undefined) return [];
    if (!isMapping(v)) {
      ctx.addIssue({ code: "custom", message: `expected a mapping of label names to amounts, got ${show(v)}` });
      return z.NEVER;
    }
    const out: Array<{ label: string; amount: Amount }> = [];
    const seen = new Map<string, string>();
    for (const [key, value] of Object.entries(v)) {
      const label = labelName(key, ctx, [key]);
      const r = amount.safeParse(value);
      if (!r.success) {
        for (const issue of r.error.issues) ctx.addIssue({ code: "custom", path: [key], message: issue.message });
        continue;
      }
      if (label === undefined) continue;
      const folded = label.toLowerCase();
      const previous = seen.get(folded);
      if (previous !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: [key],
          message: `same label as "${previous}" (GitHub label names ignore case); keep one`,
        });
        continue;
      }
      seen.set(folded, key);
      out.push({ label, amount: r.data });
    }
    return out;
  });
}

function charitiesValue(validateAddress: (address: string) => string | null) {
  return z.unknown().transform((v, ctx): RepoConfig["charities"] => {
    if (v === null || v === undefined) return [];
    if (!isMapping(v)) {
      ctx.addIssue({
        code: "custom",
        message: `expected a mapping of charity ids to {name, address}, got ${show(v)}`,
      });
      return z.NEVER;
    }
    const out: RepoConfig["charities"] = [];
    for (const [id, entry] of Object.entries(v)) {
      if (!CHARITY_ID_RE.test(id)) {
        ctx.addIssue({
          code: "custom",
          path: [id],
          message: `${JSON.stringify(id)} is not a charity id: use lowercase letters, digits and hyphens, like "coin-center"`,
        });
        continue;
      }
      if (!isMapping(entry)) {
        ctx.addIssue({ code: "custom", path: [id], message: `expected a mapping with name and address, got ${show(entry)}` });
        continue;
      }
      let ok = true;
      for (const key of Object.keys(entry)) {
        if (key !== "name" && key !== "address") {
          ctx.addIssue({ code: "custom", path: [id, key], message: unknownKeyMessage(key, ["name", "address"]) });
          ok = false;
        }
      }
      const name = entry["name"];
      if (typeof name !== "string" || name.trim() === "") {
        ctx.addIssue({ code: "custom", path: [id, "name"], message: `expected the charity's name, got ${show(name)}` });
        ok = false;
      }
      const address = entry["address"];
      if (typeof address !== "string" || address.trim() === "") {
        ctx.addIssue({ code: "custom", path: [id, "address"], message: `expected a Bitcoin address, got ${show(address)}` });
        ok = false;
      } else {
        const problem = validateAddress(address.trim());
        if (problem !== null) {
          ctx.addIssue({ code: "custom", path: [id, "address"], message: problem });
          ok = false;
        }
      }
      if (ok) out.push({ id, name: (name as string).trim(), address: (address as string).trim() });
    }
    return out;
  });
}

const durationValue = z.unknown().transform((v, ctx): number | undefined => {
  if (v === null || v === undefined) return undefined;
  if (typeof v !== "string") {
    ctx.addIssue({ code: "custom", message: `expected a duration like "24h" or "0s", got ${show(v)}` });
    return z.NEVER;
  }
  const r = parseDuration(v);
  if (!r.ok) {
    ctx.addIssue({ code: "custom", message: r.error });
    return z.NEVER;
  }
  return r.value;
});

/** A charity id; whether it names one of `charities` is checked across sections. */
const charityIdValue = z.unknown().transform((v, ctx): string | undefined => {
  if (v === null || v === undefined) return undefined;
  const s = typeof v === "string" ? v.trim().toLowerCase() : null;
  if (s === null || !CHARITY_ID_RE.test(s)) {
    ctx.addIssue({ code: "custom", message: `${show(v)} is not a charity id like "coin-center"` });
    return z.NEVER;
  }
  return s;
});

function budgetValue(currency: Currency) {
  return z.unknown().transform((v, ctx): Budget | undefined => {
    if (v === null || v === undefined) return undefined;
    if (typeof v !== "string") {
      ctx.addIssue({ code: "custom", message: `expected a budget like "500usd/30d", got ${show(v)}` });
      return z.NEVER;
    }
    const r = parseBudget(v.trim(), currency);
    if (!r.ok) {
      ctx.addIssue({ code: "custom", message: r.error });
      return z.NEVER;
    }
    return r.value;
  });
}

const currencyValue = z.unknown().transform((v, ctx): Currency | undefined => {
  if (v === null || v === undefined) return undefined;
  const c = typeof v === "string" ? currencyFromName(v) : undefined;
  if (c === undefined) {
    ctx.addIssue({ code: "custom", message: `${show(v)} is not a currency; use usd, eur, gbp, btc or sats` });
    return z.NEVER;
  }
  return c;
});

/** A value that may be left empty (null or missing), else read by `inner`. */
function optional<T>(inner: z.ZodType<T>) {
  return z.unknown().transform((v, ctx): T | undefined => {
    if (v === null || v === undefined) return undefined;
    const r = inner.safeParse(v);
    if (r.success) return r.data;
    for (const issue of r.error.issues) ctx.addIssue({ code: "custom", path: issue.path, message: issue.message });
    return z.NEVER;
  });
}

function wholeNumber(min: number, max: number) {
  return z.unknown().transform((v, ctx): number | undefined => {
    if (v === null || v === undefined) return undefined;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      ctx.addIssue({ code: "custom", message: `expected a whole number from ${min} to ${max}, got ${show(v)}` });
      return z.NEVER;
    }
    return v;
  });
}

const LIST_NAME_RE = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
const listsValue = z.unknown().transform((v, ctx): RepoConfig["lists"] => {
  if (v === null || v === undefined) return [];
  if (!isMapping(v)) {
    ctx.addIssue({ code: "custom", message: `expected a mapping of list names to lists of GitHub logins, got ${show(v)}` });
    return z.NEVER;
  }
  const out: RepoConfig["lists"] = [];
  const members = loginList("GitHub logins", LOGIN_RE, "a GitHub login");
  for (const [name, value] of Object.entries(v)) {
    const folded = name.trim().toLowerCase();
    if (!LIST_NAME_RE.test(folded)) {
      ctx.addIssue({ code: "custom", path: [name], message: `${JSON.stringify(name)} is not a list name: use letters, digits, "-", "_" or "."` });
      continue;
    }
    const r = members.safeParse(value);
    if (!r.success) {
      for (const issue of r.error.issues) ctx.addIssue({ code: "custom", path: [name, ...issue.path], message: issue.message });
      continue;
    }
    if (r.data.length === 0) {
      ctx.addIssue({ code: "custom", path: [name], message: "the list is empty; name at least one person, or remove it" });
      continue;
    }
    if (out.some((l) => l.name === folded)) {
      ctx.addIssue({ code: "custom", path: [name], message: "a second list of the same name (names ignore case); keep one" });
      continue;
    }
    out.push({ name: folded, members: r.data });
  }
  return out;
});

function buildSchema(currency: Currency, opts: ParseConfigOptions) {
  const shape = {
    currency: currencyValue,
    max_bounty: maxBountyValue(currency),
    funders: section(
      {
        users: loginList("GitHub logins", LOGIN_RE, "a GitHub login"),
        teams: teamList(opts.org),
        owners: booleanValue,
        budget: budgetValue(currency),
      },
      "users, teams, owners and budget",
    ),
    labels: section(
      {
        bounty: bountyLabelValue,
        auto: autoLabelsValue(currency),
        trusted_senders: loginList("GitHub logins", BOT_LOGIN_RE, "a GitHub login (bots end in [bot])"),
      },
      "bounty, auto and trusted_senders",
    ),
    charities: charitiesValue(opts.validateAddress),
    claim: section({ coauthors: booleanValue }, "coauthors"),
    payout: section({ hold: durationValue, unclaimed: charityIdValue }, "hold and unclaimed"),
    questions: section(
      {
        min_reply_chars: wholeNumber(1, 10_000),
        expires: durationValue,
        max_open_per_asker: wholeNumber(1, 1000),
        max_responders: wholeNumber(1, 100),
      },
      "min_reply_chars, expires, max_open_per_asker and max_responders",
    ),
    lists: listsValue,
    tips: section({ hold: durationValue, max_per_day: optional(amountValue(currency)) }, "hold and max_per_day"),
    surveys: section({ min_account_age: durationValue }, "min_account_age"),
  };
  return shape;
}

/**
 * The repository's config within what the org's `.github` file allows: its file may name only
 * funders (users, teams) the org's file names, may turn `owners` on only if the org's file does,
 * and its budget may not exceed the org's, which applies when the repository sets none. People
 * with write access stay funders whatever either file says. Errors read like the schema's.
 */
export function boundByOrg(config: RepoConfig, org: RepoConfig, owner: string): ConfigResult {
  const errors: string[] = [];
  const from = `${owner}/.github`;
  const outside = (mine: string[], theirs: string[]) => mine.filter((x) => !theirs.includes(x));
  const users = outside(config.funders.users, org.funders.users);
  if (users.length) {
    errors.push(
      `funders.users: ${users.map((u) => `"${u}"`).join(", ")} ${users.length === 1 ? "is" : "are"} not among the funders ${from} allows ` +
        (org.funders.users.length ? `(${org.funders.users.join(", ")})` : "(it lists none)"),
    );
  }
  const teams = outside(config.funders.teams, org.funders.teams);
  if (teams.length) {
    errors.push(
      `funders.teams: ${teams.map((t) => `"${t}"`).join(", ")} ${teams.length === 1 ? "is" : "are"} not among the teams ${from} allows ` +
        (org.funders.teams.length ? `(${org.funders.teams.join(", ")})` : "(it lists none)"),
    );
  }
  if (config.funders.owners && !org.funders.owners) {
    errors.push(`funders.owners: ${from} does not let OWNERS approvers fund, so a repository cannot turn it on`);
  }
  let budget = config.funders.budget;
  if (org.funders.budget !== null) {
    if (budget === null) budget = org.funders.budget;
    else if (!budgetWithin(budget, org.funders.budget)) {
      errors.push(
        `funders.budget: ${formatBudgetInput(budget)} is not within ${from}'s ${formatBudgetInput(org.funders.budget)}; ` +
          "use the same currency, no more money and a window at least as long",
      );
    }
  }
  if (errors.length) return { ok: false, errors };
  return { ok: true, config: { ...config, funders: { ...config.funders, budget } } };
}

/** `a.b[2]."odd key"` from a zod issue path. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else {
      const s = String(seg);
      const part = /^[A-Za-z0-9_-]+$/.test(s) ? s : JSON.stringify(s);
      out += out === "" ? part : `.${part}`;
    }
  }
  return out;
}

/**
 * Validate `.github/bounties.yml` as returned by `context.config()`.
 * `null`/`undefined` (no file) gives the defaults. All problems are
 * reported at once, each as `path: what is wrong`.
 */
export function parseRepoConfig(raw: unknown, opts: ParseConfigOptions): ConfigResult {
  const envCurrency = opts.defaults?.currency ?? "USD";
  const envHoldMs = opts.defaults?.holdMs ?? DEFAULT_HOLD_MS;
  if (raw === null || raw === undefined) return { ok: true, config: defaultConfig(envCurrency, envHoldMs, raw ?? null) };
  if (!isMapping(raw)) {
    return {
      ok: false,
      errors: [`the config must be a mapping of settings (like "currency: usd"), got ${show(raw)}`],
    };
  }

  const input: Record<string, unknown> = { ...raw };
  delete input["_extends"]; // Probot's inheritance key, normally already removed

  // The currency is needed to read the amounts; resolve it first.
  const currencyResult = currencyValue.safeParse(input["currency"]);
  const currency: Currency = (currencyResult.success ? currencyResult.data : undefined) ?? envCurrency;

  const schema = section(buildSchema(currency, opts), "settings");
  const result = schema.safeParse(input);
  if (!result.success) {
    return {
      ok: false,
      errors: result.error.issues.map((issue) => {
        const where = formatPath(issue.path);
        return where === "" ? issue.message : `${where}: ${issue.message}`;
      }),
    };
  }
  const errors: string[] = [];
  const data = result.data!;

  const config: RepoConfig = {
    currency,
    maxBounty: data.max_bounty ?? defaultMaxBounty(),
    funders: {
      users: data.funders?.users ?? [],
      teams: data.funders?.teams ?? [],
      owners: data.funders?.owners ?? false,
      budget: data.funders?.budget ?? null,
    },
    labels: {
      bounty: data.labels?.bounty ?? DEFAULT_BOUNTY_LABEL,
      auto: data.labels?.auto ?? [],
      trustedSenders: data.labels?.trusted_senders ?? [],
    },
    charities: data.charities,
    claim: { coauthors: data.claim?.coauthors ?? false },
    // PAYOUT_HOLD is the operator's floor: a repository may wait longer, never less.
    payout: { holdMs: Math.max(data.payout?.hold ?? envHoldMs, envHoldMs), unclaimed: null },
    questions: {
      minReplyChars: data.questions?.min_reply_chars ?? DEFAULT_QUESTIONS.minReplyChars,
      expiresMs: data.questions?.expires ?? DEFAULT_QUESTIONS.expiresMs,
      maxOpenPerAsker: data.questions?.max_open_per_asker ?? DEFAULT_QUESTIONS.maxOpenPerAsker,
      maxResponders: data.questions?.max_responders ?? DEFAULT_QUESTIONS.maxResponders,
    },
    lists: data.lists,
    tips: { holdMs: data.tips?.hold ?? DEFAULT_TIP_HOLD_MS, maxPerDay: data.tips?.max_per_day ?? defaultTipsPerDay(currency) },
    surveys: { minAccountAgeMs: data.surveys?.min_account_age ?? DEFAULT_SURVEY_MIN_ACCOUNT_AGE_MS },
    raw,
  };
  if (data.questions?.expires === 0) errors.push("questions.expires: a question needs time to be answered; use a duration like 7d");

  // Checks across sections.
  if (data.currency !== undefined && data.max_bounty !== undefined && maxBountyFor(config, currency) === undefined) {
    errors.push(
      `max_bounty: has no maximum for ${currency}, the repository's currency, so "/bounty 5" could never work; add one like "${formatAmountInput(
        { currency, minor: currency === "BTC" ? 1_000_000n : 100_000n },
      )}"`,
    );
  }
  const bountyLabel = config.labels.bounty.toLowerCase();
  for (const { label, amount } of config.labels.auto) {
    const where = `labels.auto.${formatPath([label])}`;
    if (label.toLowerCase() === bountyLabel) {
      errors.push(`${where}: is the same label as labels.bounty; the bot puts that label on every bounty, so pick another name`);
      continue;
    }
    const max = maxBountyFor(config, amount.currency);
    if (max === undefined) {
      errors.push(`${where}: ${formatAmount(amount)} is in ${amount.currency}, which max_bounty does not accept`);
    } else if (amount.minor > max.minor) {
      errors.push(`${where}: ${formatAmount(amount)} is more than max_bounty allows for ${amount.currency}, which is ${formatAmount(max)}`);
    }
  }
  const unclaimed = data.payout?.unclaimed;
  if (unclaimed !== undefined) {
    const charity = config.charities.find((c) => c.id === unclaimed);
    if (charity) config.payout.unclaimed = charity;
    else {
      const known = config.charities.map((c) => c.id);
      errors.push(
        `payout.unclaimed: "${unclaimed}" is not one of this repository's charities` +
          (known.length ? ` (${known.join(", ")})` : "; add it under `charities` with a name and an address"),
      );
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, config };
}
