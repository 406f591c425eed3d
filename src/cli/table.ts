/**
 * Results tables as aligned Markdown: readable in a terminal and pasteable into a README as is.
 * The first column is left-aligned (labels), the others right-aligned (numbers).
 */
export function markdownTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((h, j) => Math.max(h.length, 3, ...rows.map((r) => (r[j] ?? '').length)));
  const cell = (s: string, j: number): string => (j === 0 ? s.padEnd(widths[j]) : s.padStart(widths[j]));
  const line = (cells: readonly string[]): string => `| ${cells.map((c, j) => cell(c, j)).join(' | ')} |`;
  const rule = `|${widths.map((w, j) => (j === 0 ? ` ${'-'.repeat(w)} ` : ` ${'-'.repeat(w - 1)}: `)).join('|')}|`;
  return [line(headers), rule, ...rows.map((r) => line(headers.map((_, j) => r[j] ?? '')))].join('\n');
}

export function fixed(v: number | undefined, digits = 4): string {
  return v === undefined || Number.isNaN(v) ? '–' : v.toFixed(digits);
}
