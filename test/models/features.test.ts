import { describe, expect, it } from 'vitest';
import { gradcheck, tensor, type Tensor } from '../../src/autograd/index.js';
import {
  DenseFeat, InputLayer, SparseFeat, VarLenSparseFeat, computeInputDim, type Combiner,
} from '../../src/models/index.js';

const row = (t: Tensor, r: number): number[] => Array.from(t.data.subarray(r * t.shape[1], (r + 1) * t.shape[1]));

describe('feature columns', () => {
  it("SparseFeat: embeddingDim default 4, 'auto' = 6·⌊vocab^¼⌋", () => {
    expect(SparseFeat('a', 10).embeddingDim).toBe(4);
    expect(SparseFeat('a', 100, { embeddingDim: 'auto' }).embeddingDim).toBe(18); // 100^¼ ≈ 3.16
    expect(SparseFeat('a', 16, { embeddingDim: 'auto' }).embeddingDim).toBe(12); // exactly 2
    expect(SparseFeat('a', 10000, { embeddingDim: 'auto' }).embeddingDim).toBe(60);
    expect(DenseFeat('d').dimension).toBe(1);
    expect(VarLenSparseFeat(SparseFeat('h', 5), 4).combiner).toBe('mean');
    expect(computeInputDim([SparseFeat('a', 9, { embeddingDim: 3 }), DenseFeat('d', 2), VarLenSparseFeat(SparseFeat('h', 5, { embeddingDim: 2 }), 4)])).toBe(7);
  });

  it('reject bad arguments, naming the function and the feature', () => {
    expect(() => SparseFeat('a', 0)).toThrow(/^SparseFeat: vocabularySize of 'a' must be a positive integer, got 0/);
    expect(() => SparseFeat('a', 5, { embeddingDim: 0 })).toThrow(/^SparseFeat: embeddingDim of 'a'/);
    expect(() => SparseFeat('a.b', 5)).toThrow(/^SparseFeat: name must be a non-empty string without dots/);
    expect(() => DenseFeat('d', 0)).toThrow(/^DenseFeat: dimension of 'd'/);
    expect(() => VarLenSparseFeat(SparseFeat('h', 5), 0)).toThrow(/^VarLenSparseFeat: maxLen of 'h'/);
    expect(() => VarLenSparseFeat(SparseFeat('h', 5), 2, 'min' as Combiner)).toThrow(/^VarLenSparseFeat: combiner of 'h'/);
    expect(() => new InputLayer([DenseFeat('d'), DenseFeat('d')])).toThrow(/^InputLayer: feature 'd' is declared twice/);
  });
});

