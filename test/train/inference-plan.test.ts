import { describe, expect, it } from 'vitest';
import { DenseFeat, Generator, SparseFeat, Tensor, VarLenSparseFeat, createModel, noGrad, predict, randn, storageStats, traceOps, type ModelName, type MultiTaskModel } from '../../src/index.js';
import { Linear } from '../../src/nn/linear.js';
import { Adam } from '../../src/nn/optim/index.js';
import { inEvalMode } from '../../src/train/evaluate.js';
import { fit } from '../../src/train/index.js';
import { MMoE } from '../../src/models/index.js';
import { MAX_PLAN_ROWS, inferencePlanRefusal, inputLayerOf, setInferencePlans } from '../../src/train/inference-plan.js';
import { smallMMoE } from './helpers.js';

const F = 6;
const common = { inputDim: F, taskTypes: ['regression', 'binary'] as const, taskNames: ['value', 'click'], initStd: 0.3, seed: 4 };
/** Every registered model, dense input, with dropout where it exists (eval mode must hold). */
const models: Record<ModelName, () => MultiTaskModel> = {
  MMoE: () => createModel('MMoE', { ...common, numExperts: 3, expertHiddenUnits: [5, 4], gateHiddenUnits: [3], towerHiddenUnits: [3], dnnDropout: 0.3 }),
  OMoE: () => createModel('OMoE', { ...common, numExperts: 3, expertHiddenUnits: [4], towerHiddenUnits: [3] }),
  SharedBottom: () => createModel('SharedBottom', { ...common, bottomHiddenUnits: [5], towerHiddenUnits: [3], dnnDropout: 0.5 }),
  SingleTask: () => createModel('SingleTask', { ...common, taskTypes: ['binary'], taskNames: ['click'], hiddenUnits: [4] }),
  DCN: () => createModel('DCN', { ...common, crossNum: 2, dnnHiddenUnits: [4] }),
  DCNMix: () => createModel('DCNMix', { ...common, numExperts: 2, dnnHiddenUnits: [4] }),
  PLE: () => createModel('PLE', { ...common, expertHiddenUnits: [4], towerHiddenUnits: [3] }),
  ESMM: () => createModel('ESMM', { ...common, taskTypes: ['binary', 'binary'], taskNames: ['ctr', 'ctcvr'] }),
  AITM: () => createModel('AITM', { ...common, taskTypes: ['binary', 'binary'], taskNames: ['click', 'buy'] }),
};

function both(model: MultiTaskModel, x: Parameters<typeof predict>[1], batchSize: number): [Float32Array, Float32Array] {
  setInferencePlans(false);
  try {
    const off = predict(model, x, { batchSize }).data as Float32Array;
    setInferencePlans(true);
    // A batch shape is traced the second time it comes with the weights unchanged: the second call replays.
    predict(model, x, { batchSize });
    return [off, predict(model, x, { batchSize }).data as Float32Array];
  } finally {
    setInferencePlans(true);
  }
}

const evalMode = (m: MultiTaskModel) => <T>(fn: () => T): T => inEvalMode(m, fn);

