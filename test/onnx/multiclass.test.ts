import { describe, expect, it } from 'vitest';
import { DCN, DenseFeat, MMoE, OMoE, PLE, SharedBottom, SingleTask, SparseFeat, exportOnnx, toDeepCTRTorch, fromDeepCTRTorch, type MultiTaskBase, type TaskType } from '../../src/index.js';
import { columnSpread, denseSample, featureSample, maxScaledDiff, randomizeParameters, runBoth } from './helpers.js';

const F = 5;
const taskTypes: TaskType[] = ['multiclass', 'binary', 'multiclass', 'regression'];
const common = { taskTypes, taskNames: ['genre', 'click', 'rating', 'time'], numClasses: { genre: 3, rating: 5 } };
const W = 3 + 1 + 5 + 1;

const builders: Record<string, (i: { inputDim: number } | { features: ReturnType<typeof features> }) => MultiTaskBase> = {
  MMoE: (i) => new MMoE({ ...i, ...common, numExperts: 3, expertHiddenUnits: [6], gateHiddenUnits: [3], towerHiddenUnits: [4] }),
  OMoE: (i) => new OMoE({ ...i, ...common, numExperts: 2, expertHiddenUnits: [5] }),
  SharedBottom: (i) => new SharedBottom({ ...i, ...common, bottomHiddenUnits: [6], towerHiddenUnits: [3] }),
  SingleTask: (i) => new SingleTask({ ...i, ...common, hiddenUnits: [4] }),
  PLE: (i) => new PLE({ ...i, ...common, expertHiddenUnits: [5], numLevels: 2, towerHiddenUnits: [3] }),
  DCN: (i) => new DCN({ ...i, ...common, crossNum: 2, dnnHiddenUnits: [6] }),
};
const features = () => [DenseFeat('price', 2), SparseFeat('user', 7, { embeddingDim: 3 })];

describe('exportOnnx with multiclass tasks: ONNX Runtime agrees (1e-5), softmax blocks included', () => {
  let seed = 300;
  for (const name of Object.keys(builders)) {
    for (const kind of ['dense', 'feature columns'] as const) {
      it(`${name}, ${kind} input: predictions and logits [batch, ${W}]`, async () => {
        const m = builders[name](kind === 'dense' ? { inputDim: F } : { features: features() });
        randomizeParameters(m, seed++);
        for (const output of ['predictions', 'logits'] as const) {
          const bytes = exportOnnx(m, { output });
          for (const B of [1, 6]) {
            const sample = kind === 'dense' ? denseSample(B, F, seed + B) : featureSample(m.inputLayer!.features, B, seed + B);
            const { ours, theirs, session } = await runBoth(m, bytes, sample, output, { graphOptimizationLevel: B === 1 ? 'all' : 'disabled' });
            expect(theirs.dims).toEqual([B, W]);
            expect(maxScaledDiff(theirs.data as Float32Array, ours.data)).toBeLessThan(1e-5);
            if (B > 1) expect(columnSpread(ours)).toBeGreaterThan(1e-2);
            if (output === 'predictions') {
              const d = theirs.data as Float32Array;
              for (let b = 0; b < B; b++) {
                expect(d[b * W] + d[b * W + 1] + d[b * W + 2]).toBeCloseTo(1, 5);
                expect([4, 5, 6, 7, 8].reduce((a, c) => a + d[b * W + c], 0)).toBeCloseTo(1, 5);
              }
            }
          }
        }
      });
    }
  }
});

describe('DeepCTR-Torch interop refuses multiclass tasks, saying why', () => {
  it('toDeepCTRTorch and fromDeepCTRTorch', () => {
    for (const name of ['MMoE', 'SharedBottom', 'PLE', 'DCN']) {
      const m = builders[name]({ inputDim: F });
      expect(() => toDeepCTRTorch(m)).toThrow(/^toDeepCTRTorch: task 'genre' is multiclass; DeepCTR-Torch's models have one output per task with task_types 'binary' or 'regression'/);
      expect(() => fromDeepCTRTorch(m, {})).toThrow(/^fromDeepCTRTorch: task 'genre' is multiclass/);
    }
  });
});
