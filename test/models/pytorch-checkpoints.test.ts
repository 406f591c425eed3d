import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { noGrad } from '../../src/autograd/index.js';
import { fromDeepCTRTorch } from '../../src/models/index.js';
import { deserializeSafetensors } from '../../src/nn/safetensors.js';
import { savedDType } from '../../src/nn/saved-dtype.js';
import { BATCH, cases, inputFromX } from '../../interop/cases.js';

/*
 * Real PyTorch output (test/fixtures/pytorch/README.md): DeepCTR-Torch models saved by PyTorch
 * in F32 (+ I64 num_batches_tracked), F16 and BF16, with PyTorch's predictions. Each must load
 * strictly into our model and predict the same within 1e-5.
 */
const dir = join(import.meta.dirname, '..', 'fixtures', 'pytorch');
const read = (...p: string[]) => deserializeSafetensors(readFileSync(join(dir, ...p)));

describe('checkpoints written by PyTorch (DeepCTR-Torch models)', () => {
  for (const c of cases) {
    it(`${c.name}: F32, F16 and BF16 files load strictly and predict as PyTorch did`, () => {
      const X = read(c.name, 'x.safetensors').X.data as Float32Array;
      const preds = read(c.name, 'torch-pred.safetensors');
      for (const variant of ['f32', 'f16', 'bf16']) {
        const dict = read(c.name, `torch-${variant}.safetensors`);
        const counters = Object.keys(dict).filter((k) => k.endsWith('num_batches_tracked'));
        for (const k of counters) expect(savedDType(dict[k]), k).toBe('I64');
        const model = c.build();
        expect(fromDeepCTRTorch(model, dict)).toEqual({ missingKeys: [], unexpectedKeys: [] });
        const got = noGrad(() => model.eval().forward(inputFromX(c, X, BATCH))).data;
        const want = preds[variant].data;
        expect(got.length).toBe(want.length);
        for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i]), `${variant}[${i}]`).toBeLessThanOrEqual(1e-5);
        for (const k of counters) expect(dict[k].item()).toBe(20);
      }
    });
  }
});
