/**
 * Durations as written in commands and config: `30s`, `10m`, `2h`, `7d`,
 * and combinations from the largest unit down such as `1h30m` or `1d 12h`.
 */

import type { Parsed } from "./money.js";

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000 } as const;
type Unit = keyof typeof UNIT_MS;
const UNIT_ORDER: readonly Unit[] = ["d", "h", "m", "s"];
const UNIT_NAMES: Record<Unit, string> = { d: "days", h: "hours", m: "minutes", s: "seconds" };

/** Longest accepted duration: one year (365 days). */
export const MAX_DURATION_MS = 365 * UNIT_MS.d;

const MAX_INPUT_LENGTH = 40;
const EXAMPLES = "30s, 10m, 2h, 7d or 1h30m";

function refuse(text: string, what: string, example?: string): Parsed<number> {
  return {
    ok: false,
    error: `${JSON.stringify(text)} is not a duration: ${what}. Durations look like ${EXAMPLES}${
      example === undefined ? "" : `; try ${example}`
    }.`,
  };
}

/**
 * Milliseconds for a duration like `0s`, `30s`, `10m`, `2h`, `24h`, `7d`,
 * `1h30m`, `1d 12h`. Units are d, h, m, s (case-insensitive), each used at
 * most once and from the largest down; spaces between parts are allowed.
 * A bare number, decimals (`1.5h`), other units and anything over
 * 365 days are refused.
 */
export function parseDuration(text: string): Parsed<number> {
  if (typeof text !== "string") return refuse(String(text), "it is not text");
  const s = text.trim();
  if (s === "") return { ok: false, error: `No duration given. Durations look like ${EXAMPLES}.` };
  if (s.length > MAX_INPUT_LENGTH) return refuse(s.slice(0, MAX_INPUT_LENGTH) + "…", "it is too long");

  const lower = s.toLowerCase();
  let i = 0;
  let total = 0;
  let lastRank = -1;
  let parts = 0;
  while (i < lower.length) {
    while (i < lower.length && (lower[i] === " " || lower[i] === "\t")) i++;
    if (i >= lower.length) break;
    const start = i;
    while (i < lower.length && lower[i]! >= "0" && lower[i]! <= "9") i++;
    const digits = lower.slice(start, i);
    if (digits === "") {
      if (lower[i] === "-") return refuse(s, "it is negative");
      return refuse(s, `expected a number at ${JSON.stringify(s.slice(start))}`);
    }
    if (lower[i] === "." || lower[i] === ",") {
      return refuse(s, "use whole numbers", "1h30m instead of 1.5h");
    }
    while (i < lower.length && lower[i] === " ") i++;
    const unit = lower[i];
    if (unit === undefined) {
      return refuse(s, `${JSON.stringify(digits)} has no unit (s, m, h or d)`, `${digits}m`);
    }
    if (!(unit in UNIT_MS) || /[a-z]/.test(lower[i + 1] ?? "")) {
      let j = i;
      while (j < lower.length && /[a-z]/.test(lower[j]!)) j++;
      const word = s.slice(i, Math.max(j, i + 1));
      return refuse(s, `unknown unit ${JSON.stringify(word)} (use s, m, h or d)`);
    }
    const rank = UNIT_ORDER.indexOf(unit as Unit);
    if (rank <= lastRank) {
      return refuse(
        s,
        rank === lastRank
          ? `${UNIT_NAMES[unit as Unit]} are given twice`
          : `write the largest unit first`,
        "1d12h or 1h30m",
      );
    }
    lastRank = rank;
    i++;
    parts++;
    // Six digits of anything is already beyond the maximum; no need to go further.
    const value = digits.replace(/^0+(?=.)/, "");
    if (value.length > 6) return refuse(s, "it is longer than 365 days");
    total += Number(value) * UNIT_MS[unit as Unit];
    if (total > MAX_DURATION_MS) return refuse(s, "it is longer than 365 days");
  }
  if (parts === 0) return refuse(s, "it has no number");
  return { ok: true, value: total };
}

/** Short human form of milliseconds: `1h30m`, `7d`, `0s`. Sub-second remainders are dropped. */
export function formatDuration(ms: number): string {
  let rest = Math.max(0, Math.floor(ms / 1000)) * 1000;
  if (rest === 0) return "0s";
  let out = "";
  for (const u of UNIT_ORDER) {
    const n = Math.floor(rest / UNIT_MS[u]);
    if (n > 0) {
      out += `${n}${u}`;
      rest -= n * UNIT_MS[u];
    }
  }
  return out;
}
