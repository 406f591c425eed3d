import { describe, expect, it } from 'vitest';
import { buildModels, denseBatch, featureBatch, type Input } from './helpers.js';

describe('every model: forward shape [B, T]', () => {
  for (const input of ['dense', 'features'] as Input[]) {
    for (const useBn of [false, true]) {
      const models = buildModels(input, { dnnUseBn: useBn, dnnDropout: 0.3 });
      for (const [name, model] of Object.entries(models)) {
        it(`${name} (${input}${useBn ? ', BatchNorm' : ''}) for B = 1 and 7, train and eval`, () => {
          for (const mode of ['train', 'eval'] as const) {
            model.train(mode === 'train');
            for (const B of [1, 7]) {
              const x = input === 'dense' ? denseBatch(B) : featureBatch(B);
              const logits = model.logits(x);
              const y = model.forward(x);
              expect(logits.shape).toEqual([B, 2]);
              expect(y.shape).toEqual([B, 2]);
              for (const v of y.data) expect(Number.isFinite(v)).toBe(true);
              // Task 0 is binary (a probability), task 1 regression (the logit itself).
              for (let b = 0; b < B; b++) {
                expect(y.data[b * 2]).toBeGreaterThan(0);
                expect(y.data[b * 2]).toBeLessThan(1);
                if (mode === 'eval') {
                  expect(y.data[b * 2]).toBeCloseTo(1 / (1 + Math.exp(-logits.data[b * 2])), 6);
                  expect(y.data[b * 2 + 1]).toBeCloseTo(logits.data[b * 2 + 1], 6);
                }
              }
            }
          }
        });
      }
    }
  }

  it('a training step with batch size 1 gives finite gradients (BatchNorm uses running statistics)', () => {
    const models = buildModels('dense', { dnnUseBn: true });
    for (const model of Object.values(models)) {
      model.train();
      model.forward(denseBatch(1)).sum().backward();
      const withGrad = model.parameters().filter((p) => p.grad);
      expect(withGrad.length).toBeGreaterThan(0);
      for (const p of withGrad) for (const v of p.grad!.data) expect(Number.isFinite(v)).toBe(true);
    }
  });

  it('eval mode is deterministic with dropout, train mode is not', () => {
    const { MMoE: m } = buildModels('dense', { dnnDropout: 0.5, initStd: 0.5 });
    const x = denseBatch(7);
    m.eval();
    expect(m.forward(x).toArray()).toEqual(m.forward(x).toArray());
    m.train();
    expect(m.forward(x).toArray()).not.toEqual(m.forward(x).toArray());
  });
});
