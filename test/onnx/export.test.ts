import { describe, expect, it } from 'vitest';
import {
  AITM, DCN, DCNMix, DenseFeat, ESMM, MMoE, OMoE, PLE, SharedBottom, SingleTask, SparseFeat, VarLenSparseFeat, exportOnnx, manualSeed, randn,
  noGrad, type FeatureColumn, type GatedMultiTaskModel, type MultiTaskBase,
} from '../../src/index.js';
import { columnSpread, denseSample, featureSample, maxScaledDiff, ort, randomizeParameters, runBoth } from './helpers.js';

const F = 6;

// Every kind of column: two sparse columns sharing one table, var-len columns with each combiner, dense columns.
const features: FeatureColumn[] = [
  DenseFeat('price', 2),
  SparseFeat('user', 7, { embeddingDim: 3 }),
  VarLenSparseFeat(SparseFeat('history', 9, { embeddingDim: 3 }), 4, 'mean'),
  SparseFeat('item', 7, { embeddingDim: 3, embeddingName: 'user' }),
  VarLenSparseFeat(SparseFeat('tags', 5, { embeddingDim: 2 }), 3, 'sum'),
  VarLenSparseFeat(SparseFeat('clicks', 6, { embeddingDim: 2 }), 5, 'max'),
  DenseFeat('age', 1),
];

type Input = { inputDim: number } | { features: FeatureColumn[] };

/** Each model with options that reach its every branch (gates and towers with DNNs, BatchNorm, several activations). */
const builders: Record<string, (input: Input) => MultiTaskBase> = {
  MMoE: (i) => new MMoE({ ...i, taskTypes: ['binary', 'regression'], numExperts: 3, expertHiddenUnits: [8, 5], gateHiddenUnits: [4], towerHiddenUnits: [3], dnnUseBn: true }),
  OMoE: (i) => new OMoE({ ...i, taskTypes: ['binary', 'binary', 'regression'], numExperts: 2, expertHiddenUnits: [5], dnnActivation: 'tanh' }),
  SharedBottom: (i) => new SharedBottom({ ...i, taskTypes: ['regression', 'binary'], bottomHiddenUnits: [8], towerHiddenUnits: [4], dnnActivation: 'dice' }),
  SingleTask: (i) => new SingleTask({ ...i, taskTypes: ['binary', 'regression'], hiddenUnits: [5, 3], dnnActivation: 'prelu' }),
  PLE: (i) => new PLE({ ...i, taskTypes: ['binary', 'regression'], sharedExpertNum: 2, specificExpertNum: 1, numLevels: 3, expertHiddenUnits: [6], gateHiddenUnits: [3], towerHiddenUnits: [4] }),
  DCN: (i) => new DCN({ ...i, crossNum: 3, dnnHiddenUnits: [8, 4], dnnUseBn: true, dnnActivation: 'leakyRelu' }),
  'DCN (matrix)': (i) => new DCN({ ...i, taskTypes: ['binary', 'regression'], crossNum: 2, crossParameterization: 'matrix', dnnHiddenUnits: [] }),
  'DCN (cross only, vector)': (i) => new DCN({ ...i, crossNum: 2, dnnHiddenUnits: [] }),
  'DCN (no linear part)': (i) => new DCN({ ...i, crossNum: 1, dnnHiddenUnits: [5], linear: false }),
  ESMM: (i) => new ESMM({ ...i, towerHiddenUnits: [6], dnnActivation: 'tanh' }),
  DCNMix: (i) => new DCNMix({ ...i, taskTypes: ['binary', 'regression'], crossNum: 2, lowRank: 3, numExperts: 3, dnnHiddenUnits: [6], dnnUseBn: true }),
  'DCNMix (cross only, one expert)': (i) => new DCNMix({ ...i, crossNum: 1, lowRank: 2, numExperts: 1, dnnHiddenUnits: [] }),
  AITM: (i) => new AITM({ ...i, taskTypes: ['binary', 'binary', 'binary'], towerHiddenUnits: [6, 4], dnnUseBn: true }),
};

function build(name: string, input: Input, seed: number): MultiTaskBase {
  const m = builders[name](input);
  randomizeParameters(m, seed);
  return m;
}

