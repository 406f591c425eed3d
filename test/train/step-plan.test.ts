import { afterEach, describe, expect, it } from 'vitest';
import { Tensor, checkStepPlan, defineOp, traceStepPlan } from '../../src/autograd/index.js';
import { DCN, MMoE, OMoE, PLE, SharedBottom, SingleTask, type MultiTaskModel } from '../../src/models/index.js';
import { SGD } from '../../src/nn/optim/index.js';
import { Linear } from '../../src/nn/index.js';
import { fit, type History } from '../../src/train/index.js';
import { batchEndReadsOnly, lastStepPlanReport, setTrainingStepPlans } from '../../src/train/step-plan.js';
import { Generator } from '../../src/tensor/index.js';
import { binaryRegressionData } from './helpers.js';

/*
 * fit's traced steps (train/step-plan.ts, autograd/step-replay.ts) give the op-by-op bits: every
 * test trains the same model twice, plans off and on, and compares the weights and the history,
 * and checks that the plans were really used (or refused, with the reason).
 */

const F = 7;
const tasks = { inputDim: F, taskTypes: ['binary', 'regression'] as Array<'binary' | 'regression'> };
const architectures: Record<string, (o?: object) => MultiTaskModel> = {
  MMoE: (o = {}) => new MMoE({ ...tasks, seed: 3, numExperts: 3, expertHiddenUnits: [8], towerHiddenUnits: [4], ...o }),
  OMoE: (o = {}) => new OMoE({ ...tasks, seed: 3, numExperts: 2, expertHiddenUnits: [8], towerHiddenUnits: [4], ...o }),
  SharedBottom: (o = {}) => new SharedBottom({ ...tasks, seed: 3, bottomHiddenUnits: [8], towerHiddenUnits: [4], ...o }),
  SingleTask: (o = {}) => new SingleTask({ ...tasks, seed: 3, hiddenUnits: [8], ...o }),
  PLE: (o = {}) => new PLE({ ...tasks, seed: 3, sharedExpertNum: 2, specificExpertNum: 1, expertHiddenUnits: [6], towerHiddenUnits: [3], ...o }),
  DCN: (o = {}) => new DCN({ ...tasks, seed: 3, crossNum: 2, dnnHiddenUnits: [8], ...o }),
};

// 61 rows in batches of 16: three full batches and a ragged one of 13 (op by op) per epoch.
const data = binaryRegressionData(61, F, 11);
const base = { epochs: 3, batchSize: 16, lr: 0.01, seed: 5, verbose: 0 as const };

const bits = (m: MultiTaskModel): number[] => Object.values(m.stateDict()).flatMap((t) => Array.from(t.data));
const logs = (h: History): unknown => h.epochs.map((e) => e.logs);

/** The same fit with plans off and on: [off, on] models and histories, and the report of the planned fit. */
function twice(make: () => MultiTaskModel, opts: Record<string, unknown> = {}, d: { x: Tensor; y: Tensor } = data) {
  setTrainingStepPlans(false);
  const a = make();
  const ha = fit(a, d, { ...base, ...opts });
  setTrainingStepPlans(true);
  const b = make();
  const hb = fit(b, d, { ...base, ...opts });
  return { a, b, ha, hb, report: lastStepPlanReport() };
}

afterEach(() => setTrainingStepPlans(true));

