/**
 * Exact non-negative decimal numbers for prices: value = coef / 10^scale.
 *
 * Prices arrive as decimal strings ("60000.12", "60000.10000") and must never
 * pass through a binary float. Everything here is bigint arithmetic.
 */
export interface Decimal {
  readonly coef: bigint;
  readonly scale: number;
}

/** Longest decimal string accepted from a price source; anything longer is junk. */
export const MAX_DECIMAL_TEXT = 40;
/** Most fractional digits accepted from a price source. */
export const MAX_DECIMAL_SCALE = 18;

const DECIMAL_RE = /^(\d+)(?:\.(\d+))?$/;

/**
 * Parses a plain non-negative decimal ("60000", "60000.10000", "0.02").
 * No sign, no exponent, no spaces, no leading/trailing dot. Returns null when
 * the text is not such a number.
 */
export function parseDecimal(text: string): Decimal | null {
  if (text.length === 0 || text.length > MAX_DECIMAL_TEXT) return null;
  const m = DECIMAL_RE.exec(text);
  if (!m) return null;
  const frac = m[2] ?? "";
  if (frac.length > MAX_DECIMAL_SCALE) return null;
  return normalize({ coef: BigInt(m[1] + frac), scale: frac.length });
}

/** Strips trailing fractional zeros: 60000.10000 → 60000.1 (scale 1). */
export function normalize(d: Decimal): Decimal {
  let { coef, scale } = d;
  while (scale > 0 && coef % 10n === 0n) {
    coef /= 10n;
    scale -= 1;
  }
  return { coef, scale };
}

export function decimalFromBigInt(n: bigint): Decimal {
  return { coef: n, scale: 0 };
}

/** Exact canonical text, trailing zeros removed: "61000.05". */
export function decimalToString(d: Decimal): string {
  const n = normalize(d);
  if (n.scale === 0) return n.coef.toString();
  const s = n.coef.toString().padStart(n.scale + 1, "0");
  return `${s.slice(0, s.length - n.scale)}.${s.slice(s.length - n.scale)}`;
}

function pow10(n: number): bigint {
  return 10n ** BigInt(n);
}

/** Rescales to a larger scale (exact). */
function widen(d: Decimal, scale: number): bigint {
  if (scale < d.scale) throw new RangeError("widen: cannot shrink scale");
  return d.coef * pow10(scale - d.scale);
}

export function compareDecimal(a: Decimal, b: Decimal): number {
  const s = Math.max(a.scale, b.scale);
  const x = widen(a, s);
  const y = widen(b, s);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function addDecimal(a: Decimal, b: Decimal): Decimal {
  const s = Math.max(a.scale, b.scale);
  return normalize({ coef: widen(a, s) + widen(b, s), scale: s });
}

/** a − b; throws when the result would be negative (prices never are). */
export function subDecimal(a: Decimal, b: Decimal): Decimal {
  const s = Math.max(a.scale, b.scale);
  const c = widen(a, s) - widen(b, s);
  if (c < 0n) throw new RangeError("subDecimal: negative result");
  return normalize({ coef: c, scale: s });
}

export function mulDecimal(a: Decimal, b: Decimal): Decimal {
  return normalize({ coef: a.coef * b.coef, scale: a.scale + b.scale });
}

/** x / 2, exact: 5x / 10. */
export function halfDecimal(a: Decimal): Decimal {
  return normalize({ coef: a.coef * 5n, scale: a.scale + 1 });
}

/** Median of a non-empty list (mean of the two middle values for even length). Exact. */
export function medianDecimal(values: readonly Decimal[]): Decimal {
  if (values.length === 0) throw new RangeError("medianDecimal: empty list");
  const sorted = [...values].sort(compareDecimal);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length % 2 === 1) return sorted[mid]!;
  return halfDecimal(addDecimal(sorted[mid - 1]!, sorted[mid]!));
}

/**
 * Rounds num/den (both ≥ 0, den > 0) half up to an integer.
 */
export function divRoundHalfUp(num: bigint, den: bigint): bigint {
  if (den <= 0n) throw new RangeError("divRoundHalfUp: denominator must be positive");
  if (num < 0n) throw new RangeError("divRoundHalfUp: numerator must be non-negative");
  return (2n * num + den) / (2n * den);
}

/**
 * Display text with exactly `places` fractional digits, rounded half up.
 * For messages only; stored values use decimalToString.
 */
export function formatDecimal(d: Decimal, places: number): string {
  let coef: bigint;
  if (d.scale <= places) coef = d.coef * pow10(places - d.scale);
  else coef = divRoundHalfUp(d.coef, pow10(d.scale - places));
  if (places === 0) return coef.toString();
  const s = coef.toString().padStart(places + 1, "0");
  return `${s.slice(0, s.length - places)}.${s.slice(s.length - places)}`;
}

/**
 * num / den as a percentage with `places` fractional digits, rounded half up.
 * (2000 / 61000 → "3.3" with places = 1.)
 */
export function percentText(num: Decimal, den: Decimal, places = 1): string {
  if (den.coef === 0n) throw new RangeError("percentText: zero denominator");
  const s = Math.max(num.scale, den.scale);
  const n = widen(num, s) * 100n * pow10(places);
  const q = divRoundHalfUp(n, widen(den, s));
  const text = formatDecimal({ coef: q, scale: places }, places);
  return text.includes(".") ? text.replace(/0+$/, "").replace(/\.$/, "") : text;
}
