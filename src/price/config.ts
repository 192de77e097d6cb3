import { type EnvRead, MAINNET_MIN_SOURCES, namesIn, readEnv } from "../config/env.js";
import type { Decimal } from "./decimal.js";
import type { PriceSource } from "./sources.js";

export interface PriceConfig {
  sources: PriceSource[];
  /** Exact fraction: 0.02 for "2%". */
  maxSpread: Decimal;
  /** PRICE_MIN_SOURCES: fresh quotes that must agree before anything is priced. */
  minSources: number;
}

export { MAINNET_MIN_SOURCES };

/** The price oracle's variables: the "Prices" group of the environment schema. */
export const PRICE_VARS = namesIn("Prices");

/**
 * PRICE_SOURCES, PRICE_MAX_SPREAD and PRICE_MIN_SOURCES as the schema reads them (the defaults are
 * there: PRICE_MIN_SOURCES is 2 on BITCOIN_NETWORK=bitcoin, 1 elsewhere), with the rules between
 * them and the network: on mainnet at least 2 sources and no `fixed:` prices; never more sources
 * required than listed. Reports the first problem.
 */
export function priceConfigFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  read: EnvRead = readEnv(env),
): { ok: true; config: PriceConfig } | { ok: false; error: string } {
  for (const name of PRICE_VARS) {
    const problems = read.errors.get(name);
    if (problems) return { ok: false, error: problems[0]! };
  }
  const { values: v, context } = read;
  const sources = v.PRICE_SOURCES.sources;
  if (context.mainnet && sources.some((x) => x.kind === "fixed")) {
    return {
      ok: false,
      error:
        "PRICE_SOURCES: fixed prices are for development and are refused on BITCOIN_NETWORK=bitcoin; " +
        "list market sources (coinbase, kraken, mempool:<base-url>)",
    };
  }
  const minSources = v.PRICE_MIN_SOURCES;
  if (context.mainnet && minSources < MAINNET_MIN_SOURCES) {
    return {
      ok: false,
      error: `PRICE_MIN_SOURCES must be at least ${MAINNET_MIN_SOURCES} on BITCOIN_NETWORK=bitcoin (prices need two sources that agree), not ${minSources}`,
    };
  }
  if (minSources > sources.length) {
    const n = sources.length;
    return { ok: false, error: `PRICE_MIN_SOURCES is ${minSources} but PRICE_SOURCES lists ${n} source${n === 1 ? "" : "s"}; list more sources` };
  }
  return { ok: true, config: { sources, maxSpread: v.PRICE_MAX_SPREAD.maxSpread, minSources } };
}
