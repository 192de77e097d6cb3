import {
  type Decimal,
  compareDecimal,
  decimalToString,
  formatDecimal,
  medianDecimal,
  mulDecimal,
  percentText,
  subDecimal,
} from "./decimal.js";
import { DEFAULT_PLAUSIBLE, DEFAULT_TIMEOUT_MS, type PlausibleRange, fetchQuote } from "./adapters.js";
import { type Currency, type PriceSource, spreadText } from "./sources.js";

/** Quotes older than this are not used (10 minutes). */
export const DEFAULT_MAX_AGE_MS = 10 * 60 * 1000;

export interface PriceOracleOptions {
  sources: readonly PriceSource[];
  /** Largest accepted (max − min) / median, as an exact fraction (0.02 for 2%). */
  maxSpread: Decimal;
  /** Fresh quotes needed before anything is priced (PRICE_MIN_SOURCES); default 1. */
  minSources?: number;
  /** Freshness window for quotes; default 10 minutes. */
  maxAgeMs?: number;
  /** Per-request timeout; default 5 s. */
  timeoutMs?: number;
  /** Clock, milliseconds since the epoch; default Date.now. */
  now?: () => number;
  /** Default: the global fetch. */
  fetch?: typeof globalThis.fetch;
  plausible?: PlausibleRange;
}

/** A good answer from one source. */
export interface Quote {
  source: string;
  currency: Currency;
  /** Major units per BTC, exact. */
  price: Decimal;
  /** The same, as exact decimal text ("60000.1"). */
  priceText: string;
  /** When the price was true: the source's own timestamp (mempool) or when it answered. */
  at: Date;
}

export interface SourceFailure {
  source: string;
  error: string;
}

interface PriceResultBase {
  currency: Currency;
  /** Ids of all configured sources. */
  configured: string[];
  /** Fresh quotes considered, cheapest first (includes a source's earlier quote if still fresh). */
  fresh: Quote[];
  /** Sources whose last good quote is too old. */
  stale: Quote[];
  /** Sources that failed in this round, with why. */
  failures: SourceFailure[];
  /** The oracle's clock when it decided. */
  at: Date;
}

export type PriceResult =
  | (PriceResultBase & {
      ok: true;
      /** The median of the fresh quotes, major units per BTC, exact. */
      rate: Decimal;
      /** The rate as exact decimal text; store this with the award. */
      rateText: string;
      /** True when fewer fresh quotes than configured sources were used (e.g. 1 of 3). */
      partial: boolean;
    })
  | (PriceResultBase & {
      ok: false;
      refusal: "no-fresh-price" | "too-few-sources" | "spread";
      /** Human-readable reason, suitable for a log line or an issue comment. */
      reason: string;
    });

/**
 * Asks every configured source for a BTC price, remembers each source's last
 * good quote, and answers with the median of the quotes fresher than maxAgeMs.
 *
 * It refuses (ok: false) when no quote is fresh, or when the fresh quotes
 * disagree: (max − min) / median > maxSpread. A refusal means "do not price
 * now"; the caller retries later.
 *
 * Partial answers: `minSources` fresh quotes are enough (PRICE_MIN_SOURCES: 2 on
 * mainnet, 1 elsewhere). With one, 1 of 3 sources answering prices at that quote
 * (the median of one) and `partial` is true: every answer is validated (shape,
 * currency, positive, within the plausible range), and off mainnet a missing
 * price blocking payouts costs more than a single source's word. On mainnet a
 * single source is never enough: one compromised or broken feed must not set
 * what real money is worth, so fewer fresh quotes than minSources is a refusal
 * ("too-few-sources") and the award waits, as when sources disagree.
 */
export class PriceOracle {
  private readonly sources: readonly PriceSource[];
  private readonly maxSpread: Decimal;
  private readonly maxAgeMs: number;
  private readonly minSources: number;
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private readonly fetchImpl: typeof globalThis.fetch | undefined;
  private readonly plausible: PlausibleRange;
  private readonly last = new Map<string, Quote>();

  constructor(opts: PriceOracleOptions) {
    if (opts.sources.length === 0) throw new RangeError("PriceOracle: no price sources");
    this.sources = [...opts.sources];
    this.maxSpread = opts.maxSpread;
    this.maxAgeMs = opts.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
    this.minSources = opts.minSources ?? 1;
    if (!Number.isSafeInteger(this.minSources) || this.minSources < 1 || this.minSources > this.sources.length) {
      throw new RangeError(`PriceOracle: minSources ${this.minSources} is not between 1 and the ${this.sources.length} sources`);
    }
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.now = opts.now ?? Date.now;
    this.fetchImpl = opts.fetch;
    this.plausible = opts.plausible ?? DEFAULT_PLAUSIBLE;
  }

