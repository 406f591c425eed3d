import { afterAll, describe, expect, it } from 'vitest';
import { binaryRegressionData } from './helpers.js';
import { Tensor, randn } from '../../src/autograd/index.js';
import { DCN, MMoE, OMoE, PLE, SharedBottom, type MultiTaskModel } from '../../src/models/index.js';
import { stackModels, unstackModels } from '../../src/nn/index.js';
import { Generator, getBackend, setBackend, setNumThreads, getNumThreads, type Backend } from '../../src/tensor/index.js';
import { fit } from '../../src/train/index.js';
import { fitStacked } from '../../src/train/fit-stacked.js';
import { wasmFeatures } from '../../src/tensor/wasm/features.js';
import { THREAD_MIN_WORK, poolChunkCounts, threadsReady } from '../../src/tensor/wasm/runtime.js';

/*
 * Stacked training is bit-identical to training each model alone: same seeds, same data order,
 * same backend. Sizes are chosen so that some products run on WebAssembly (≥ 2048 multiply-adds
 * per run) and some on JavaScript, which only holds if the stack dispatches per run.
 */

const F = 12;
const base = { inputDim: F, taskTypes: ['binary', 'regression'] as const };
const builders: Record<string, (seed: number) => MultiTaskModel> = {
  MMoE: (seed) => new MMoE({ ...base, seed, numExperts: 3, expertHiddenUnits: [24], gateHiddenUnits: [5], towerHiddenUnits: [6] }),
  OMoE: (seed) => new OMoE({ ...base, seed, numExperts: 2, expertHiddenUnits: [24, 8], towerHiddenUnits: [4] }),
  SharedBottom: (seed) => new SharedBottom({ ...base, seed, bottomHiddenUnits: [24], towerHiddenUnits: [6] }),
  PLE: (seed) => new PLE({ ...base, seed, sharedExpertNum: 2, specificExpertNum: 1, numLevels: 2, expertHiddenUnits: [16], gateHiddenUnits: [4], towerHiddenUnits: [4] }),
  DCN: (seed) => new DCN({ ...base, seed, crossNum: 2, dnnHiddenUnits: [24] }),
};

const dataFor = (r: number, n = 70): { x: Tensor; y: Tensor } => binaryRegressionData(n, F, 100 + r);

function expectSameState(a: MultiTaskModel, b: MultiTaskModel): void {
  const sa = a.stateDict(), sb = b.stateDict();
  expect(Object.keys(sb)).toEqual(Object.keys(sa));
  for (const k of Object.keys(sa)) {
    const x = sa[k].data, y = sb[k].data;
    let same = x.length === y.length;
    for (let i = 0; same && i < x.length; i++) same = Object.is(x[i], y[i]);
    expect(same, `${k} differs`).toBe(true);
  }
}

const initial = getBackend();
const initialThreads = getNumThreads();
afterAll(() => {
  setBackend(initial);
  setNumThreads(initialThreads);
});

const R = 3;
const seeds = [11, 12, 13];
const opts = { epochs: 2, batchSize: 32, lr: 0.01 };

describe.each(['wasm', 'js'] as Backend[])('fitStacked on the %s backend', (backend) => {
  it.each(Object.keys(builders))('%s: unstacked models bit-identical to models trained alone (Adam)', (name) => {
    setBackend(backend);
    const alone = seeds.map((s, r) => {
      const m = builders[name](s);
      const h = fit(m, dataFor(r), { ...opts, seed: 500 + r, verbose: 0, expertHealth: false });
      return { m, h };
    });
    const stacked = stackModels(seeds.map((s) => builders[name](s)));
    const hs = fitStacked(stacked, seeds.map((_, r) => dataFor(r)), { ...opts, seeds: seeds.map((_, r) => 500 + r) });
    const models = unstackModels(stacked);
    models.forEach((m, r) => {
      expectSameState(alone[r].m, m);
      expect(hs[r].history).toEqual(alone[r].h.history);
    });
  });
});

describe('fitStacked on float64 models', () => {
  it.each(['MMoE', 'DCN'])('%s in float64 on float32 data: bit-identical to the models trained alone', (name) => {
    setBackend('wasm');
    const alone = seeds.map((s, r) => {
      const m = builders[name](s).to('float64');
      const h = fit(m, dataFor(r), { ...opts, seed: 500 + r, verbose: 0, expertHealth: false });
      return { m, h };
    });
    const stacked = stackModels(seeds.map((s) => builders[name](s).to('float64')));
    const hs = fitStacked(stacked, seeds.map((_, r) => dataFor(r)), { ...opts, seeds: seeds.map((_, r) => 500 + r) });
    unstackModels(stacked).forEach((m, r) => {
      expect(m.parameters()[0].dtype).toBe('float64');
      expectSameState(alone[r].m, m);
      expect(hs[r].history).toEqual(alone[r].h.history);
    });
  });
});

