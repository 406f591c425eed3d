/**
 * Dependency-free SVG charts as strings: line charts (loss curves), histograms (final losses over
 * runs), heatmaps (gate weight per task × expert), and a grid that puts several in one figure.
 * Every piece of user text goes through escapeXml, so a label like `a<b & "c"` stays well-formed.
 */

const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const FONT = 'font-family="Helvetica, Arial, sans-serif"';
const MARGIN = { top: 34, right: 16, bottom: 46, left: 62 };

export function escapeXml(text: string): string {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** A number as short text: few digits, exponent form for very large or small magnitudes. */
export function formatNumber(v: number, step = Math.abs(v)): string {
  if (v === 0) return '0';
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-4) return v.toExponential(step > 0 && a / step < 10 ? 0 : 1).replace('e+', 'e');
  const decimals = Math.max(0, Math.min(6, -Math.floor(Math.log10(step > 0 ? step : a) + 1e-9)));
  return v.toFixed(decimals);
}

/** About `count` round tick values (steps of 1, 2 or 5 × 10^k) covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * mag).find((s) => s >= raw) ?? 10 * mag;
  // Multiples k·step rounded to step's decimals, so 3 × 0.1 reads 0.3 rather than 0.30000000000000004.
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const ticks: number[] = [];
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) ticks.push(Number((k * step).toFixed(Math.min(20, decimals))) || 0);
  return ticks;
}

/** [min, max] of the values, without spreading them into arguments (large arrays overflow that). */
function extent(values: Iterable<number>): [number, number] | null {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) { if (v < lo) lo = v; if (v > hi) hi = v; }
  return lo <= hi ? [lo, hi] : null;
}

interface Scale {
  (v: number): number;
  ticks: number[];
  step: number;
}

/** A linear scale whose domain is widened to the nearest ticks, so both axis ends are labelled. */
function linearScale(lo: number, hi: number, from: number, to: number, tickCount: number): Scale {
  if (!(hi > lo)) { const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1; lo -= pad; hi += pad; }
  const first = niceTicks(lo, hi, tickCount);
  const step = first.length > 1 ? first[1] - first[0] : hi - lo;
  lo = Math.floor(lo / step + 1e-9) * step;
  hi = Math.ceil(hi / step - 1e-9) * step;
  const f = ((v: number) => from + ((v - lo) / (hi - lo)) * (to - from)) as Scale;
  f.ticks = niceTicks(lo, hi, Math.round((hi - lo) / step));
  f.step = step;
  return f;
}

/** A log10 scale, widened to the nearest 1, 2 or 5 × 10^k marks. */
function logScale(lo: number, hi: number, from: number, to: number): Scale {
  if (!(hi > lo)) { lo /= 2; hi *= 2; }
  const marks = (k: number): number[] => [1, 2, 5].map((m) => m * 10 ** k);
  lo = marks(Math.floor(Math.log10(lo))).filter((t) => t <= lo * (1 + 1e-9)).pop()!;
  hi = [...marks(Math.floor(Math.log10(hi))), 10 ** (Math.floor(Math.log10(hi)) + 1)].find((t) => t >= hi * (1 - 1e-9))!;
  const l0 = Math.log10(lo), l1 = Math.log10(hi);
  const f = ((v: number) => from + ((Math.log10(v) - l0) / (l1 - l0)) * (to - from)) as Scale;
  let ticks: number[] = [];
  for (let k = Math.ceil(l0 - 1e-9); k <= Math.floor(l1 + 1e-9); k++) ticks.push(10 ** k);
  // Less than a decade or two of range: add 2× and 5× marks so the axis is not bare.
  if (ticks.length < 3) {
    ticks = [];
    for (let k = Math.floor(l0); k <= Math.ceil(l1); k++) {
      for (const m of [1, 2, 5]) { const t = m * 10 ** k; if (t >= lo * (1 - 1e-9) && t <= hi * (1 + 1e-9)) ticks.push(t); }
    }
  }
  f.ticks = ticks;
  f.step = 0;
  return f;
}

interface Frame { width: number; height: number; x0: number; x1: number; y0: number; y1: number }

function frame(width: number, height: number): Frame {
  return { width, height, x0: MARGIN.left, x1: width - MARGIN.right, y0: height - MARGIN.bottom, y1: MARGIN.top };
}

