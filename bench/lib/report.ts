/* Formatting helpers for the Markdown tables printed at the end of a bench run. */

export function markdownTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

/** A number with `digits` significant digits, without exponent notation for the usual range. */
export function fmt(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const mag = Math.floor(Math.log10(Math.abs(x)));
  const decimals = Math.max(0, digits - 1 - mag);
  return x.toFixed(Math.min(decimals, 6));
}

/** "median (min–max)" in ms. */
export function msRange(t: { medianMs: number; minMs: number; maxMs: number }): string {
  return `${fmt(t.medianMs)} (${fmt(t.minMs)}–${fmt(t.maxMs)})`;
}

export function ratio(x: number): string {
  return `${fmt(x)}×`;
}