describe.skipIf(!wasmFeatures().threads)('fitStacked with threads splitting the run axis', () => {
  it('is bit-identical on 1, 2 and 3 threads, and to the models trained alone', async () => {
    setBackend('wasm');
    // Expert product per run: 64 rows × 256 outputs × 64 inputs = 2^20 multiply-adds, below the
    // thread threshold alone; four runs stacked reach THREAD_MIN_WORK and split over the pool.
    const Rt = 4;
    const build = (seed: number): MultiTaskModel => new MMoE({ inputDim: 64, taskTypes: ['binary', 'regression'], seed, numExperts: 2, expertHiddenUnits: [128], gateHiddenUnits: [], towerHiddenUnits: [4] });
    expect(Rt * 64 * 256 * 64).toBeGreaterThanOrEqual(THREAD_MIN_WORK);
    const data = (r: number): { x: Tensor; y: Tensor } => {
      const g = new Generator(300 + r);
      const y = new Float32Array(128 * 2).map((_, i) => (i % 2 === 0 ? (g.random() < 0.5 ? 1 : 0) : g.random()));
      return { x: randn([128, 64], { generator: g }), y: new Tensor(y, [128, 2]) };
    };
    const o = { epochs: 1, batchSize: 64, lr: 0.01 };
    setNumThreads(1);
    const alone = [0, 1, 2, 3].map((r) => {
      const m = build(r + 1);
      fit(m, data(r), { ...o, seed: 40 + r, verbose: 0, expertHealth: false });
      return m;
    });
    for (const n of [1, 2, 3]) {
      setNumThreads(n);
      expect(await threadsReady()).toBe(n);
      const before = poolChunkCounts();
      const ran = (): number => poolChunkCounts().map((x, id) => x - (before[id] ?? 0)).slice(1, n).reduce((a, b) => a + b, 0);
      // Repeated until a worker has taken part (on a busy machine the calling thread can claim
      // every chunk before a worker wakes); every repetition must give the same bits.
      for (let rep = 0; rep < 8; rep++) {
        const stacked = stackModels([0, 1, 2, 3].map((r) => build(r + 1)));
        fitStacked(stacked, [0, 1, 2, 3].map(data), { ...o, seeds: [40, 41, 42, 43] });
        unstackModels(stacked).forEach((m, r) => expectSameState(alone[r], m));
        if (n === 1 || ran() > 0) break;
      }
      if (n > 1) expect(ran(), `no worker of ${n} threads ran a chunk`).toBeGreaterThan(0);
    }
  });
});