function open(width: number, height: number): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="12">\n`
    + `<rect width="${width}" height="${height}" fill="#ffffff"/>\n`;
}

function text(x: number, y: number, s: string, attrs = ''): string {
  return `<text x="${r(x)}" y="${r(y)}"${attrs ? ' ' + attrs : ''}>${escapeXml(s)}</text>\n`;
}

function r(v: number): string {
  return String(Math.round(v * 100) / 100);
}

function titles(f: Frame, title?: string, xLabel?: string, yLabel?: string): string {
  let s = '';
  if (title) s += text(f.width / 2, 20, title, 'text-anchor="middle" font-size="14" font-weight="bold"');
  if (xLabel) s += text((f.x0 + f.x1) / 2, f.height - 8, xLabel, 'text-anchor="middle"');
  if (yLabel) s += text(14, (f.y0 + f.y1) / 2, yLabel, `text-anchor="middle" transform="rotate(-90 14 ${r((f.y0 + f.y1) / 2)})"`);
  return s;
}

function axes(f: Frame, xs: Scale, ys: Scale, xTickLabels = true): string {
  let s = `<g stroke="#dddddd" stroke-width="1">\n`;
  for (const t of ys.ticks) s += `<line x1="${f.x0}" y1="${r(ys(t))}" x2="${f.x1}" y2="${r(ys(t))}"/>\n`;
  s += '</g>\n';
  s += `<g stroke="#333333" stroke-width="1"><line x1="${f.x0}" y1="${f.y0}" x2="${f.x1}" y2="${f.y0}"/><line x1="${f.x0}" y1="${f.y0}" x2="${f.x0}" y2="${f.y1}"/></g>\n`;
  for (const t of ys.ticks) {
    s += `<line x1="${f.x0 - 4}" y1="${r(ys(t))}" x2="${f.x0}" y2="${r(ys(t))}" stroke="#333333"/>\n`;
    s += text(f.x0 - 6, ys(t) + 4, formatNumber(t, ys.step || t), 'text-anchor="end" font-size="11"');
  }
  if (xTickLabels) {
    for (const t of xs.ticks) {
      s += `<line x1="${r(xs(t))}" y1="${f.y0}" x2="${r(xs(t))}" y2="${f.y0 + 4}" stroke="#333333"/>\n`;
      s += text(xs(t), f.y0 + 16, formatNumber(t, xs.step || t), 'text-anchor="middle" font-size="11"');
    }
  }
  return s;
}

type LegendItem = { name: string; color: string; kind: 'line' | 'box'; dashed?: boolean };

function legendSize(items: readonly LegendItem[]): { w: number; h: number } {
  return { w: Math.min(220, 34 + Math.max(...items.map((i) => i.name.length)) * 6.5), h: items.length * 16 + 8 };
}

/**
 * The legend's top-left corner: the corner of the plot whose legend box covers the fewest of
 * `marks` (points along the drawn lines, in pixels), top right on a tie — so the legend does not
 * hide a curve where a free corner exists.
 */
function legendCorner(f: Frame, items: readonly LegendItem[], marks: ReadonlyArray<readonly [number, number]>): { x: number; y: number } {
  const { w, h } = legendSize(items);
  const corners = [
    { x: f.x1 - w - 6, y: f.y1 + 6 }, { x: f.x0 + 6, y: f.y1 + 6 },
    { x: f.x1 - w - 6, y: f.y0 - h - 6 }, { x: f.x0 + 6, y: f.y0 - h - 6 },
  ];
  const covered = (c: { x: number; y: number }): number => {
    let n = 0;
    for (const [px, py] of marks) if (px >= c.x - 4 && px <= c.x + w + 4 && py >= c.y - 4 && py <= c.y + h + 4) n++;
    return n;
  };
  let best = corners[0], bestN = covered(best);
  for (const c of corners.slice(1)) { const n = covered(c); if (n < bestN) { best = c; bestN = n; } }
  return best;
}

function legend(f: Frame, items: LegendItem[], at?: { x: number; y: number }): string {
  if (items.length === 0) return '';
  const { w } = legendSize(items);
  const { x, y } = at ?? { x: f.x1 - w - 6, y: f.y1 + 6 };
  let s = `<g><rect x="${r(x)}" y="${r(y)}" width="${r(w)}" height="${items.length * 16 + 8}" fill="#ffffff" fill-opacity="0.85" stroke="#bbbbbb"/>\n`;
  items.forEach((it, i) => {
    const cy = y + 12 + i * 16;
    s += it.kind === 'line'
      ? `<line x1="${r(x + 6)}" y1="${r(cy)}" x2="${r(x + 26)}" y2="${r(cy)}" stroke="${it.color}" stroke-width="2"${it.dashed ? ' stroke-dasharray="5 3"' : ''}/>\n`
      : `<rect x="${r(x + 8)}" y="${r(cy - 5)}" width="16" height="10" fill="${it.color}" fill-opacity="0.6" stroke="${it.color}"/>\n`;
    s += text(x + 32, cy + 4, it.name, 'font-size="11"');
  });
  return s + '</g>\n';
}

export interface LineSeries {
  name: string;
  points: ReadonlyArray<readonly [number, number]>;
  color?: string;
  dashed?: boolean;
}

export interface LineChartOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  series: readonly LineSeries[];
  /** Logarithmic y axis; points with y <= 0 are left out. */
  logY?: boolean;
  width?: number;
  height?: number;
}

/** Lines through each series' points (non-finite points break the line), with a legend. */
export function lineChart(o: LineChartOptions): string {
  const f = frame(o.width ?? 480, o.height ?? 320);
  const ok = (p: readonly [number, number]): boolean => Number.isFinite(p[0]) && Number.isFinite(p[1]) && (!o.logY || p[1] > 0);
  const pts = o.series.flatMap((s) => s.points.filter(ok));
  const [xLo, xHi] = extent(pts.map((p) => p[0])) ?? [0, 1];
  const [yLo, yHi] = extent(pts.map((p) => p[1])) ?? (o.logY ? [0.1, 1] : [0, 1]);
  const xs = linearScale(xLo, xHi, f.x0, f.x1, 6);
  const ys = o.logY ? logScale(yLo, yHi, f.y0, f.y1) : linearScale(yLo, yHi, f.y0, f.y1, 5);
  let s = open(f.width, f.height) + titles(f, o.title, o.xLabel, o.yLabel) + axes(f, xs, ys);
  s += `<clipPath id="plot"><rect x="${f.x0}" y="${f.y1}" width="${f.x1 - f.x0}" height="${f.y0 - f.y1}"/></clipPath>\n`;
  const marks: Array<[number, number]> = [];
  o.series.forEach((ser, i) => {
    const color = ser.color ?? PALETTE[i % PALETTE.length];
    let d = '';
    let pen = 'M';
    let prev: [number, number] | null = null;
    for (const p of ser.points) {
      if (!ok(p)) { pen = 'M'; prev = null; continue; }
      const q: [number, number] = [xs(p[0]), ys(p[1])];
      // Points along each segment too, so a line crossing a corner without a vertex there counts.
      if (prev) for (let k = 1; k < 8; k++) marks.push([prev[0] + ((q[0] - prev[0]) * k) / 8, prev[1] + ((q[1] - prev[1]) * k) / 8]);
      marks.push(q);
      prev = q;
      d += `${pen}${r(q[0])} ${r(q[1])} `;
      pen = 'L';
    }
    if (d) s += `<path d="${d.trim()}" fill="none" stroke="${color}" stroke-width="2"${ser.dashed ? ' stroke-dasharray="5 3"' : ''} clip-path="url(#plot)"/>\n`;
  });
  const items = o.series.map((ser, i) => ({ name: ser.name, color: ser.color ?? PALETTE[i % PALETTE.length], kind: 'line' as const, dashed: ser.dashed }));
  s += legend(f, items, items.length ? legendCorner(f, items, marks) : undefined);
  return s + '</svg>\n';
}

export interface HistogramOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  groups: ReadonlyArray<{ name: string; values: ArrayLike<number>; color?: string }>;
  /** Number of equal-width bins over the range of all groups' finite values. Default 20. */
  bins?: number;
  /** The binned range, e.g. to share one x axis across panels (values outside are left out). Default: the values' range. */
  range?: readonly [number, number];
  /** 'overlay' draws translucent bars on top of each other; 'side' puts them side by side. */
  layout?: 'overlay' | 'side';
  width?: number;
  height?: number;
}

/** Counts of each group's values over shared bins (non-finite values are left out). */
export function histogram(o: HistogramOptions): string {
  const f = frame(o.width ?? 480, o.height ?? 320);
  const bins = o.bins ?? 20;
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`histogram: bins must be a positive integer, got ${bins}`);
  let [lo, hi] = o.range ?? extent(o.groups.flatMap((g) => Array.from(g.values).filter(Number.isFinite))) ?? [0, 1];
  if (!(hi > lo)) { const pad = lo === 0 ? 0.5 : Math.abs(lo) * 0.05; lo -= pad; hi += pad; }
  const width = (hi - lo) / bins;
  const counts = o.groups.map((g) => {
    const c = new Array<number>(bins).fill(0);
    for (const v of Array.from(g.values)) if (Number.isFinite(v) && v >= lo && v <= hi) c[Math.min(bins - 1, Math.floor((v - lo) / width))]++;
    return c;
  });
  const xs = linearScale(lo, hi, f.x0, f.x1, 6);
  const ys = linearScale(0, Math.max(1, extent(counts.flat())?.[1] ?? 0), f.y0, f.y1, 5);
  let s = open(f.width, f.height) + titles(f, o.title, o.xLabel, o.yLabel ?? 'count') + axes(f, xs, ys);
  const side = o.layout === 'side';
  const g = Math.max(1, o.groups.length);
  counts.forEach((c, gi) => {
    const color = o.groups[gi].color ?? PALETTE[gi % PALETTE.length];
    s += `<g fill="${color}" fill-opacity="${side ? 0.85 : 0.45}" stroke="${color}">\n`;
    for (let b = 0; b < bins; b++) {
      if (c[b] === 0) continue;
      const bx0 = xs(lo + b * width), bx1 = xs(lo + (b + 1) * width);
      const x = side ? bx0 + ((bx1 - bx0) * gi) / g : bx0;
      const w = side ? (bx1 - bx0) / g : bx1 - bx0;
      s += `<rect x="${r(x)}" y="${r(ys(c[b]))}" width="${r(w)}" height="${r(f.y0 - ys(c[b]))}"/>\n`;
    }
    s += '</g>\n';
  });
  s += legend(f, o.groups.map((gr, i) => ({ name: gr.name, color: gr.color ?? PALETTE[i % PALETTE.length], kind: 'box' as const })));
  return s + '</svg>\n';
}

/** A viridis-like ramp: t in [0, 1] → colour. */
function ramp(t: number): string {
  const stops = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const u = x - i;
  const c = stops[i].map((v, k) => Math.round(v + (stops[i + 1][k] - v) * u));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

export interface HeatmapOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  rowLabels: readonly string[];
  colLabels: readonly string[];
  /** values[row][col]. */
  values: ReadonlyArray<ArrayLike<number>>;
  /** Colour range; default the values' min and max. */
  min?: number;
  max?: number;
  /** Write each value in its cell. Default true. */
  showValues?: boolean;
  width?: number;
  height?: number;
}

/** A grid of coloured cells (e.g. mean gate weight, task × expert) with a colour bar. */
export function heatmap(o: HeatmapOptions): string {
  const rows = o.rowLabels.length, cols = o.colLabels.length;
  if (o.values.length !== rows || o.values.some((v) => v.length !== cols)) {
    throw new RangeError(`heatmap: values must be [${rows}][${cols}] to match the labels, got [${o.values.length}][${o.values.map((v) => v.length).join('|')}]`);
  }
  const labelW = Math.min(160, 12 + Math.max(0, ...o.rowLabels.map((l) => l.length)) * 7);
  const width = o.width ?? Math.max(320, labelW + 90 + cols * 48);
  const height = o.height ?? Math.max(200, 100 + rows * 40);
  const f = { width, height, x0: labelW + (o.yLabel ? 20 : 0), x1: width - 70, y0: height - MARGIN.bottom, y1: MARGIN.top };
  const [vLo, vHi] = extent(o.values.flatMap((v) => Array.from(v)).filter(Number.isFinite)) ?? [0, 1];
  const lo = o.min ?? vLo, hi = o.max ?? vHi;
  const norm = (v: number): number => (hi > lo ? (v - lo) / (hi - lo) : 0.5);
  const cw = (f.x1 - f.x0) / Math.max(1, cols), ch = (f.y0 - f.y1) / Math.max(1, rows);
  let s = open(width, height) + titles(f, o.title, o.xLabel, o.yLabel);
  for (let i = 0; i < rows; i++) {
    s += text(f.x0 - 6, f.y1 + (i + 0.5) * ch + 4, o.rowLabels[i], 'text-anchor="end" font-size="11"');
    for (let j = 0; j < cols; j++) {
      const v = o.values[i][j];
      const x = f.x0 + j * cw, y = f.y1 + i * ch;
      s += `<rect x="${r(x)}" y="${r(y)}" width="${r(cw)}" height="${r(ch)}" fill="${Number.isFinite(v) ? ramp(norm(v)) : '#cccccc'}" stroke="#ffffff"/>\n`;
      if (o.showValues ?? true) {
        s += text(x + cw / 2, y + ch / 2 + 4, Number.isFinite(v) ? v.toFixed(2) : 'n/a', `text-anchor="middle" font-size="10" fill="${norm(v) > 0.6 ? '#000000' : '#ffffff'}"`);
      }
    }
  }
  for (let j = 0; j < cols; j++) s += text(f.x0 + (j + 0.5) * cw, f.y0 + 14, o.colLabels[j], 'text-anchor="middle" font-size="11"');
  // Colour bar with its min and max.
  const bx = f.x1 + 16, steps = 20, bh = (f.y0 - f.y1) / steps;
  for (let k = 0; k < steps; k++) s += `<rect x="${bx}" y="${r(f.y1 + k * bh)}" width="14" height="${r(bh + 0.5)}" fill="${ramp(1 - (k + 0.5) / steps)}"/>\n`;
  s += text(bx + 18, f.y1 + 8, formatNumber(hi, Math.abs(hi - lo) / 100 || 0.01), 'font-size="10"');
  s += text(bx + 18, f.y0, formatNumber(lo, Math.abs(hi - lo) / 100 || 0.01), 'font-size="10"');
  return s + '</svg>\n';
}

/** Width and height from a chart's root element. */
function sizeOf(svg: string, i: number): { w: number; h: number } {
  const m = /^\s*<svg\b[^>]*?\bwidth="([\d.]+)"[^>]*?\bheight="([\d.]+)"/.exec(svg);
  if (!m) throw new Error(`gridLayout: panel ${i} is not an <svg> with width and height attributes`);
  return { w: Number(m[1]), h: Number(m[2]) };
}

/**
 * Several charts in one SVG, `cols` per row, each in a cell as large as the largest panel. Each
 * panel keeps its own clip-path ids unique by a prefix, so panels cannot clip each other.
 */
export function gridLayout(panels: readonly string[], cols: number, options: { title?: string; gap?: number } = {}): string {
  if (!Number.isInteger(cols) || cols < 1) throw new RangeError(`gridLayout: cols must be a positive integer, got ${cols}`);
  const gap = options.gap ?? 8;
  const sizes = panels.map(sizeOf);
  const cw = Math.max(0, ...sizes.map((s) => s.w)), chh = Math.max(0, ...sizes.map((s) => s.h));
  const top = options.title ? 32 : 0;
  const nCols = Math.min(cols, Math.max(1, panels.length));
  const width = nCols * cw + (nCols + 1) * gap;
  const height = top + Math.ceil(panels.length / cols) * (chh + gap) + gap;
  let s = open(width, height);
  if (options.title) s += text(width / 2, 22, options.title, 'text-anchor="middle" font-size="16" font-weight="bold"');
  panels.forEach((p, i) => {
    const x = gap + (i % cols) * (cw + gap), y = top + gap + Math.floor(i / cols) * (chh + gap);
    const body = p.replace(/id="plot"/g, `id="plot${i}"`).replace(/url\(#plot\)/g, `url(#plot${i})`);
    s += `<g transform="translate(${x} ${y})">\n${body}</g>\n`;
  });
  return s + '</svg>\n';
}
