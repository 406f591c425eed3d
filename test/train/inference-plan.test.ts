import { describe, expect, it } from 'vitest';
import { Generator, Tensor, createModel, noGrad, predict, randn, storageStats, traceOps, type ModelName, type MultiTaskModel } from '../../src/index.js';
import { Linear } from '../../src/nn/linear.js';
import { Adam } from '../../src/nn/optim/index.js';
import { inEvalMode } from '../../src/train/evaluate.js';
import { inferencePlanRefusal, setInferencePlans } from '../../src/train/inference-plan.js';
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

function both(model: MultiTaskModel, x: Tensor, batchSize: number): [Float32Array, Float32Array] {
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