describe('fit with traced steps', () => {
  const cases = [...Object.keys(architectures).map((a) => [a, {}]), ['MMoE with l2RegDnn', { l2RegDnn: 0.01 }]] as Array<[string, object]>;
  it.each(cases)('%s: the op-by-op bits, steps replayed', (arch, o) => {
    const { a, b, ha, hb, report } = twice(() => architectures[arch.split(' ')[0]](o));
    expect(report.refusal).toBeNull();
    // Per epoch: step 1 op by op, step 2 traced, step 3 replayed, the ragged step op by op.
    expect(report).toEqual({ replayed: 3, traces: 3, refusal: null });
    expect(bits(b)).toEqual(bits(a));
    expect(logs(hb)).toEqual(logs(ha));
  });

  it('more steps per epoch, SGD with momentum, clipGradNorm and a step scheduler, float64', () => {
    const d = binaryRegressionData(200, F, 12);
    const d64 = { x: d.x.to('float64'), y: d.y };
    let model: MultiTaskModel | null = null;
    const make = (): MultiTaskModel => (model = architectures.MMoE().to('float64') as MultiTaskModel);
    const opts = { clipGradNorm: 0.5, get optimizer() { return new SGD(model!.parameters(), { lr: 0.05, momentum: 0.9 }); } };
    const { a, b, ha, hb, report } = twice(make, opts, d64);
    expect(report.refusal).toBeNull();
    expect(report.replayed).toBeGreaterThan(20);
    expect(bits(b)).toEqual(bits(a));
    expect(logs(hb)).toEqual(logs(ha));
  });

  it('refuses dropout (a frozen mask) and batch norm in training, keeping the op-by-op bits and random stream', () => {
    for (const [o, why] of [[{ dnnDropout: 0.3 }, /random numbers/], [{ dnnUseBn: true }, /in place/]] as const) {
      const { a, b, ha, hb, report } = twice(() => architectures.MMoE(o));
      expect(report.refusal).toMatch(why);
      expect(report.replayed).toBe(0);
      expect(bits(b)).toEqual(bits(a));
      expect(logs(hb)).toEqual(logs(ha));
    }
  });

  it('gives no plans where the step is not the plain one', () => {
    const cases: Array<[() => MultiTaskModel, Record<string, unknown>, RegExp]> = [
      [() => architectures.MMoE(), { taskWeighting: 'uncertainty' }, /learned/],
      [() => architectures.MMoE(), { sampleWeight: new Float32Array(61).fill(2) }, /weighted/],
      [() => architectures.MMoE(), { callbacks: [{ onBatchEnd: () => undefined }] }, /onBatchEnd/],
    ];
    for (const [make, opts, why] of cases) {
      const { a, b, ha, hb, report } = twice(make, opts);
      expect(report.refusal).toMatch(why);
      expect(bits(b)).toEqual(bits(a));
      expect(logs(hb)).toEqual(logs(ha));
    }
    const missing = { x: data.x, y: new Tensor(Float32Array.from(data.y.data, (v, i) => (i === 9 ? NaN : v)), data.y.shape) };
    expect(twice(() => architectures.MMoE(), { missingLabels: 'mask' }, missing).report.refusal).toMatch(/missing/);
  });

  it('keeps plans with a callback marked batchEndReadsOnly, and traces again after a parameter is frozen', () => {
    const seen: number[] = [];
    const readOnly = { onBatchEnd: (s: number) => { seen.push(s); }, [batchEndReadsOnly]: true };
    const freeze = { onEpochEnd: (log: { epoch: number }) => { if (log.epoch === 1) modelRef.m!.parameters()[0].requiresGrad = false; } };
    const modelRef: { m: MultiTaskModel | null } = { m: null };
    const make = (): MultiTaskModel => (modelRef.m = architectures.MMoE());
    const { a, b, ha, hb, report } = twice(make, { callbacks: [readOnly, freeze] });
    expect(report).toEqual({ replayed: 3, traces: 3, refusal: null });
    expect(seen.length).toBe(24);
    expect(bits(b)).toEqual(bits(a));
    expect(logs(hb)).toEqual(logs(ha));
  });
});

describe('traceStepPlan', () => {
  const lin = new Linear(3, 1, { generator: new Generator(1) });
  const params = new Set(lin.parameters());
  const x = new Tensor(new Float32Array([1, -2, 3, 0.5, 0, -1]), [2, 3]);
  const probe = [x.neg()];

  it('refuses a step that branches on the data in JavaScript', () => {
    const step = ([v]: readonly Tensor[]): Tensor[] => {
      const y = lin.forward(v);
      return [(y.data[0] > 0 ? y.relu() : y.neg()).sum()];
    };
    expect(traceStepPlan(step, [x], [probe], params, params).plan).toMatch(/differs between two inputs/);
  });

  it('refuses gradients flowing to a tensor that is not a leaf it was given', () => {
    const extra = new Tensor(new Float32Array([2]), [1], true);
    const step = ([v]: readonly Tensor[]): Tensor[] => [lin.forward(v).mul(extra).sum()];
    expect(traceStepPlan(step, [x], [probe], params, new Set([...params, extra])).plan).toMatch(/not a parameter/);
  });

  it('checkStepPlan catches a step that edits an output in JavaScript', () => {
    const step = ([v]: readonly Tensor[]): Tensor[] => {
      const y = lin.forward(v);
      y.data[0] += 1; // work outside the ops: a replay does not see it
      return [y.sum()];
    };
    const { outputs, plan } = traceStepPlan(step, [x], [probe], params, params);
    if (typeof plan === 'string') throw new Error(plan);
    const why = checkStepPlan(plan, outputs, [x], lin.parameters(), () => outputs[0].backward());
    expect(why).toMatch(/output 0 differs/);
  });

  it('replays forward and backward with the engine\'s gradients, accumulated into .grad', () => {
    const square = defineOp<undefined, undefined>({
      name: 'testSquare',
      forward: (_c, [a]) => { const o = new Float32Array(a.size); for (let i = 0; i < o.length; i++) o[i] = a.data[i] * a.data[i]; return new Tensor(o, a.shape); },
      backward: (_c, g, [a]) => [new Tensor(Float32Array.from(a.data, (v, i) => 2 * v * g.data[i % g.size]), a.shape)],
    });
    const step = ([v]: readonly Tensor[]): Tensor[] => [square([lin.forward(v)], undefined).sum()];
    const { outputs, plan } = traceStepPlan(step, [x], [probe], params, params);
    if (typeof plan === 'string') throw new Error(plan);
    lin.parameters().forEach((p) => { p.grad = null; });
    expect(checkStepPlan(plan, outputs, [x], lin.parameters(), () => outputs[0].backward())).toBeNull();
    const engine = lin.parameters().map((p) => Array.from(p.grad!.data));
    const out = plan.forward([x]);
    expect(out[0].data[0]).toBe(outputs[0].data[0]);
    plan.backward();
    // The replay added its gradients to the engine's, as a second loss.backward() would.
    expect(lin.parameters().map((p) => Array.from(p.grad!.data))).toEqual(engine.map((g) => g.map((v) => Math.fround(2 * v))));
  });
});
