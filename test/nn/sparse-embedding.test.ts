import { describe, expect, it } from 'vitest';
import { randn, tensor, type Tensor } from '../../src/autograd/index.js';
import { Generator } from '../../src/tensor/index.js';
import { Embedding } from '../../src/nn/embedding.js';
import { Adagrad, Adam, AdamW, RMSprop, SGD, clipGradNorm, type Optimizer } from '../../src/nn/optim/index.js';
import { expectGradcheck } from './helpers.js';

const V = 9;
const D = 3;
const BATCHES = [[1, 4, 1, 7], [2, 4, 4], [8, 0, 1, 5, 5, 5]];

/** Two float64 tables with equal weights, one sparse and one dense. */
function pair(paddingIdx?: number): [Embedding, Embedding] {
  const dense = new Embedding(V, D, { generator: new Generator(7), paddingIdx }).to('float64');
  const sparse = new Embedding(V, D, { sparse: true, paddingIdx }).to('float64');
  sparse.weight.data.set(dense.weight.data);
  return [sparse, dense];
}

/** A loss whose gradient differs per looked-up position: Σ rows ⊙ c. */
function loss(e: Embedding, ids: number[]): Tensor {
  const c = randn([ids.length, D], { dtype: 'float64', generator: new Generator(ids.length) });
  return e.forward(ids).mul(c).sum();
}

function train(e: Embedding, opt: Optimizer<any>, batches = BATCHES): void {
  for (const ids of batches) {
    opt.zeroGrad();
    loss(e, ids).backward();
    opt.step();
  }
}

describe('Embedding({ sparse: true })', () => {
  it('keeps the gradient row-sparse on the leaf; reading .grad gives the dense gradient', () => {
    const [sparse, dense] = pair(0);
    loss(sparse, [3, 0, 3, 6]).backward();
    loss(dense, [3, 0, 3, 6]).backward();
    expect(Array.from(sparse.weight.sparseGrad!.rows)).toEqual([3, 6]);
    expect(Array.from(sparse.weight.grad!.data)).toEqual(Array.from(dense.weight.grad!.data));
    expect(sparse.weight.sparseGrad).toBeNull();
    // A second backward accumulates into the now dense gradient, as it would for a dense table.
    loss(sparse, [1]).backward();
    loss(dense, [1]).backward();
    expect(Array.from(sparse.weight.grad!.data)).toEqual(Array.from(dense.weight.grad!.data));
  });

  it('accumulates sparse + sparse and sparse + dense contributions to one table', () => {
    const [sparse, dense] = pair();
    const f = (e: Embedding): Tensor => loss(e, [2, 5]).add(loss(e, [5, 8, 8])).add(e.weight.pow(2).sum());
    f(sparse).backward();
    f(dense).backward();
    const got = Array.from(sparse.weight.grad!.data);
    const want = Array.from(dense.weight.grad!.data);
    got.forEach((v, i) => expect(v).toBeCloseTo(want[i], 14));
    // Two sparse terms only: still sparse, rows merged.
    const [s2] = pair();
    loss(s2, [2, 5]).add(loss(s2, [5, 8, 8])).backward();
    expect(Array.from(s2.weight.sparseGrad!.rows)).toEqual([2, 5, 8]);
  });

  it('gradcheck (float64) of the sparse lookup, with repeats and a padding row', () => {
    const v = randn([2, 4, D], { dtype: 'float64', generator: new Generator(4) });
    const e = new Embedding(V, D, { sparse: true, generator: new Generator(3) }).to('float64');
    expectGradcheck(() => e.forward([1, 2, 1, 4, 2, 0, 1, 1], [2, 4]).mul(v), [e.weight], 'sparse embedding');
    const [sparse, dense] = pair(2);
    loss(sparse, [2, 1, 2]).backward();
    loss(dense, [2, 1, 2]).backward();
    expect(Array.from(sparse.weight.grad!.data)).toEqual(Array.from(dense.weight.grad!.data));
  });

  it('refuses a non-boolean sparse option', () => {
    expect(() => new Embedding(3, 2, { sparse: 1 as unknown as boolean })).toThrow('Embedding: sparse must be a boolean, got 1');
  });

  it('zeroGrad drops a pending sparse gradient', () => {
    const [sparse] = pair();
    const opt = new SGD(sparse.parameters(), { lr: 0.1 });
    loss(sparse, [1]).backward();
    opt.zeroGrad();
    expect(sparse.weight.sparseGrad).toBeNull();
    expect(sparse.weight.grad).toBeNull();
  });
});

