import { builtinModules } from 'node:module';
import { runInNewContext } from 'node:vm';
import { build, type Plugin } from 'esbuild';
import { describe, expect, it } from 'vitest';

/*
 * The package root must run in a browser: bundled the way a user's bundler would (esbuild,
 * platform browser), it may import no Node built-in, and it must work where `process` does not
 * exist. The bundle is built from src/index.ts (what dist/index.js compiles from), so the test
 * needs no prior build.
 */

const NODE_BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** Records every import of a Node built-in (with its importer) instead of letting esbuild fail on the first. */
function recordBuiltins(found: string[]): Plugin {
  return {
    name: 'record-node-builtins',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        if (!NODE_BUILTINS.has(args.path) && !args.path.startsWith('node:')) return undefined;
        found.push(`${args.importer} imports ${args.path}`);
        return { path: args.path, external: true };
      });
    },
  };
}

async function bundle(entry: string, format: 'esm' | 'iife'): Promise<{ code: string; builtins: string[] }> {
  const builtins: string[] = [];
  const out = await build({
    entryPoints: [entry], bundle: true, write: false, platform: 'browser', format, globalName: 'mmoe',
    target: 'es2022', logLevel: 'silent', legalComments: 'none', plugins: [recordBuiltins(builtins)],
  });
  return { code: out.outputFiles[0].text, builtins };
}

describe('the package root in a browser', () => {
  it("keeps what package.json's sideEffects names when a bundler tree-shakes a small import", async () => {
    // Only `tensor` is imported; the chaining methods come from a module imported for its effect
    // alone (autograd/methods.ts), which a bundler drops unless every module on the way is marked.
    for (const entry of ['./src/index.ts', './src/node.ts']) {
      const out = await build({
        stdin: { contents: `import { tensor } from '${entry}'; globalThis.result = tensor([1, 2]).add(1).mul(2).sum().item();`, resolveDir: process.cwd(), loader: 'ts' },
        bundle: true, write: false, platform: entry.endsWith('node.ts') ? 'node' : 'browser', format: 'iife', treeShaking: true, logLevel: 'silent',
      });
      const ctx: Record<string, unknown> = {};
      runInNewContext(out.outputFiles[0].text, ctx);
      expect(ctx.result, entry).toBe(10);
    }
  });

  it('imports no Node built-in', async () => {
    const { builtins } = await bundle('src/index.ts', 'esm');
    expect(builtins).toEqual([]);
  });

  it('the Node entry does import them (the check above can fail)', async () => {
    const { builtins } = await bundle('src/node.ts', 'esm');
    expect(builtins.some((b) => b.endsWith('node:fs'))).toBe(true);
  });

  it('reads `process` only through globalThis, guarded', async () => {
    const { code } = await bundle('src/index.ts', 'esm');
    // A bare `process` identifier (not a property like globalThis.process, not inside a word).
    const bare = [...code.matchAll(/(?<![.\w$'"`])process\b(?!\s*:)/g)].map((m) => code.slice(Math.max(0, m.index - 60), m.index + 40));
    expect(bare).toEqual([]);
  });

  it('trains, prints progress, and round-trips safetensors bytes with no process, Buffer or require in scope', async () => {
    const { code } = await bundle('src/index.ts', 'iife');
    const lines: string[] = [];
    // A fresh realm holds only the language's globals; add the Web APIs every browser has.
    const ctx: Record<string, unknown> = {
      console: { log: (s: string) => lines.push(s), warn: () => {}, error: (s: string) => lines.push(`error: ${s}`) },
      performance: { now: () => performance.now() }, TextEncoder, TextDecoder,
    };
    const result = runInNewContext(`${code}
      (() => {
        const m = mmoe;
        m.manualSeed(1);
        const data = m.syntheticMultiTask({ n: 256, dim: 8, correlation: 0.5, seed: 3 });
        const model = new m.MMoE({ inputDim: 8, taskTypes: ['regression', 'regression'], numExperts: 2, expertHiddenUnits: [4], towerHiddenUnits: [4], seed: 1 });
        const h = m.fit(model, { x: data.x, y: data.y }, { epochs: 2, batchSize: 64, lr: 0.01, verbose: 2 });
        const bytes = m.serializeSafetensors(model.stateDict());
        const back = m.deserializeSafetensors(bytes);
        return { epochs: h.epochs ?? h.series('loss').length, keys: Object.keys(back).length, same: Object.keys(back).length === Object.keys(model.stateDict()).length,
                 hasProcess: typeof process !== 'undefined' };
      })()`, ctx);
    expect(result.hasProcess).toBe(false);
    expect(result.same).toBe(true);
    expect(result.keys).toBeGreaterThan(0);
    // verbose 2: one line per epoch, to console.log since there is no process.stderr.
    expect(lines.filter((l) => /^epoch [12]\/2 /.test(l))).toHaveLength(2);
  });
});