describe('stackModels / fitStacked: bad input', () => {
  it('refuses what is not per run, naming the module or option', () => {
    expect(() => stackModels([])).toThrow(/^stackModels: expected a non-empty array of models/);
    expect(() => stackModels([builders.MMoE(1), builders.OMoE(1)])).toThrow(/^stackModels: models\[1\] is not a MMoE like models\[0\]/);
    const withBn = (s: number): MultiTaskModel => new SharedBottom({ ...base, seed: s, bottomHiddenUnits: [4], dnnUseBn: true });
    expect(() => stackModels([withBn(1), withBn(2)])).toThrow(/^stackModels: '.*' is a BatchNorm1d/);
    const withDrop = (s: number): MultiTaskModel => new SharedBottom({ ...base, seed: s, bottomHiddenUnits: [4], dnnDropout: 0.2 });
    expect(() => stackModels([withDrop(1), withDrop(2)])).toThrow(/^stackModels: '.*' is a Dropout with p 0.2/);
    const m = builders.SharedBottom(1);
    expect(() => stackModels([m, m])).toThrow(/^stackModels: the same model appears twice/);
    const s = stackModels([builders.SharedBottom(1), builders.SharedBottom(2)]);
    expect(() => stackModels([s.module, builders.SharedBottom(3)])).toThrow(/^stackModels: models\[0\] is already stacked/);
    const d = [dataFor(0), dataFor(1)];
    expect(() => fitStacked(s, d, { clipGradNorm: 1 } as never)).toThrow(/^fitStacked: option 'clipGradNorm' is not available: global-norm clipping couples every run/);
    expect(() => fitStacked(s, d, { epoch: 1 } as never)).toThrow(/^fitStacked: unknown option 'epoch'/);
    expect(() => fitStacked(s, d)).toThrow(/^fitStacked: shuffling needs seeds \(one per run\)/);
    expect(() => fitStacked(s, [d[0]], { shuffle: false })).toThrow(/^fitStacked: expected 2 data sets \(one per run\), got 1/);
    expect(() => fitStacked(s, [d[0], dataFor(1, 50)], { shuffle: false })).toThrow(/^fitStacked: data\[1\] has 50 rows, data\[0\] has 70/);
    expect(() => fitStacked(s, d, { seeds: [1] })).toThrow(/^fitStacked: seeds must be 2 integers/);
    const [a, b] = unstackModels(s);
    expect(a.parameters()[0].data.length).toBeGreaterThan(0);
    expect(b).toBeInstanceOf(SharedBottom);
    expect(() => unstackModels(s)).toThrow(/^unstackModels: these models were unstacked/);
    expect(() => s.parameters()).toThrow(/^StackedModules.parameters: these models were unstacked/);
  });

  it('a stacked module holds [R, ...] parameters; unstacked models predict as before', () => {
    const ms = [builders.MMoE(1), builders.MMoE(2)];
    const before = ms.map((m) => Array.from(m.parameters()[0].data));
    const s = stackModels(ms);
    const [name, p] = s.namedParameters()[0];
    expect(p.shape).toEqual([2, ...ms[1].stateDict()[name].shape]);
    expect(Object.keys(s.stateDict())).toEqual(Object.keys(ms[1].stateDict()));
    expect(() => ms[0].parameters()[0].data).toThrow(/^stacked tensor/);
    const back = unstackModels(s);
    expect(back[0]).toBe(ms[0]);
    back.forEach((m, r) => expect(Array.from(m.parameters()[0].data)).toEqual(before[r]));
  });
});

describe('fitStacked: following runs mid-training', () => {
  it('onStep sees every step; runStateDict(r) is run r as it would be alone at that step', () => {
    setBackend('wasm');
    const o = { epochs: 2, batchSize: 32, lr: 0.01 };
    // Alone: run 1's weights after its 4th step (epoch 2, step 1; 70 rows → 3 steps per epoch).
    let atStep4: Record<string, Tensor> | null = null;
    const m = builders.MMoE(12);
    let epoch = 0;
    fit(m, dataFor(1), { ...o, seed: 501, verbose: 0, expertHealth: false, callbacks: { onEpochEnd: () => { epoch++; }, onBatchEnd: (step) => {
      if (epoch === 1 && step === 1) atStep4 = Object.fromEntries(Object.entries(m.stateDict()).map(([k, t]) => [k, new Tensor(t.data.slice(), t.shape)]));
    } } });
    const stacked = stackModels(seeds.map((s) => builders.MMoE(s)));
    const seen: string[] = [];
    let run1: Record<string, Tensor> | null = null;
    fitStacked(stacked, seeds.map((_, r) => dataFor(r)), { ...o, seeds: [500, 501, 502], onStep: (e, s) => {
      seen.push(`${e}.${s}`);
      if (e === 2 && s === 1) run1 = stacked.runStateDict(1);
    } });
    expect(seen).toEqual(['1.1', '1.2', '1.3', '2.1', '2.2', '2.3']);
    const copy = builders.MMoE(99);
    copy.loadStateDict(run1!);
    const ref = builders.MMoE(99);
    ref.loadStateDict(atStep4!);
    expectSameState(ref, copy);
    unstackModels(stacked);
  });
});

describe('fitStacked with the other elementwise optimizers', () => {
  it.each(['adamw', 'sgd', 'adagrad', 'rmsprop'] as const)('%s: bit-identical to the models trained alone', (optimizer) => {
    setBackend('wasm');
    const o = { epochs: 1, batchSize: 32, lr: 0.01, optimizer };
    const alone = seeds.map((s, r) => {
      const m = builders.MMoE(s);
      fit(m, dataFor(r), { ...o, seed: 900 + r, verbose: 0, expertHealth: false });
      return m;
    });
    const stacked = stackModels(seeds.map((s) => builders.MMoE(s)));
    fitStacked(stacked, seeds.map((_, r) => dataFor(r)), { ...o, seeds: [900, 901, 902] });
    unstackModels(stacked).forEach((m, r) => expectSameState(alone[r], m));
  });
});