describe('sparse vs dense updates', () => {
  it('plain SGD: bit-identical over several steps (untouched rows have zero gradient either way)', () => {
    const [sparse, dense] = pair(0);
    train(sparse, new SGD(sparse.parameters(), { lr: 0.3 }));
    train(dense, new SGD(dense.parameters(), { lr: 0.3 }));
    expect(Array.from(sparse.weight.data)).toEqual(Array.from(dense.weight.data));
  });

  it('SGD with momentum / weight decay and RMSprop densify, so they match the dense rule exactly', () => {
    for (const make of [
      (p: Tensor[]) => new SGD(p, { lr: 0.1, momentum: 0.9 }),
      (p: Tensor[]) => new SGD(p, { lr: 0.1, weightDecay: 0.01 }),
      (p: Tensor[]) => new RMSprop(p, { lr: 0.01 }),
    ]) {
      const [sparse, dense] = pair();
      train(sparse, make(sparse.parameters()));
      train(dense, make(dense.parameters()));
      expect(Array.from(sparse.weight.data)).toEqual(Array.from(dense.weight.data));
    }
  });

  it('Adagrad without weight decay: bit-identical over several steps', () => {
    const [sparse, dense] = pair();
    train(sparse, new Adagrad(sparse.parameters(), { lr: 0.1, lrDecay: 0.01, initialAccumulatorValue: 0.1 }));
    train(dense, new Adagrad(dense.parameters(), { lr: 0.1, lrDecay: 0.01, initialAccumulatorValue: 0.1 }));
    expect(Array.from(sparse.weight.data)).toEqual(Array.from(dense.weight.data));
  });

  it('Adam, AdamW, AMSGrad: the first lazy step is bit-identical to the dense step', () => {
    for (const make of [
      (p: Tensor[]) => new Adam(p, { lr: 0.01 }),
      (p: Tensor[]) => new Adam(p, { lr: 0.01, weightDecay: 0.1, amsgrad: true }),
      (p: Tensor[]) => new AdamW(p, { lr: 0.01 }),
    ]) {
      const [sparse, dense] = pair();
      const os = make(sparse.parameters());
      const od = make(dense.parameters());
      train(sparse, os, [BATCHES[0]]);
      train(dense, od, [BATCHES[0]]);
      // AdamW (and Adam's L2 term) would move untouched rows in the dense rule; the lazy rule
      // leaves them: compare touched rows always, all rows when there is no decay.
      const touched = new Set(BATCHES[0]);
      const decays = od instanceof AdamW || od.paramGroups[0].weightDecay !== 0;
      for (let r = 0; r < V; r++) {
        if (!touched.has(r) && decays) continue;
        expect(Array.from(sparse.weight.data.slice(r * D, r * D + D)), `row ${r}`).toEqual(Array.from(dense.weight.data.slice(r * D, r * D + D)));
      }
    }
  });

  it('Adam: later lazy steps freeze untouched rows and their moments, and follow the rule on touched rows', () => {
    const [sparse] = pair();
    const lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8;
    const opt = new Adam(sparse.parameters(), { lr });
    // A scalar reference of the lazy rule: per-element moments, global step t.
    const theta = Array.from(sparse.weight.data);
    const m = new Array<number>(V * D).fill(0);
    const v = new Array<number>(V * D).fill(0);
    BATCHES.forEach((ids, k) => {
      const t = k + 1;
      opt.zeroGrad();
      loss(sparse, ids).backward();
      const g = Array.from(sparse.weight.sparseGrad!.toDense().data);
      const touched = new Set(ids);
      const before = Array.from(sparse.weight.data);
      const mBefore = m.slice();
      opt.step();
      for (let i = 0; i < V * D; i++) {
        if (!touched.has(Math.floor(i / D))) continue;
        m[i] = b1 * m[i] + (1 - b1) * g[i];
        v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
        theta[i] -= (lr / (1 - b1 ** t)) * m[i] / (Math.sqrt(v[i]) / Math.sqrt(1 - b2 ** t) + eps);
      }
      const st = opt.state.get(sparse.weight)!;
      expect(st.step).toBe(t);
      for (let i = 0; i < V * D; i++) {
        expect(sparse.weight.data[i]).toBeCloseTo(theta[i], 13);
        expect((st.expAvg as Float64Array)[i]).toBeCloseTo(m[i], 14);
        if (!touched.has(Math.floor(i / D))) {
          expect(sparse.weight.data[i]).toBe(before[i]);
          expect((st.expAvg as Float64Array)[i]).toBe(mBefore[i]);
        }
      }
    });
    // Row 3 is never looked up: never moved, and its moments stayed zero (dense Adam keeps them
    // at zero too, but row 1 shows the difference: looked up at steps 1 and 3, not 2).
    expect(Array.from((opt.state.get(sparse.weight)!.expAvg as Float64Array).slice(3 * D, 4 * D))).toEqual([0, 0, 0]);
    const [, dense] = pair();
    train(dense, new Adam(dense.parameters(), { lr }));
    expect(Array.from(sparse.weight.data.slice(1 * D, 2 * D))).not.toEqual(Array.from(dense.weight.data.slice(1 * D, 2 * D)));
  });

  it('Adagrad with weight decay decays touched rows only', () => {
    const [sparse] = pair();
    const before = Array.from(sparse.weight.data);
    train(sparse, new Adagrad(sparse.parameters(), { lr: 0.1, weightDecay: 0.5 }), [[2]]);
    for (let r = 0; r < V; r++) {
      const same = Array.from(sparse.weight.data.slice(r * D, r * D + D)).every((x, j) => x === before[r * D + j]);
      expect(same, `row ${r}`).toBe(r !== 2);
    }
  });

  it('clipGradNorm measures and scales a sparse gradient as the dense one', () => {
    const [sparse, dense] = pair();
    loss(sparse, [1, 5, 1]).backward();
    loss(dense, [1, 5, 1]).backward();
    const ns = clipGradNorm(sparse.parameters(), 0.5);
    const nd = clipGradNorm(dense.parameters(), 0.5);
    expect(ns).toBeCloseTo(nd, 14);
    expect(sparse.weight.sparseGrad).not.toBeNull();
    const got = Array.from(sparse.weight.grad!.data);
    Array.from(dense.weight.grad!.data).forEach((x, i) => expect(got[i]).toBeCloseTo(x, 15));
  });

  it('a float32 table trains sparse too (float32 row values)', () => {
    const e = new Embedding(4, 2, { sparse: true, generator: new Generator(1) });
    e.forward([3]).mul(tensor([[1, 2]])).sum().backward();
    expect(e.weight.sparseGrad!.dtype).toBe('float32');
    new Adam(e.parameters()).step();
    expect(e.weight.dtype).toBe('float32');
  });
});

