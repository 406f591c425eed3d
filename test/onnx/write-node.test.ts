import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SharedBottom, exportOnnx } from '../../src/index.js';
import { writeOnnx } from '../../src/onnx/write-node.js';
import { denseSample, maxScaledDiff, ort, randomizeParameters } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'onnx-write-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('writeOnnx (Node)', () => {
  const m = new SharedBottom({ inputDim: 4, taskTypes: ['binary'], bottomHiddenUnits: [3] });
  randomizeParameters(m, 1);

  it('writes the exported bytes atomically, loadable by ONNX Runtime from the path', async () => {
    const file = join(dir, 'model.onnx');
    const n = await writeOnnx(file, m);
    const bytes = readFileSync(file);
    expect(n).toBe(bytes.length);
    expect(bytes.equals(Buffer.from(exportOnnx(m)))).toBe(true);
    expect(readdirSync(dir)).toEqual(['model.onnx']); // no temp file left
    const s = await ort.InferenceSession.create(file);
    const x = denseSample(3, 4, 2);
    const r = await s.run(x.feeds);
    m.eval();
    expect(maxScaledDiff(r.predictions.data as Float32Array, m.forward(x.ours).data)).toBeLessThan(1e-5);
    // Overwrites in place, with the options passed through.
    await writeOnnx(file, m, { output: 'logits' });
    expect((await ort.InferenceSession.create(file)).outputNames).toEqual(['logits']);
  });

  it('fails naming the file and leaves nothing behind', async () => {
    await expect(writeOnnx(join(dir, 'missing', 'x.onnx'), m)).rejects.toThrow(/^writeOnnx: cannot write .*missing\/x\.onnx: ENOENT/);
    await expect(writeOnnx('', m)).rejects.toThrow('writeOnnx: file must be a non-empty path');
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
