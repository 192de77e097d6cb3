import { networkFromEnv } from "../config/env.js";
import type { Decimal } from "./decimal.js";
import { type PriceSource, parseMaxSpread, parsePriceSources } from "./sources.js";

export interface PriceConfig {
  sources: PriceSource[];
  /** Exact fraction: 0.02 for "2%". */
  maxSpread: Decimal;
  /** PRICE_MIN_SOURCES: fresh quotes that must agree before anything is priced. */
  minSources: number;
}

/** Market prices guard real money on mainnet: two sources must agree, and none may be made up. */
export const MAINNET_MIN_SOURCES = 2;

/**
 * Reads PRICE_SOURCES (default "coinbase,kraken,mempool:https://mempool.space"),
 * PRICE_MAX_SPREAD (default "2%") and PRICE_MIN_SOURCES (default 2 on BITCOIN_NETWORK=bitcoin,
 * where less than 2 and `fixed:` prices are refused; 1 elsewhere) from `env`.
 */
export function priceConfigFromEnv(
  env: Readonly<Record<string, string | undefined>>,
): { ok: true; config: PriceConfig } | { ok: false; error: string } {
  const s = parsePriceSources(env.PRICE_SOURCES);
  if (!s.ok) return s;
  const m = parseMaxSpread(env.PRICE_MAX_SPREAD);
  if (!m.ok) return m;
  const net = networkFromEnv(env);
  const mainnet = net.ok && net.mainnet;
  if (mainnet && s.sources.some((x) => x.kind === "fixed")) {
    return {
      ok: false,
      error:
        "PRICE_SOURCES: fixed prices are for development and are refused on BITCOIN_NETWORK=bitcoin; " +
        "list market sources (coinbase, kraken, mempool:<base-url>)",
    };
  }
  const text = env.PRICE_MIN_SOURCES?.trim() || undefined;
  let minSources = mainnet ? MAINNET_MIN_SOURCES : 1;
  if (text !== undefined) {
    if (!/^\d+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
      return { ok: false, error: `PRICE_MIN_SOURCES must be a whole number of at least 1, not "${text}"` };
    }
    minSources = Number(text);
    if (mainnet && minSources < MAINNET_MIN_SOURCES) {
      return {
        ok: false,
        error: `PRICE_MIN_SOURCES must be at least ${MAINNET_MIN_SOURCES} on BITCOIN_NETWORK=bitcoin (prices need two sources that agree), not ${text}`,
      };
    }
  }
  if (minSources > s.sources.length) {
    const n = s.sources.length;
    return { ok: false, error: `PRICE_MIN_SOURCES is ${minSources} but PRICE_SOURCES lists ${n} source${n === 1 ? "" : "s"}; list more sources` };
  }
  return { ok: true, config: { sources: s.sources, maxSpread: m.maxSpread, minSources } };
}
