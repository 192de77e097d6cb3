import fc from "fast-check";
import { MAX_DURATION_MS, formatDuration, parseDuration } from "../../src/core/duration.js";

const S = 1_000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

describe("parseDuration accepts", () => {
  test.each([
    ["0s", 0],
    ["30s", 30 * S],
    ["10m", 10 * M],
    ["2h", 2 * H],
    ["24h", 24 * H],
    ["7d", 7 * D],
    ["1h30m", H + 30 * M],
    ["1d12h", D + 12 * H],
    ["1d2h3m4s", D + 2 * H + 3 * M + 4 * S],
    ["1h 30m", H + 30 * M],
    ["  90s  ", 90 * S],
    ["2H", 2 * H],
    ["90m", 90 * M],
    ["007d", 7 * D],
    ["365d", 365 * D],
    ["0d0h", 0],
  ])("%j → %d ms", (text, ms) => {
    expect(parseDuration(text)).toEqual({ ok: true, value: ms });
  });
});

describe("parseDuration refuses, clearly", () => {
  test.each([
    ["", "No duration given. Durations look like 30s, 10m, 2h, 7d or 1h30m."],
    ["5", `"5" is not a duration: "5" has no unit (s, m, h or d). Durations look like 30s, 10m, 2h, 7d or 1h30m; try 5m.`],
    ["1.5h", `"1.5h" is not a duration: use whole numbers. Durations look like 30s, 10m, 2h, 7d or 1h30m; try 1h30m instead of 1.5h.`],
    ["2 hours", `"2 hours" is not a duration: unknown unit "hours" (use s, m, h or d). Durations look like 30s, 10m, 2h, 7d or 1h30m.`],
    ["5ms", `"5ms" is not a duration: unknown unit "ms" (use s, m, h or d). Durations look like 30s, 10m, 2h, 7d or 1h30m.`],
    ["1w", `"1w" is not a duration: unknown unit "w" (use s, m, h or d). Durations look like 30s, 10m, 2h, 7d or 1h30m.`],
    ["30m1h", `"30m1h" is not a duration: write the largest unit first. Durations look like 30s, 10m, 2h, 7d or 1h30m; try 1d12h or 1h30m.`],
    ["1h1h", `"1h1h" is not a duration: hours are given twice. Durations look like 30s, 10m, 2h, 7d or 1h30m; try 1d12h or 1h30m.`],
    ["-5m", `"-5m" is not a duration: it is negative. Durations look like 30s, 10m, 2h, 7d or 1h30m.`],
    ["h", `"h" is not a duration: expected a number at "h". Durations look like 30s, 10m, 2h, 7d or 1h30m.`],
    ["366d", `"366d" is not a duration: it is longer than 365 days. Durations look like 30s, 10m, 2h, 7d or 1h30m.`],
    ["365d1s", `"365d1s" is not a duration: it is longer than 365 days. Durations look like 30s, 10m, 2h, 7d or 1h30m.`],
    ["99999999999999999999s", `"99999999999999999999s" is not a duration: it is longer than 365 days. Durations look like 30s, 10m, 2h, 7d or 1h30m.`],
  ])("%j", (text, error) => {
    expect(parseDuration(text)).toEqual({ ok: false, error });
  });

  test("very long input is cut short in the message", () => {
    const r = parseDuration("1".repeat(1000) + "s");
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.length).toBeLessThan(200);
  });
});

describe("formatDuration", () => {
  test.each([
    [0, "0s"],
    [999, "0s"],
    [30 * S, "30s"],
    [H + 30 * M, "1h30m"],
    [7 * D, "7d"],
    [D + 2 * H + 3 * M + 4 * S, "1d2h3m4s"],
  ])("%d → %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe("properties", () => {
  test("never throws, and accepted values are whole seconds within the limit", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: "binary" }),
          fc.array(fc.constantFrom("1", "0", "9", "d", "h", "m", "s", " ", ".", "-", "w", "99999"), { maxLength: 12 }).map((a) => a.join("")),
        ),
        (text) => {
          const r = parseDuration(text);
          if (r.ok) {
            expect(Number.isSafeInteger(r.value)).toBe(true);
            expect(r.value % S).toBe(0);
            expect(r.value).toBeGreaterThanOrEqual(0);
            expect(r.value).toBeLessThanOrEqual(MAX_DURATION_MS);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  test("formatDuration and parseDuration round-trip every whole number of seconds up to a year", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_DURATION_MS / S }), (seconds) => {
        expect(parseDuration(formatDuration(seconds * S))).toEqual({ ok: true, value: seconds * S });
      }),
    );
  });
});
