/** A plain-text table: a header row, then rows, columns padded to their widest cell. */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

/**
 * One CSV record (RFC 4180): a field with a comma, semicolon, quote, tab or line break is quoted,
 * quotes doubled. A field a spreadsheet would run as a formula (it starts with = + - @, a tab or a
 * line break: OWASP's CSV injection list) is prefixed with a single quote, and quoted; a plain
 * number (e.g. -5000) is left a number.
 */
export function csvRecord(fields: Array<string | number | bigint | null | undefined>): string {
  return fields.map(csvField).join(",");
}

const PLAIN_NUMBER = /^-?\d+(\.\d+)?$/;

function csvField(f: string | number | bigint | null | undefined): string {
  const s = f === null || f === undefined ? "" : String(f);
  const formula = /^[=+\-@\t\r\n]/.test(s) && !PLAIN_NUMBER.test(s);
  const safe = formula ? `'${s}` : s;
  return formula || /[",;\t\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** 1234567 → "1234567 sats (0.01234567 BTC)". */
export function satsText(sats: bigint): string {
  const sign = sats < 0n ? "-" : "";
  const abs = sats < 0n ? -sats : sats;
  return `${sats} sats (${sign}${abs / 100_000_000n}.${(abs % 100_000_000n).toString().padStart(8, "0")} BTC)`;
}
