import { type Decimal, divRoundHalfUp, parseDecimal } from "./decimal.js";
import { type Currency, MINOR_DIGITS } from "./sources.js";

export const SATS_PER_BTC = 100_000_000n;

/**
 * Converts a fiat amount in minor units (cents, pence) to sats at `rate`
 * (major units per BTC, e.g. "61000.05" USD/BTC), rounded half up to the
 * nearest sat:
 *
 *   sats = minor × 10^8 / (rate × 10^minorDigits)
 *
 * computed exactly in bigint. `rate` may be the stored decimal text.
 * Throws RangeError on a negative amount or a non-positive/invalid rate.
 */
export function fiatToSats(minor: bigint, currency: Currency, rate: Decimal | string): bigint {
  if (minor < 0n) throw new RangeError(`fiatToSats: negative amount ${minor}`);
  const r = typeof rate === "string" ? parseDecimal(rate) : rate;
  if (r === null) throw new RangeError(`fiatToSats: rate "${String(rate)}" is not a decimal`);
  if (r.coef <= 0n || r.scale < 0 || !Number.isInteger(r.scale)) {
    throw new RangeError(`fiatToSats: rate must be positive`);
  }
  const digits = MINOR_DIGITS[currency];
  if (digits === undefined) throw new RangeError(`fiatToSats: unknown currency ${String(currency)}`);
  // rate in minor units per BTC = coef × 10^digits / 10^scale
  // sats = minor × 10^8 × 10^scale / (coef × 10^digits)
  const num = minor * SATS_PER_BTC * 10n ** BigInt(r.scale);
  const den = r.coef * 10n ** BigInt(digits);
  return divRoundHalfUp(num, den);
}