describe('exportOnnx: ONNX Runtime agrees with our eval-mode forward (1e-5)', () => {
  let seed = 100;
  for (const name of Object.keys(builders)) {
    for (const kind of ['dense', 'feature columns'] as const) {
      it(`${name}, ${kind} input, batch sizes 1 and 7`, async () => {
        const m = build(name, kind === 'dense' ? { inputDim: F } : { features }, seed++);
        const bytes = exportOnnx(m);
        for (const B of [1, 7]) {
          const sample = kind === 'dense' ? denseSample(B, F, seed + B) : featureSample(m.inputLayer!.features, B, seed + B);
          // With ONNX Runtime's graph rewrites at batch 1, and the graph exactly as written at batch 7.
          const { ours, theirs, session } = await runBoth(m, bytes, sample, 'predictions', { graphOptimizationLevel: B === 1 ? 'all' : 'disabled' });
          expect(theirs.dims).toEqual([B, m.taskNames.length]);
          expect(theirs.type).toBe('float32');
          expect(maxScaledDiff(theirs.data as Float32Array, ours.data)).toBeLessThan(1e-5);
          if (B > 1) expect(columnSpread(ours)).toBeGreaterThan(1e-2); // the rows really differ
          expect(session.outputNames).toEqual(['predictions']);
          expect([...session.inputNames].sort()).toEqual(kind === 'dense' ? ['input'] : features.map((f) => f.name).sort());
        }
      });
    }
  }

  it("output: 'logits' gives the pre-sigmoid outputs", async () => {
    const m = build('MMoE', { inputDim: F }, 1);
    const bytes = exportOnnx(m, { output: 'logits' });
    const { ours, theirs, session } = await runBoth(m, bytes, denseSample(4, F, 2), 'logits');
    expect(session.outputNames).toEqual(['logits']);
    expect(maxScaledDiff(theirs.data as Float32Array, ours.data)).toBeLessThan(1e-5);
    // Logits leave [0, 1] for these weights; predictions of the binary column stay inside.
    expect(Array.from(ours.data).some((v) => v < 0 || v > 1)).toBe(true);
  });

  for (const name of Object.keys(builders)) {
    it(`${name}: a float64 model exports as DOUBLE and agrees to 1e-12`, async () => {
      const m = build(name, { inputDim: F }, 3).to('float64');
      const bytes = exportOnnx(m);
      const { ours, theirs } = await runBoth(m, bytes, denseSample(5, F, 4, 'float64'));
      expect(theirs.type).toBe('float64');
      expect(maxScaledDiff(theirs.data as Float64Array, ours.data)).toBeLessThan(1e-12);
    });
  }

  for (const name of ['MMoE', 'DCN', 'DCNMix']) {
    it(`${name}: a float64 model with feature columns agrees to 1e-12`, async () => {
      const m = build(name, { features }, 9).to('float64');
      const { ours, theirs } = await runBoth(m, exportOnnx(m), featureSample(m.inputLayer!.features, 6, 10, { dtype: 'float64' }));
      expect(theirs.type).toBe('float64');
      expect(maxScaledDiff(theirs.data as Float64Array, ours.data)).toBeLessThan(1e-12);
    });
  }

  for (const name of ['MMoE', 'OMoE', 'PLE']) {
    it(`${name}: gates: true adds the gate weights [batch, T, E] as a second output`, async () => {
      const m = build(name, { features }, 14) as MultiTaskBase & GatedMultiTaskModel;
      const bytes = exportOnnx(m, { gates: true });
      const sample = featureSample(m.inputLayer!.features, 6, 15);
      const session = await ort.InferenceSession.create(bytes);
      expect(session.outputNames).toEqual(['predictions', 'gates']);
      const r = await session.run(sample.feeds);
      m.eval();
      const g = noGrad(() => m.gateWeights(sample.ours));
      expect(r.gates.dims).toEqual(g.shape);
      expect(maxScaledDiff(r.gates.data as Float32Array, g.data)).toBeLessThan(1e-5);
      expect(maxScaledDiff(r.predictions.data as Float32Array, noGrad(() => m.forward(sample.ours)).data)).toBeLessThan(1e-5);
    });
  }

  it("idType: 'int32' takes int32 ids", async () => {
    const m = build('PLE', { features }, 12);
    const bytes = exportOnnx(m, { idType: 'int32' });
    const { ours, theirs } = await runBoth(m, bytes, featureSample(m.inputLayer!.features, 5, 13, { idType: 'int32' }));
    expect(maxScaledDiff(theirs.data as Float32Array, ours.data)).toBeLessThan(1e-5);
    // An int64 feed is refused by the int32 graph: the type is really part of the model.
    await expect(runBoth(m, bytes, featureSample(m.inputLayer!.features, 5, 13))).rejects.toThrow(/type|int/i);
  });

  it('exports in eval mode and leaves the training flags as they were', async () => {
    const m = build('MMoE', { inputDim: F }, 5);
    m.train();
    m.expert_dnn.get(0).eval();
    const before = m.modules().map((x) => x.training);
    const bytes = exportOnnx(m);
    expect(m.modules().map((x) => x.training)).toEqual(before);
    // BatchNorm in training mode would use batch statistics; the graph uses the running ones.
    const { ours, theirs } = await runBoth(m, bytes, denseSample(6, F, 6));
    expect(maxScaledDiff(theirs.data as Float32Array, ours.data)).toBeLessThan(1e-5);
  });

  it('does not touch the global random generator or the parameters', () => {
    const m = build('SharedBottom', { features }, 7);
    const state = Object.fromEntries(Object.entries(m.stateDict()).map(([k, t]) => [k, Array.from(t.data)]));
    manualSeed(11);
    exportOnnx(m);
    const after = Array.from(randn([4]).data);
    manualSeed(11);
    expect(after).toEqual(Array.from(randn([4]).data));
    expect(Object.fromEntries(Object.entries(m.stateDict()).map(([k, t]) => [k, Array.from(t.data)]))).toEqual(state);
  });

  it('is deterministic: the same model gives the same bytes', () => {
    const m = build('PLE', { features }, 8);
    expect(Buffer.from(exportOnnx(m)).equals(Buffer.from(exportOnnx(m)))).toBe(true);
  });
});