describe("predict's traced plans", () => {
  it.each(Object.keys(models) as ModelName[])('%s: a plan, and the same bits as op by op at every batch size', (name) => {
    let model: MultiTaskModel;
    try {
      model = models[name]();
    } catch (e) {
      throw new Error(`${name}: ${(e as Error).message}`);
    }
    const g = new Generator(3);
    const x = randn([11, F], { generator: g });
    expect(inferencePlanRefusal(model, randn([4, F], { generator: g }), evalMode(model))).toBeNull();
    for (const bs of [1, 4, 11, 64]) {
      const [off, on] = both(model, x, bs);
      expect(Buffer.from(on.buffer).equals(Buffer.from(off.buffer)), `${name}, batch ${bs}`).toBe(true);
    }
    // Training mode is left as it was.
    model.train();
    predict(model, x, { batchSize: 4 });
    expect(model.training).toBe(true);
  });

  it('a model with batch norm follows its running statistics (the plan is traced again once they move)', () => {
    const model = smallMMoE(7, { dnnUseBn: true });
    const g = new Generator(8);
    const x = randn([5, F], { generator: g });
    expect(inferencePlanRefusal(model, x, evalMode(model))).toBeNull();
    const first = Array.from(predict(model, x).data);
    noGrad(() => model.forward(randn([16, F], { generator: g }))); // training mode: the running statistics move
    const [off, on] = both(model, x, 5);
    expect(Array.from(on)).toEqual(Array.from(off));
    expect(Array.from(on)).not.toEqual(first);
  });

  it('sees the weights as they are: after optimizer steps, a state-dict load and a cast', () => {
    const model = smallMMoE(2);
    const g = new Generator(5);
    const x = randn([3, F], { generator: g });
    predict(model, x);
    const opt = new Adam(model.parameters(), { lr: 0.1 });
    for (let i = 0; i < 3; i++) {
      opt.zeroGrad();
      model.forward(x).sum().backward();
      opt.step();
      const [off, on] = both(model, x, 3);
      expect(Array.from(on)).toEqual(Array.from(off));
    }
    model.loadStateDict(smallMMoE(9).stateDict());
    let [off, on] = both(model, x, 3);
    expect(Array.from(on)).toEqual(Array.from(off));
    model.to('float64');
    [off, on] = both(model, x.to('float64'), 3);
    expect(Array.from(on)).toEqual(Array.from(off));
  });

  it('traces again when a module registers a child or a parameter', () => {
    const model = smallMMoE(3);
    const x = randn([2, F], { generator: new Generator(1) });
    const before = Array.from(predict(model, x).data);
    // A tower replaced by a registered module changes what forward runs: the old plan must not.
    const head = model.tower_dnn_final_layer;
    const swapped = new Linear(4, 1, { bias: false });
    noGrad(() => swapped.weight.data.fill(2));
    (head as unknown as { items: Linear[] }).items[0] = swapped;
    model.registerModule('spare', new Linear(1, 1));
    const [off, on] = both(model, x, 2);
    expect(Array.from(on)).toEqual(Array.from(off));
    expect(Array.from(on)).not.toEqual(before);
  });

  it('a forward that branches on the values runs op by op, and gives what that gives', () => {
    class Branchy extends (smallMMoE(1).constructor as typeof import('../../src/models/index.js').MMoE) {
      override logits(x: Tensor): Tensor {
        const z = super.logits(x);
        return x.data[0] > 0 ? z.neg() : z;
      }
    }
    const model = new Branchy({ inputDim: F, numExperts: 2, expertHiddenUnits: [3], taskTypes: ['regression', 'binary'], taskNames: ['a', 'b'], seed: 1 });
    const x = randn([5, F], { generator: new Generator(2) });
    expect(inferencePlanRefusal(model, x, evalMode(model))).toMatch(/differs between two inputs of the same shape|applied \d+ ops to one input and \d+ to another/);
    for (const sign of [1, -1]) {
      const xs = noGrad(() => x.mul(sign));
      const [off, on] = both(model, xs, 1);
      expect(Array.from(on)).toEqual(Array.from(off));
    }
  });

  it('traces a shape only once it comes again with the weights unchanged', () => {
    const model = smallMMoE(5);
    const x = randn([3, F], { generator: new Generator(7) });
    const opt = new Adam(model.parameters(), { lr: 0.1 });
    const step = (): void => { opt.zeroGrad(); model.forward(x).sum().backward(); opt.step(); };
    const { ops } = traceOps(() => {
      for (let i = 0; i < 3; i++) { step(); predict(model, x); }
    });
    // Evaluating after every step runs the forward once per call, never three times to trace it.
    const forwards = ops.filter((o) => o.name === 'linearConcat').length;
    expect(forwards).toBe(3 * 2 * 2); // 3 × (training forward + predict) × 2 linearConcat ops (experts, gates)
    expect(inferencePlanRefusal(model, x, evalMode(model))).toBeNull();
  });

  it('restored best weights are seen (a batch-norm model, predicting between epochs)', () => {
    const g = new Generator(12);
    const x = randn([64, F], { generator: g });
    const y = randn([64, 2], { generator: g });
    noGrad(() => { for (let i = 1; i < 128; i += 2) y.data[i] = y.data[i] > 0 ? 1 : 0; });
    const vx = randn([16, F], { generator: g });
    const model = smallMMoE(13, { dnnUseBn: true });
    const seen: number[][] = [];
    fit(model, { x, y }, {
      epochs: 6, batchSize: 16, lr: 0.05, verbose: 0, validationSplit: 0.25, seed: 3,
      earlyStopping: { patience: 1, monitor: 'val_loss', restoreBestWeights: true },
      callbacks: { onEpochEnd: () => { predict(model, vx); seen.push(Array.from(predict(model, vx).data)); } },
    });
    const clone = smallMMoE(13, { dnnUseBn: true });
    clone.loadStateDict(model.stateDict());
    expect(Array.from(predict(model, vx).data)).toEqual(Array.from(predict(clone, vx).data));
    expect(seen.length).toBeGreaterThan(1);
    // Op by op too: the experts' packed weights are cached by version (linearConcat).
    setInferencePlans(false);
    try {
      expect(Array.from(predict(model, vx).data)).toEqual(Array.from(predict(clone, vx).data));
    } finally {
      setInferencePlans(true);
    }
  });

  it('a forward that throws on a probe is not replayed, and keeps working on its own inputs', () => {
    class Counts extends MMoE {
      override logits(x: Tensor): Tensor {
        if (x.data.some((v) => v < 0)) throw new RangeError('features must be non-negative counts');
        return super.logits(x);
      }
    }
    const model = new Counts({ inputDim: F, numExperts: 2, expertHiddenUnits: [4], taskTypes: ['regression', 'binary'], taskNames: ['a', 'b'], seed: 1 });
    const x = noGrad(() => randn([4, F], { generator: new Generator(1) }).abs());
    for (let i = 0; i < 3; i++) expect(predict(model, x).shape).toEqual([4, 2]);
    expect(inferencePlanRefusal(model, x, evalMode(model))).toMatch(/the forward threw on a probe: features must be non-negative counts/);
  });

  it('inside traceOps the forward runs op by op, so the trace sees it', () => {
    const model = smallMMoE(14);
    const x = randn([2, F], { generator: new Generator(2) });
    predict(model, x);
    predict(model, x); // the plan exists from here
    const { ops } = traceOps(() => predict(model, x));
    expect(ops.length).toBeGreaterThan(5);
    expect(() => traceOps(() => { predict(model, x); predict(model, x); })).not.toThrow();
  });

  it('drops its plans with their arrays when a loop visits many batch shapes or registers modules', () => {
    if (storageStats() === null) return;
    const model = smallMMoE(15);
    const g = new Generator(3);
    const xs = Array.from({ length: 20 }, (_, i) => randn([i + 1, F], { generator: g }));
    const round = (): void => { for (const x of xs) for (let k = 0; k < 3; k++) predict(model, x); new Linear(1, 1); };
    round();
    const live = storageStats()!.liveBytes;
    for (let r = 0; r < 4; r++) round();
    // Each round's Linear keeps its two small parameter blocks (the collector's, later); the
    // plans' arrays (megabytes a round when dropped without release) do not pile up.
    expect(storageStats()!.liveBytes - live).toBeLessThan(16 * 1024);
  });

  it('leaves batches of more than MAX_PLAN_ROWS rows to run op by op', () => {
    const model = smallMMoE(16);
    const x = randn([MAX_PLAN_ROWS + 1, F], { generator: new Generator(4) });
    expect(inferencePlanRefusal(model, x, evalMode(model))).toBe(`batches of more than ${MAX_PLAN_ROWS} rows run op by op`);
    expect(inferencePlanRefusal(model, randn([MAX_PLAN_ROWS, F], { generator: new Generator(4) }), evalMode(model))).toBeNull();
    const [off, on] = both(model, x, MAX_PLAN_ROWS + 1);
    expect(Array.from(on)).toEqual(Array.from(off));
  });

  it('keeps the arena flat over many calls', () => {
    const stats = storageStats();
    if (stats === null) return;
    const model = smallMMoE(4);
    const x = randn([64, F], { generator: new Generator(6) });
    for (let i = 0; i < 5; i++) predict(model, x, { batchSize: 16 });
    const top = storageStats()!.topBytes, live = storageStats()!.liveBytes;
    for (let i = 0; i < 200; i++) predict(model, x, { batchSize: 16 });
    expect(storageStats()!.topBytes).toBe(top);
    expect(storageStats()!.liveBytes).toBe(live);
  });
});