describe('models with sparseEmbedding', () => {
  it('MMoE and DCN: sparse and dense tables train bit-identically under plain SGD; a backward leaves every table gradient sparse', async () => {
    const { MMoE, DCN } = await import('../../src/models/index.js');
    const { features, featureBatch } = await import('../models/helpers.js');
    const { bceWithLogits } = await import('../../src/nn/losses.js');
    const build = (Model: typeof MMoE | typeof DCN, sparseEmbedding: boolean): InstanceType<typeof MMoE> | InstanceType<typeof DCN> => {
      const common = { features, taskTypes: ['binary', 'binary'] as const, l2RegEmbedding: 0, sparseEmbedding, seed: 5 };
      return Model === MMoE
        ? new MMoE({ ...common, numExperts: 2, expertHiddenUnits: [4], towerHiddenUnits: [2] })
        : new DCN({ ...common, crossNum: 1, dnnHiddenUnits: [3], l2RegLinear: 0 });
    };
    for (const Model of [MMoE, DCN]) {
      const [s, d] = [build(Model, true), build(Model, false)];
      for (const [m, opt] of [[s, new SGD(s.parameters(), { lr: 0.5 })], [d, new SGD(d.parameters(), { lr: 0.5 })]] as const) {
        for (let k = 0; k < 3; k++) {
          opt.zeroGrad();
          const b = featureBatch(6, k);
          bceWithLogits(m.logits(b), tensor([[1, 0], [0, 1], [1, 1], [0, 0], [1, 0], [0, 1]])).backward();
          opt.step();
        }
      }
      const sd = d.stateDict();
      for (const [k, v] of Object.entries(s.stateDict())) expect(Array.from(v.data), k).toEqual(Array.from(sd[k].data));
      s.zeroGrad();
      bceWithLogits(s.logits(featureBatch(4, 9)), tensor([[1, 0], [0, 1], [1, 1], [0, 0]])).backward();
      for (const p of s.inputLayer!.embeddingWeights()) expect(p.sparseGrad).not.toBeNull();
    }
  });

  it('refuses an L2 penalty on whole tables with sparse embeddings', async () => {
    const { MMoE } = await import('../../src/models/index.js');
    const { features } = await import('../models/helpers.js');
    const o = { features, taskTypes: ['binary'] as const, numExperts: 2, expertHiddenUnits: [2], towerHiddenUnits: [2] };
    expect(() => new MMoE({ ...o, sparseEmbedding: true, l2RegEmbedding: 1e-5 })).toThrow(/^MMoE: l2RegEmbedding must be 0 with sparseEmbedding \(got 0.00001\)/);
    expect(() => new MMoE({ ...o, sparseEmbedding: 'yes' as unknown as boolean })).toThrow('MMoE: sparseEmbedding must be a boolean, got yes');
    expect(new MMoE({ ...o, sparseEmbedding: true }).regularizationLoss()).toBeNull();
  });
});

