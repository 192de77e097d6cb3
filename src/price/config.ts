import type { Decimal } from "./decimal.js";
import { type PriceSource, parseMaxSpread, parsePriceSources } from "./sources.js";

export interface PriceConfig {
  sources: PriceSource[];
  /** Exact fraction: 0.02 for "2%". */
  maxSpread: Decimal;
}

/**
 * Reads PRICE_SOURCES (default "coinbase,kraken,mempool:https://mempool.space")
 * and PRICE_MAX_SPREAD (default "2%") from `env`.
 */
export function priceConfigFromEnv(
  env: Readonly<Record<string, string | undefined>>,
): { ok: true; config: PriceConfig } | { ok: false; error: string } {
  const s = parsePriceSources(env.PRICE_SOURCES);
  if (!s.ok) return s;
  const m = parseMaxSpread(env.PRICE_MAX_SPREAD);
  if (!m.ok) return m;
  return { ok: true, config: { sources: s.sources, maxSpread: m.maxSpread } };
}