describe("predict's traced plans on feature columns", () => {
  const features = [
    SparseFeat('user', 30, { embeddingDim: 4 }),
    VarLenSparseFeat(SparseFeat('history', 12, { embeddingDim: 3 }), 4),
    DenseFeat('price', 2),
  ];
  const fc = { features, taskTypes: ['regression', 'binary'] as const, taskNames: ['value', 'click'], initStd: 0.3, seed: 6 };
  const build: Record<string, () => MultiTaskModel> = {
    MMoE: () => createModel('MMoE', { ...fc, numExperts: 3, expertHiddenUnits: [5], towerHiddenUnits: [3], dnnDropout: 0.3 }),
    SharedBottom: () => createModel('SharedBottom', { ...fc, bottomHiddenUnits: [5], towerHiddenUnits: [3] }),
    PLE: () => createModel('PLE', { ...fc, expertHiddenUnits: [4], towerHiddenUnits: [3] }),
    'DCN without its linear part': () => createModel('DCN', { ...fc, crossNum: 2, dnnHiddenUnits: [4], linear: false }),
  };
  function batch(rows: number, seed: number): Record<string, Tensor | Int32Array> {
    const g = new Generator(seed);
    const history = new Int32Array(rows * 4);
    for (let i = 0; i < history.length; i++) history[i] = g.randint(12);
    return { user: Int32Array.from({ length: rows }, () => g.randint(30)), history, price: randn([rows, 2], { generator: g }) };
  }
  const sameBits = (a: Float32Array, b: Float32Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

  it.each(Object.keys(build))('%s: replays from the input layer\'s output, the op-by-op bits at every batch size, and after the embeddings change', (name) => {
    const model = build[name]();
    const x = batch(11, 1);
    const h = noGrad(() => inputLayerOf(model)!.forward(batch(4, 2)));
    expect(inferencePlanRefusal(model, h, evalMode(model), { layer: inputLayerOf(model)!, batch: batch(4, 2) })).toBeNull();
    for (const bs of [1, 4, 11, 64]) {
      const [off, on] = both(model, x, bs);
      expect(sameBits(on, off), `${name}, batch ${bs}`).toBe(true);
    }
    // New embedding values (an optimizer step touches every weight): the plan is traced again.
    const opt = new Adam(model.parameters(), { lr: 0.05 });
    for (const p of model.parameters()) p.grad = randn(p.shape, { generator: new Generator(9) });
    opt.step();
    const [off, on] = both(model, x, 4);
    expect(sameBits(on, off)).toBe(true);
  });

  it('refuses a forward that reads the columns through a second input layer (DCN\'s linear part), and stays correct', () => {
    const model = createModel('DCN', { ...fc, crossNum: 1, dnnHiddenUnits: [4] });
    const b = batch(4, 3);
    const from = { layer: inputLayerOf(model)!, batch: b };
    const h = noGrad(() => from.layer.forward(b));
    expect(inferencePlanRefusal(model, h, evalMode(model), from)).toMatch(/more than one input layer/);
    const x = batch(11, 4);
    for (const bs of [1, 11]) {
      const [off, on] = both(model, x, bs);
      expect(sameBits(on, off)).toBe(true);
    }
  });
});