describe('gradcheck through a model with sparse tables', () => {
  it('MMoE(sparseEmbedding) float64: gradients of every table and weight, through sparse lookups and var-len pooling', async () => {
    const { MMoE } = await import('../../src/models/index.js');
    const { features, featureBatch } = await import('../models/helpers.js');
    const m = new MMoE({ features, taskTypes: ['binary', 'regression'], numExperts: 2, expertHiddenUnits: [3], sparseEmbedding: true, initStd: 0.5, dnnActivation: 'tanh' }).to('float64');
    const batch = featureBatch(4, 2);
    const b64 = { ...batch, age: (batch.age as Tensor).to('float64'), vec: (batch.vec as Tensor).to('float64') };
    expectGradcheck(() => m.forward(b64), m.parameters(), 'MMoE sparse');
  });
});

describe('RowSparse gradients in the backward engine', () => {
  it('a custom op may return one: kept sparse on a leaf, densified for a non-leaf input, checked for size', async () => {
    const { defineOp } = await import('../../src/autograd/index.js');
    const { indexSelectArray, rowSparseFromLookup } = await import('../../src/tensor/index.js');
    const lookup = defineOp<{ ids: Int32Array; rows?: number }>({
      name: 'lookupRows',
      forward: (_c, [w], { ids }) => indexSelectArray(w, 0, ids),
      backward: (_c, g, [w], { ids, rows }) => [rowSparseFromLookup(g.data, ids, rows ?? w.shape[0], w.shape[1])],
    });
    const ids = new Int32Array([3, 0, 3]);
    const leaf = randn([4, 2], { dtype: 'float64', generator: new Generator(1) }).requiresGrad_();
    lookup([leaf], { ids }).sum().backward();
    expect(Array.from(leaf.sparseGrad!.rows)).toEqual([0, 3]);
    leaf.grad = null;
    lookup([leaf.mul(2)], { ids }).sum().backward();
    expect(leaf.sparseGrad).toBeNull();
    expect(Array.from(leaf.grad!.data)).toEqual([2, 2, 0, 0, 0, 0, 4, 4]);
    expect(() => lookup([leaf], { ids, rows: 5 }).sum().backward())
      .toThrow('backward: lookupRows returned a row-sparse gradient [5,2] for input 0 of shape [4,2]');
  });
});

describe('fit with sparse tables', () => {
  it('keeps the gradients sparse through fit (its storage scopes must not densify them) and trains like the dense model under SGD', async () => {
    const { MMoE } = await import('../../src/models/index.js');
    const { features, featureBatch } = await import('../models/helpers.js');
    const { fit } = await import('../../src/train/index.js');
    const build = (sparseEmbedding: boolean) => new MMoE({ features, taskTypes: ['binary', 'binary'], numExperts: 2, expertHiddenUnits: [4], sparseEmbedding, l2RegEmbedding: 0, seed: 2 });
    const x = featureBatch(40, 3);
    const y = tensor(Array.from({ length: 40 }, (_, i) => [i % 2, i % 3 === 0 ? 1 : 0]));
    const [s, d] = [build(true), build(false)];
    for (const m of [s, d]) fit(m, { x: x as never, y }, { epochs: 2, batchSize: 8, optimizer: new SGD(m.parameters(), { lr: 0.3 }), shuffle: false, verbose: 0 });
    for (const t of s.inputLayer!.embeddingWeights()) expect(t.sparseGrad).not.toBeNull();
    const sd = d.stateDict();
    for (const [k, v] of Object.entries(s.stateDict())) expect(Array.from(v.data), k).toEqual(Array.from(sd[k].data));
  });
});
