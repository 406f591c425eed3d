import { escapeXml, formatNumber, niceTicks } from './svg.js';

/*
 * A line chart with a shaded band per series — the mean over runs and the interquartile range at
 * each step, as in the MMoE paper's Fig. 4. The other chart kinds live in svg.ts; this one
 * reuses its tick and text helpers.
 */

export interface BandSeries {
  name: string;
  color: string;
  /** [x, centre, low, high] per point. */
  points: ReadonlyArray<readonly [number, number, number, number]>;
}

export interface BandChartOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  series: readonly BandSeries[];
  logY?: boolean;
  width?: number;
  height?: number;
  /** Suffix of the clip-path id, unique per chart in one document. */
  id?: string;
}

const M = { top: 34, right: 16, bottom: 46, left: 62 };

function r(v: number): string {
  return String(Math.round(v * 100) / 100);
}

export function bandChart(o: BandChartOptions): string {
  const width = o.width ?? 480, height = o.height ?? 320;
  const x0 = M.left, x1 = width - M.right, y0 = height - M.bottom, y1 = M.top;
  const ok = (v: number): boolean => Number.isFinite(v) && (!o.logY || v > 0);
  const xs = o.series.flatMap((s) => s.points.map((p) => p[0])).filter(Number.isFinite);
  const ys = o.series.flatMap((s) => s.points.flatMap((p) => [p[1], p[2], p[3]])).filter(ok);
  let xLo = xs.length ? Math.min(...xs) : 0, xHi = xs.length ? Math.max(...xs) : 1;
  if (!(xHi > xLo)) { xLo -= 1; xHi += 1; }
  let yLo = ys.length ? Math.min(...ys) : 0.1, yHi = ys.length ? Math.max(...ys) : 1;
  if (!(yHi > yLo)) { yLo = o.logY ? yLo / 2 : yLo - 1; yHi = o.logY ? yHi * 2 : yHi + 1; }
  const xt = niceTicks(xLo, xHi, 6);
  const xStep = xt.length > 1 ? xt[1] - xt[0] : xHi - xLo;
  xLo = Math.min(xLo, xt[0]); xHi = Math.max(xHi, xt[xt.length - 1]);
  let yt: number[];
  let fy: (v: number) => number;
  if (o.logY) {
    const l0 = Math.floor(Math.log10(yLo) * 4) / 4, l1 = Math.ceil(Math.log10(yHi) * 4) / 4;
    fy = (v) => y0 + ((Math.log10(v) - l0) / (l1 - l0)) * (y1 - y0);
    yt = [];
    for (let k = Math.floor(l0); k <= Math.ceil(l1); k++) {
      for (const m of [1, 2, 5]) { const t = m * 10 ** k; if (Math.log10(t) >= l0 - 1e-9 && Math.log10(t) <= l1 + 1e-9) yt.push(t); }
    }
    // Under a decade of range: round linear ticks, placed on the log scale, so the axis is not bare;
    // a tick closer than 16 px to the one below it is dropped, so labels never overlap.
    if (yt.length < 4) yt = niceTicks(10 ** l0, 10 ** l1, 10).filter((t) => t > 0 && Math.log10(t) >= l0 - 1e-9 && Math.log10(t) <= l1 + 1e-9);
    const kept: number[] = [];
    for (const t of yt) if (kept.length === 0 || fy(kept[kept.length - 1]) - fy(t) >= 16) kept.push(t);
    yt = kept;
  } else {
    yt = niceTicks(yLo, yHi, 5);
    const lo = Math.min(yLo, yt[0]), hi = Math.max(yHi, yt[yt.length - 1]);
    fy = (v) => y0 + ((v - lo) / (hi - lo)) * (y1 - y0);
  }
  const fx = (v: number): number => x0 + ((v - xLo) / (xHi - xLo)) * (x1 - x0);
  const text = (x: number, y: number, s: string, attrs = ''): string => `<text x="${r(x)}" y="${r(y)}"${attrs ? ' ' + attrs : ''}>${escapeXml(s)}</text>\n`;
  const clip = `band${o.id ?? ''}`;
  let s = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">\n`;
  s += `<rect width="${width}" height="${height}" fill="#ffffff"/>\n`;
  if (o.title) s += text(width / 2, 20, o.title, 'text-anchor="middle" font-size="14" font-weight="bold"');
  if (o.xLabel) s += text((x0 + x1) / 2, height - 8, o.xLabel, 'text-anchor="middle"');
  if (o.yLabel) s += text(14, (y0 + y1) / 2, o.yLabel, `text-anchor="middle" transform="rotate(-90 14 ${r((y0 + y1) / 2)})"`);
  s += '<g stroke="#dddddd" stroke-width="1">\n';
  for (const t of yt) s += `<line x1="${x0}" y1="${r(fy(t))}" x2="${x1}" y2="${r(fy(t))}"/>\n`;
  s += '</g>\n';
  s += `<g stroke="#333333" stroke-width="1"><line x1="${x0}" y1="${y0}" x2="${x1}" y2="${y0}"/><line x1="${x0}" y1="${y0}" x2="${x0}" y2="${y1}"/></g>\n`;
  const yStep = yt.length > 1 ? Math.min(...yt.slice(1).map((t, i) => t - yt[i])) : Math.abs(yt[0] ?? 1);
  for (const t of yt) s += text(x0 - 6, fy(t) + 4, formatNumber(t, yStep), 'text-anchor="end" font-size="11"');
  for (const t of xt) s += text(fx(t), y0 + 16, formatNumber(t, xStep), 'text-anchor="middle" font-size="11"');
  s += `<clipPath id="${clip}"><rect x="${x0}" y="${y1}" width="${x1 - x0}" height="${y0 - y1}"/></clipPath>\n`;
  for (const ser of o.series) {
    const pts = ser.points.filter((p) => Number.isFinite(p[0]) && ok(p[1]) && ok(p[2]) && ok(p[3]));
    if (pts.length === 0) continue;
    const upper = pts.map((p) => `${r(fx(p[0]))},${r(fy(p[3]))}`);
    const lower = pts.slice().reverse().map((p) => `${r(fx(p[0]))},${r(fy(p[2]))}`);
    s += `<polygon points="${[...upper, ...lower].join(' ')}" fill="${ser.color}" fill-opacity="0.18" stroke="none" clip-path="url(#${clip})"/>\n`;
    s += `<path d="${pts.map((p, i) => `${i === 0 ? 'M' : 'L'}${r(fx(p[0]))} ${r(fy(p[1]))}`).join(' ')}" fill="none" stroke="${ser.color}" stroke-width="2" clip-path="url(#${clip})"/>\n`;
  }
  o.series.forEach((ser, i) => {
    const y = y1 + 10 + i * 16;
    s += `<rect x="${r(x1 - 150)}" y="${r(y - 6)}" width="16" height="10" fill="${ser.color}" fill-opacity="0.3" stroke="${ser.color}"/>\n`;
    s += text(x1 - 128, y + 3, ser.name, 'font-size="11"');
  });
  return s + '</svg>\n';
}
