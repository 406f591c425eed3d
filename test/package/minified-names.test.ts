import { runInNewContext } from 'node:vm';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

/*
 * A minifying bundler renames classes (Vite's build turned 'MMoE' into 'xo'), so summary() and
 * the ONNX doc string must not come from constructor.name. The package root is bundled minified,
 * as a user's production build would be, and what users read is checked for the real names.
 */

describe('names in a minified build', () => {
  it('summary() and the ONNX doc string keep the class names', async () => {
    const contents = `
      import { MMoE, exportOnnx, SparseFeat, DenseFeat } from './src/index.ts';
      const m = new MMoE({ features: [SparseFeat('city', 5), DenseFeat('age')], taskTypes: ['binary'], numExperts: 2, expertHiddenUnits: [3], towerHiddenUnits: [2] });
      const doc = new TextDecoder().decode(exportOnnx(m));
      globalThis.result = { summary: m.summary(), doc, ctorName: m.constructor.name };`;
    const out = await build({
      stdin: { contents, resolveDir: process.cwd(), loader: 'ts' },
      bundle: true, write: false, platform: 'browser', format: 'iife', minify: true, keepNames: false, target: 'es2022', logLevel: 'silent',
    });
    const ctx: Record<string, unknown> & { result?: { summary: string; doc: string; ctorName: string } } = { TextDecoder, TextEncoder, WebAssembly };
    runInNewContext(out.outputFiles[0].text, ctx);
    const { summary, doc, ctorName } = ctx.result!;
    // The bundle did rename the class, so the check below means something.
    expect(ctorName).not.toBe('MMoE');
    expect(summary.split('\n')[0]).toMatch(/^MMoE \(output shapes/);
    for (const t of ['(DNN)', '(Linear)', '(ModuleList)', '(EmbeddingDict)', '(Embedding)', '(PredictionLayer)']) expect(summary).toContain(t);
    expect(doc).toContain('MMoE exported by mmoe-ts');
    expect(doc).not.toContain(`${ctorName} exported`);
  });
});
