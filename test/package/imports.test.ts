import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/*
 * DESIGN.md's layer order, checked on the source: imports (type-only ones too) run down this list
 * and never in a circle. src/io and src/validation are leaves every layer may use.
 */
const LAYERS = ['cli', 'experiments', 'onnx', 'train', 'plot', 'data', 'models', 'nn', 'autograd', 'tensor', 'io', 'validation'];
const src = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? sourceFiles(p) : /\.c?ts$/.test(e.name) ? [p] : [];
  });
}

function importGraph(): Map<string, string[]> {
  const files = sourceFiles(src).map((f) => relative(src, f));
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const text = readFileSync(join(src, f), 'utf8');
    const deps = [...text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)]
      .map((m) => normalize(join(dirname(f), m[1])).replace(/\.js$/, '.ts'))
      .filter((d) => files.includes(d));
    graph.set(f, deps);
  }
  return graph;
}

describe('the import graph of src/', () => {
  const graph = importGraph();
  it('has no import circle', () => {
    const state = new Map<string, 1 | 2>();
    const stack: string[] = [];
    const cycles: string[] = [];
    const visit = (u: string): void => {
      state.set(u, 1);
      stack.push(u);
      for (const v of graph.get(u) ?? []) {
        if (state.get(v) === 1) cycles.push([...stack.slice(stack.indexOf(v)), v].join(' -> '));
        else if (!state.has(v)) visit(v);
      }
      stack.pop();
      state.set(u, 2);
    };
    for (const f of graph.keys()) if (!state.has(f)) visit(f);
    expect(cycles).toEqual([]);
  });
  it('imports only down the layer order', () => {
    const layer = (f: string): number => LAYERS.indexOf(f.split(/[\\/]/)[0]);
    const up: string[] = [];
    for (const [f, deps] of graph) {
      for (const d of deps) if (layer(f) >= 0 && layer(d) >= 0 && layer(d) < layer(f)) up.push(`${f} -> ${d}`);
    }
    expect(up).toEqual([]);
  });
});