  /** Every source's last good quote per currency, however old (for /metrics). */
  lastQuotes(): Quote[] {
    return [...this.last.values()];
  }

  /** The last good quote of one source for one currency, however old. */
  lastQuote(sourceId: string, currency: Currency): Quote | undefined {
    return this.last.get(key(sourceId, currency));
  }

  async price(currency: Currency): Promise<PriceResult> {
    const outcomes = await Promise.all(
      this.sources.map(async (s) => ({
        source: s,
        result: await fetchQuote(s, currency, {
          timeoutMs: this.timeoutMs,
          now: this.now,
          fetch: this.fetchImpl,
          plausible: this.plausible,
        }),
      })),
    );
    const failures: SourceFailure[] = [];
    for (const { source, result } of outcomes) {
      if (result.ok) {
        const prev = this.last.get(key(source.id, currency));
        // Never replace a newer quote by an older one (mempool reports its own time).
        if (prev === undefined || prev.at.getTime() <= result.at) {
          this.last.set(key(source.id, currency), {
            source: source.id,
            currency,
            price: result.price,
            priceText: decimalToString(result.price),
            at: new Date(result.at),
          });
        }
      } else {
        failures.push({ source: source.id, error: result.error });
      }
    }

    const nowMs = this.now();
    const fresh: Quote[] = [];
    const stale: Quote[] = [];
    for (const s of this.sources) {
      const q = this.last.get(key(s.id, currency));
      if (q === undefined) continue;
      if (nowMs - q.at.getTime() <= this.maxAgeMs) fresh.push(q);
      else stale.push(q);
    }
    fresh.sort((a, b) => compareDecimal(a.price, b.price));
    const base: PriceResultBase = {
      currency,
      configured: this.sources.map((s) => s.id),
      fresh,
      stale,
      failures,
      at: new Date(nowMs),
    };

    if (fresh.length === 0) {
      const why = this.sources.map((s) => {
        const f = failures.find((x) => x.source === s.id);
        const q = stale.find((x) => x.source === s.id);
        const age = q ? `last good quote ${ageText(nowMs - q.at.getTime())} old` : undefined;
        if (f && age) return `${s.id}: ${f.error} (${age})`;
        if (f) return `${s.id}: ${f.error}`;
        return `${s.id}: ${age ?? "no answer"}`;
      });
      return {
        ...base,
        ok: false,
        refusal: "no-fresh-price",
        reason: `no fresh ${currency} price (none within ${ageText(this.maxAgeMs)}): ${why.join("; ")}`,
      };
    }

    if (fresh.length < this.minSources) {
      const others = this.sources.flatMap((s) => {
        if (fresh.some((q) => q.source === s.id)) return [];
        const f = failures.find((x) => x.source === s.id);
        const q = stale.find((x) => x.source === s.id);
        return [`${s.id}: ${f ? f.error : q ? `last good quote ${ageText(nowMs - q.at.getTime())} old` : "no answer"}`];
      });
      return {
        ...base,
        ok: false,
        refusal: "too-few-sources",
        reason:
          `only ${fresh.length} of the ${this.minSources} price sources PRICE_MIN_SOURCES asks for gave a fresh ${currency} price ` +
          `(${fresh.map((q) => q.source).join(", ")}); ${others.join("; ")}`,
      };
    }

    const rate = medianDecimal(fresh.map((q) => q.price));
    const lo = fresh[0]!;
    const hi = fresh[fresh.length - 1]!;
    const diff = subDecimal(hi.price, lo.price);
    if (compareDecimal(diff, mulDecimal(this.maxSpread, rate)) > 0) {
      const limit = spreadText(this.maxSpread);
      // Show enough digits that the spread visibly exceeds the limit (2.04% vs 2%).
      let places = 1;
      let shown = `${percentText(diff, rate, places)}%`;
      while (shown === limit && places < 6) shown = `${percentText(diff, rate, ++places)}%`;
      return {
        ...base,
        ok: false,
        refusal: "spread",
        reason:
          `${lo.source} ${formatDecimal(lo.price, 2)} and ${hi.source} ${formatDecimal(hi.price, 2)} ${currency} ` +
          `differ by ${shown}, more than PRICE_MAX_SPREAD ${limit}`,
      };
    }

    return {
      ...base,
      ok: true,
      rate,
      rateText: decimalToString(rate),
      partial: fresh.length < this.sources.length,
    };
  }
}

function key(sourceId: string, currency: Currency): string {
  return `${currency} ${sourceId}`;
}

function ageText(ms: number): string {
  if (ms < 60_000) return `${Math.floor(ms / 1000)} s`;
  return `${Math.floor(ms / 60_000)} min`;
}
