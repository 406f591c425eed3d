import { describe, expect, it } from 'vitest';
import { escapeXml, formatNumber, gridLayout, heatmap, histogram, lineChart, niceTicks } from '../../src/plot/svg.js';

const ENTITY = /&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g;

/**
 * A strict little XML well-formedness check (no XML parser ships with Node): balanced, properly
 * nested tags, double-quoted attributes, and no raw '<' or '&' in text or attribute values.
 * Returns the element names in document order.
 */
function checkXml(xml: string): string[] {
  const names: string[] = [];
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"]*")*)\s*(\/?)>/y;
  let i = 0;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const textPart = xml.slice(i, lt < 0 ? xml.length : lt);
    if (textPart.replace(ENTITY, '').includes('&')) throw new Error(`raw & in text near ${JSON.stringify(textPart.slice(0, 40))}`);
    if (textPart.includes('>')) throw new Error(`raw > in text near ${JSON.stringify(textPart.slice(0, 40))}`);
    if (lt < 0) break;
    tag.lastIndex = lt;
    const m = tag.exec(xml);
    if (!m) throw new Error(`malformed tag at ${lt}: ${JSON.stringify(xml.slice(lt, lt + 60))}`);
    const [, close, name, attrs, selfClose] = m;
    for (const a of attrs.matchAll(/="([^"]*)"/g)) {
      if (a[1].includes('<') || a[1].replace(ENTITY, '').includes('&')) throw new Error(`bad attribute value ${a[1]}`);
    }
    if (close) {
      if (stack.pop() !== name) throw new Error(`</${name}> closes the wrong element`);
    } else {
      names.push(name);
      if (!selfClose) stack.push(name);
    }
    i = tag.lastIndex;
  }
  if (stack.length) throw new Error(`unclosed elements: ${stack.join(', ')}`);
  return names;
}

describe('svg helpers', () => {
  it('escapes XML special characters', () => {
    expect(escapeXml(`a<b & "c" 'd'>`)).toBe('a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;');
  });

  it('the checker itself rejects broken XML', () => {
    expect(() => checkXml('<svg><g></svg>')).toThrow(/wrong element/);
    expect(() => checkXml('<svg><text>a & b</text></svg>')).toThrow(/raw &/);
    expect(() => checkXml('<svg width=3></svg>')).toThrow(/malformed tag/);
    expect(checkXml('<svg><text>a &amp; b</text><rect x="1"/></svg>')).toEqual(['svg', 'text', 'rect']);
  });

  it('picks round ticks and short number labels', () => {
    expect(niceTicks(0, 10, 5)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(0.13, 0.61, 5)).toEqual([0.2, 0.3, 0.4, 0.5, 0.6]);
    expect(niceTicks(3, 3)).toEqual([3]);
    expect(formatNumber(0.30000000000000004, 0.1)).toBe('0.3');
    expect(formatNumber(2500, 500)).toBe('2500');
    expect(formatNumber(1e-6)).toBe('1e-6');
  });
});