describe('InputLayer', () => {
  const cols = [
    DenseFeat('d', 2),
    VarLenSparseFeat(SparseFeat('h', 6, { embeddingDim: 2 }), 3, 'mean'),
    SparseFeat('s', 4, { embeddingDim: 3 }),
  ];

  it("concatenates sparse embeddings, pooled var-len embeddings, then dense values (DeepCTR's order)", () => {
    const layer = new InputLayer(cols, { initStd: 1 });
    expect(layer.inputDim).toBe(7);
    const S = layer.embeddingDict.tables.get('s')!.weight;
    const Hw = layer.embeddingDict.tables.get('h')!.weight;
    const emb = (w: Tensor, id: number): number[] => row(w, id);
    const out = layer.forward({
      d: tensor([[1, 2], [3, 4]]),
      s: new Int32Array([3, 0]),
      h: new Int32Array([1, 2, 0, 0, 0, 0]), // row 0: ids 1, 2 then padding; row 1: all padding
    });
    expect(out.shape).toEqual([2, 7]);
    const mean = emb(Hw, 1).map((v, j) => (v + emb(Hw, 2)[j]) / 2);
    const expected0 = [...emb(S, 3), ...mean, 1, 2];
    row(out, 0).forEach((v, j) => expect(v).toBeCloseTo(expected0[j], 5));
    const expected1 = [...emb(S, 0), 0, 0, 3, 4];
    row(out, 1).forEach((v, j) => expect(v).toBeCloseTo(expected1[j], 5));
  });

  it('pools var-len ids with sum, mean and max, ignoring id 0 (padding)', () => {
    for (const combiner of ['sum', 'mean', 'max'] as Combiner[]) {
      const layer = new InputLayer([VarLenSparseFeat(SparseFeat('h', 5, { embeddingDim: 2 }), 3, combiner)], { initStd: 1 });
      const W = layer.embeddingDict.tables.get('h')!.weight;
      const out = layer.forward({ h: new Int32Array([4, 0, 2, 0, 0, 0, 3, 3, 3]) });
      const rows = [[4, 2], [], [3, 3, 3]];
      rows.forEach((ids, r) => {
        for (let j = 0; j < 2; j++) {
          const vals = ids.map((id) => W.data[id * 2 + j]);
          const want = vals.length === 0 ? 0
            : combiner === 'sum' ? vals.reduce((a, b) => a + b, 0)
              : combiner === 'mean' ? vals.reduce((a, b) => a + b, 0) / vals.length
                : Math.max(...vals);
          expect(out.data[r * 2 + j]).toBeCloseTo(want, 5);
        }
      });
    }
  });

  it('features sharing an embeddingName share one table', () => {
    const layer = new InputLayer([
      SparseFeat('item', 7, { embeddingDim: 2 }),
      VarLenSparseFeat(SparseFeat('hist', 7, { embeddingDim: 2, embeddingName: 'item' }), 2, 'sum'),
    ]);
    expect([...layer.embeddingDict.tables.keys()]).toEqual(['item']);
    expect(() => new InputLayer([SparseFeat('a', 7), SparseFeat('b', 8, { embeddingName: 'a' })])).toThrow(/^InputLayer: feature 'b' shares embedding 'a'/);
  });

  it('errors name the missing feature, the wrong length or the bad id', () => {
    const layer = new InputLayer(cols);
    const ok = { d: tensor([[1, 2], [3, 4]]), s: new Int32Array([1, 2]), h: new Int32Array(6) };
    expect(() => layer.forward({ d: ok.d, h: ok.h })).toThrow(/^InputLayer: missing feature 's' in the batch/);
    expect(() => layer.forward({ ...ok, s: new Int32Array([1, 2, 3]) })).toThrow(/^InputLayer: feature 'h' has 2 rows, but 's' has 3/);
    expect(() => layer.forward({ ...ok, h: new Int32Array(5) })).toThrow(/^InputLayer: var-len feature 'h' must have B·maxLen = B·3 ids, got 5/);
    expect(() => layer.forward({ ...ok, s: new Int32Array([1, 4]) })).toThrow(/^InputLayer: feature 's' has id 4 at position 1, outside \[0, 4\)/);
    expect(() => layer.forward({ ...ok, d: tensor([1, 2]) })).toThrow(/^InputLayer: dense feature 'd' must be \[B, 2\], got \[2\]/);
    expect(() => layer.forward({ ...ok, d: tensor([[1, 2, 3], [4, 5, 6]]) })).toThrow(/^InputLayer: dense feature 'd' must be \[B, 2\]/);
  });

  it('accepts a [B] tensor for a 1-wide dense feature and float-valued id tensors', () => {
    const layer = new InputLayer([DenseFeat('d'), SparseFeat('s', 3, { embeddingDim: 1 })]);
    expect(layer.forward({ d: tensor([1, 2, 3]), s: tensor([0, 2, 1]) }).shape).toEqual([3, 2]);
    expect(() => layer.forward({ d: tensor([1]), s: tensor([0.5]) })).toThrow(/^InputLayer: feature 's' has a non-integer id 0.5/);
  });

  it('gradcheck (float64) through embeddings with each combiner and through dense values', () => {
    for (const combiner of ['sum', 'mean', 'max'] as Combiner[]) {
      const layer = new InputLayer([
        SparseFeat('s', 4, { embeddingDim: 2 }),
        VarLenSparseFeat(SparseFeat('h', 5, { embeddingDim: 2 }), 3, combiner),
        DenseFeat('d', 2),
      ], { initStd: 1 }).to('float64');
      const d = tensor([[0.5, -1], [2, 0.25], [1, 1]], { dtype: 'float64', requiresGrad: true });
      const batch = { s: new Int32Array([1, 1, 3]), h: new Int32Array([1, 2, 0, 0, 0, 0, 4, 4, 3]), d };
      const r = gradcheck(() => layer.forward(batch).tanh(), [d, ...layer.parameters()], { eps: 1e-6, atol: 1e-5, rtol: 1e-3 });
      expect(r.ok, `${combiner}: ${r.message}`).toBe(true);
    }
  });
});

describe('dtype handling', () => {
  it('a float64 model with only dense feature columns takes float32 values', async () => {
    const { MMoE, DenseFeat: D } = await import('../../src/models/index.js');
    const m = new MMoE({ features: [D('a', 2), D('b')], numExperts: 2, expertHiddenUnits: [3], taskTypes: ['binary'] }).to('float64');
    const y = m.forward({ a: tensor([[1, 2]]), b: tensor([[3]]) });
    expect(y.dtype).toBe('float64');
    expect(y.shape).toEqual([1, 1]);
  });
});
