import { afterEach, describe, expect, it } from 'vitest';
import { Tensor, defineOp, traceStepPlan, type StepTraceOptions } from '../../src/autograd/index.js';
import { DCN, DCNMix, MMoE, OMoE, PLE, SharedBottom, SingleTask, type MultiTaskModel } from '../../src/models/index.js';
import { SGD } from '../../src/nn/optim/index.js';
import { Linear } from '../../src/nn/index.js';
import { fit, type History } from '../../src/train/index.js';
import { MIN_STEPS, batchEndReadsOnly, lastStepPlanReport, setTrainingStepPlans } from '../../src/train/step-plan.js';
import { ESMM } from '../../src/models/esmm.js';
import { LinearLR, SequentialLR, StepLR, type SchedulableOptimizer } from '../../src/nn/optim/lr-scheduler.js';
import { Generator } from '../../src/tensor/index.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelCheckpoint } from '../../src/train/checkpoint-node.js';
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
  DCNMix: (o = {}) => new DCNMix({ ...tasks, seed: 3, crossNum: 2, dnnHiddenUnits: [8], lowRank: 3, numExperts: 2, ...o }),
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
  // Plans from epochs of 2 steps on (fit's default, MIN_STEPS, is for speed, not for the bits).
  setTrainingStepPlans(true, 2);
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

  it('ESMM (two binary tasks, CTR and CTCVR) trains with plans, the op-by-op bits', () => {
    const g = new Generator(13);
    const d = { x: binaryRegressionData(61, F, 14).x, y: new Tensor(Float32Array.from({ length: 122 }, () => (g.random() < 0.4 ? 1 : 0)), [61, 2]) };
    const { a, b, ha, hb, report } = twice(() => new ESMM({ inputDim: F, seed: 3, towerHiddenUnits: [8, 4] }), {}, d);
    expect(report).toEqual({ replayed: 3, traces: 3, refusal: null });
    expect(bits(b)).toEqual(bits(a));
    expect(logs(hb)).toEqual(logs(ha));
  });

  it('per-task early stopping that zeroes every task weight mid-fit: op by op from then on, the same bits', () => {
    const opts = { epochs: 6, lossWeights: [0, 1], earlyStopping: { perTask: true, patience: 0, mode: 'max', monitor: '{task}_loss' } };
    const { a, b, ha, hb, report } = twice(() => architectures.MMoE(), opts);
    expect(report.refusal).toBeNull();
    expect(report.replayed).toBeGreaterThan(0);
    expect(bits(b)).toEqual(bits(a));
    expect(logs(hb)).toEqual(logs(ha));
    expect(hb.taskEarlyStopping).toEqual(ha.taskEarlyStopping);
  });

  it('per-step schedulers: the library\'s keep plans; a user\'s own refuses them (it may change what the forward reads)', () => {
    let m: MultiTaskModel | null = null;
    const make = (): MultiTaskModel => (m = architectures.MMoE());
    const ours = { lrScheduler: { scheduler: (o: SchedulableOptimizer) => new SequentialLR(o, [new LinearLR(o, { startFactor: 0.5, totalIters: 4 }), new StepLR(o, 2)], [4]), interval: 'step' } };
    const r1 = twice(make, ours);
    expect(r1.report.refusal).toBeNull();
    expect(bits(r1.b)).toEqual(bits(r1.a));
    class Annealing extends StepLR {
      override step(): void { super.step(); (m as unknown as { temperature: number }).temperature = 1 / (1 + this.lastEpoch); }
    }
    const r2 = twice(make, { lrScheduler: { scheduler: (o: SchedulableOptimizer) => new Annealing(o, 2), interval: 'step' } });
    expect(r2.report.refusal).toMatch(/scheduler/);
    expect(bits(r2.b)).toEqual(bits(r2.a));
  });

  it('runEagerly, and epochs shorter than MIN_STEPS (by default), train op by op', () => {
    expect(twice(() => architectures.MMoE(), { runEagerly: true }).report.refusal).toBe('runEagerly');
    setTrainingStepPlans(true);
    fit(architectures.MMoE(), data, base);
    expect(lastStepPlanReport().refusal).toMatch(new RegExp(`4 steps, fewer than the ${MIN_STEPS}`));
    expect(() => fit(architectures.MMoE(), data, { ...base, runEagerly: 1 as unknown as boolean })).toThrow(/runEagerly/);
  });

  it('ModelCheckpoint (everySteps) keeps plans; a subclass that overrides onBatchEnd does not', () => {
    const dir = mkdtempSync(join(tmpdir(), 'step-plan-'));
    try {
      const r1 = twice(() => architectures.MMoE(), { callbacks: [new ModelCheckpoint({ dir, everySteps: 3 })] });
      expect(r1.report).toEqual({ replayed: 3, traces: 3, refusal: null });
      expect(bits(r1.b)).toEqual(bits(r1.a));
      class Meddling extends ModelCheckpoint {
        override onBatchEnd(): void { /* might change the model */ }
      }
      expect(twice(() => architectures.MMoE(), { callbacks: [new Meddling({ dir })] }).report.refusal).toMatch(/onBatchEnd/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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
  const x = new Tensor(new Float32Array([1, -2, 3, 0.5, 0, -1]), [2, 3]);
  const options = (extra: Partial<StepTraceOptions> = {}): StepTraceOptions => ({
    probes: [[x.neg()]], leaves: lin.parameters(), constants: new Set(lin.parameters()),
    backward: ([loss]) => loss.backward(), ...extra,
  });

  it('refuses a step that branches on the data in JavaScript', () => {
    const step = ([v]: readonly Tensor[]): Tensor[] => {
      const y = lin.forward(v);
      return [(y.data[0] > 0 ? y.relu() : y.neg()).sum()];
    };
    expect(traceStepPlan(step, [x], options()).plan).toMatch(/differs between two inputs/);
  });

  it('refuses a value computed in JavaScript from a parameter (it would be frozen), and restores the parameters bit for bit', () => {
    const w = lin.parameters()[0];
    const bitsBefore = Array.from(w.data);
    const step = ([v]: readonly Tensor[]): Tensor[] => {
      let norm = 0;
      for (const a of w.data) norm += a * a;
      return [lin.forward(v).mul(new Tensor(new Float32Array([1 / Math.sqrt(norm)]), [1])).sum()];
    };
    expect(traceStepPlan(step, [x], options()).plan).toMatch(/differs between two inputs/);
    expect(Array.from(w.data)).toEqual(bitsBefore);
  });

  it('refuses gradients flowing to a tensor that is not a leaf it was given', () => {
    const extra = new Tensor(new Float32Array([2]), [1], true);
    const step = ([v]: readonly Tensor[]): Tensor[] => [lin.forward(v).mul(extra).sum()];
    expect(traceStepPlan(step, [x], options({ constants: new Set([...lin.parameters(), extra]) })).plan).toMatch(/not a parameter/);
  });

  it('refuses a step that edits an output in JavaScript (the replay differs)', () => {
    const step = ([v]: readonly Tensor[]): Tensor[] => {
      const y = lin.forward(v);
      y.data[0] += 1; // work outside the ops: a replay does not see it
      return [y.sum()];
    };
    expect(traceStepPlan(step, [x], options()).plan).toMatch(/output 0 differs/);
  });

  it('runs the real backward first and leaves its gradients; the replay accumulates into .grad as the engine does', () => {
    const square = defineOp<undefined, undefined>({
      name: 'testSquare',
      forward: (_c, [a]) => { const o = new Float32Array(a.size); for (let i = 0; i < o.length; i++) o[i] = a.data[i] * a.data[i]; return new Tensor(o, a.shape); },
      backward: (_c, g, [a]) => [new Tensor(Float32Array.from(a.data, (v, i) => 2 * v * g.data[i % g.size]), a.shape)],
    });
    const step = ([v]: readonly Tensor[]): Tensor[] => [square([lin.forward(v)], undefined).sum()];
    lin.parameters().forEach((p) => { p.grad = null; });
    const { outputs, plan } = traceStepPlan(step, [x], options());
    if (typeof plan === 'string') throw new Error(plan);
    const engine = lin.parameters().map((p) => Array.from(p.grad!.data));
    const out = plan.forward([x]);
    expect(out[0].data[0]).toBe(outputs[0].data[0]);
    plan.backward();
    // The replay added its gradients to the engine's, as a second loss.backward() would.
    expect(lin.parameters().map((p) => Array.from(p.grad!.data))).toEqual(engine.map((g) => g.map((v) => Math.fround(2 * v))));
  });

  it('lets the real backward\'s error through, before any probe', () => {
    let calls = 0;
    const step = ([v]: readonly Tensor[]): Tensor[] => { calls++; return [lin.forward(v).sum()]; };
    expect(() => traceStepPlan(step, [x], options({ backward: () => { throw new Error('loss is NaN'); } }))).toThrow('loss is NaN');
    expect(calls).toBe(1);
  });
});