describe('charts', () => {
  const evil = 'loss <MMoE & "co">';

  it('lineChart is well-formed, escapes labels, draws one path per series and a legend', () => {
    const svg = lineChart({
      title: evil, xLabel: 'epoch', yLabel: 'loss',
      series: [
        { name: 'MMoE', points: [[1, 3], [2, 2], [3, 1.5]] },
        { name: 'a&b', points: [[1, 4], [2, NaN], [3, 2]], dashed: true },
      ],
    });
    const names = checkXml(svg);
    expect(names[0]).toBe('svg');
    expect(svg).toContain('loss &lt;MMoE &amp; &quot;co&quot;&gt;');
    expect(svg).not.toContain('<MMoE');
    expect(svg).toContain('>a&amp;b</text>');
    const paths = [...svg.matchAll(/<path d="([^"]*)"/g)].map((m) => m[1]);
    expect(paths.length).toBe(2);
    // The NaN point breaks the second line into two moves.
    expect(paths[1].match(/M/g)!.length).toBe(2);
    expect(svg).toContain('stroke-dasharray');
  });

  it('lineChart on a log axis drops non-positive points and labels decades', () => {
    const svg = lineChart({ title: 't', series: [{ name: 's', points: [[0, 100], [1, 10], [2, 0], [3, 0.1]] }], logY: true });
    checkXml(svg);
    for (const t of ['>100</text>', '>10</text>', '>1</text>', '>0.1</text>']) expect(svg).toContain(t);
  });

  it('handles empty and constant series without NaN coordinates', () => {
    const svg = lineChart({ series: [{ name: 'flat', points: [[0, 1], [1, 1]] }, { name: 'none', points: [] }] });
    checkXml(svg);
    expect(svg).not.toContain('NaN');
  });

  it('histogram counts values into shared bins, overlaid or side by side', () => {
    const groups = [{ name: 'A<', values: [0, 0.1, 0.9, 1] }, { name: 'B', values: [0.5, 0.6, NaN] }];
    const over = histogram({ title: evil, groups, bins: 2 });
    checkXml(over);
    expect(over).toContain('>A&lt;</text>');
    // Bins [0, 0.5) and [0.5, 1]: A has 2 + 2, B has 0 + 2 → three non-empty bars.
    expect([...over.matchAll(/<rect x="[^"]*" y="[^"]*" width="[^"]*" height="[^"]*"\/>/g)].length).toBe(3);
    const side = histogram({ groups, bins: 2, layout: 'side' });
    checkXml(side);
    expect(side).not.toContain('NaN');
    expect(() => histogram({ groups, bins: 0 })).toThrow('histogram: bins must be a positive integer, got 0');
  });

  it('heatmap draws one cell per value with its label and checks the shape', () => {
    const svg = heatmap({
      title: 'gate', rowLabels: ['income', 'never<married'], colLabels: ['e0', 'e1', 'e2'],
      values: [[0.5, 0.25, 0.25], [0.1, 0.8, NaN]],
    });
    checkXml(svg);
    expect(svg).toContain('never&lt;married');
    expect(svg).toContain('>0.80</text>');
    expect(svg).toContain('>n/a</text>');
    expect(() => heatmap({ rowLabels: ['a'], colLabels: ['x', 'y'], values: [[1]] }))
      .toThrow('heatmap: values must be [1][2] to match the labels, got [1][1]');
  });

  it('gridLayout nests panels in one well-formed SVG with distinct clip ids', () => {
    const a = lineChart({ series: [{ name: 'a', points: [[0, 1], [1, 2]] }] });
    const b = histogram({ groups: [{ name: 'b', values: [1, 2, 3] }] });
    const grid = gridLayout([a, a, b], 2, { title: 'Figure & more' });
    const names = checkXml(grid);
    expect(names.filter((n) => n === 'svg').length).toBe(4);
    expect(grid).toContain('Figure &amp; more');
    expect(grid).toMatch(/^<svg[^>]* width="(\d+)" height="(\d+)"/);
    const [, w, h] = /^<svg[^>]* width="(\d+)" height="(\d+)"/.exec(grid)!;
    expect(Number(w)).toBe(2 * 480 + 3 * 8);
    expect(Number(h)).toBe(32 + 2 * (320 + 8) + 8);
    expect(grid).toContain('id="plot0"');
    expect(grid).toContain('url(#plot1)');
    expect(grid).not.toContain('id="plot"');
    expect(() => gridLayout(['<g/>'], 1)).toThrow(/gridLayout: panel 0 is not an <svg>/);
  });
});

describe('lineChart legend placement', () => {
  /** The legend box and every vertex of the drawn paths, from the SVG text. */
  function geometry(svg: string): { box: { x: number; y: number; w: number; h: number }; points: Array<[number, number]> } {
    const m = svg.match(/<g><rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"/)!;
    const points = [...svg.matchAll(/<path d="([^"]+)"/g)].flatMap((p) => [...p[1].matchAll(/[ML]([\d.]+) ([\d.]+)/g)].map((q) => [Number(q[1]), Number(q[2])] as [number, number]));
    return { box: { x: Number(m[1]), y: Number(m[2]), w: Number(m[3]), h: Number(m[4]) }, points };
  }
  const inside = (b: { x: number; y: number; w: number; h: number }, [x, y]: [number, number]): boolean => x >= b.x && x <= b.x + b.w && y >= b.y && y <= b.y + b.h;

  it.each([
    ['rising (a validation loss going up)', (i: number) => i],
    ['falling', (i: number) => 20 - i],
    ['falling then rising', (i: number) => (i - 10) ** 2],
  ])('keeps the legend off a %s curve', (_name, f) => {
    const points = Array.from({ length: 21 }, (_, i) => [i, f(i)] as const);
    const svg = lineChart({ series: [{ name: 'val_loss', points }, { name: 'loss', points: points.map(([x, y]) => [x, y * 0.9] as const) }] });
    const { box, points: drawn } = geometry(svg);
    expect(drawn.length).toBe(42);
    expect(drawn.filter((p) => inside(box, p))).toEqual([]);
  });

  it('stays top right when that corner is free (the place readers look first)', () => {
    const svg = lineChart({ width: 480, series: [{ name: 'loss', points: Array.from({ length: 10 }, (_, i) => [i, 10 - i] as const) }] });
    const { box } = geometry(svg);
    expect(box.x).toBeGreaterThan(240);
    expect(box.y).toBeLessThan(80);
  });
});
