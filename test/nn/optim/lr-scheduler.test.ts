import { describe, expect, it } from 'vitest';
import { tensor } from '../../../src/autograd/index.js';
import {
  Adam, CosineAnnealingLR, ExponentialLR, LinearLR, ReduceLROnPlateau, SGD, SequentialLR, StepLR, type LRScheduler,
} from '../../../src/nn/optim/index.js';
import { param } from './helpers.js';

const sgd = (lr: number): SGD => new SGD([param([1, 2])], { lr });

/** The lr after construction (epoch 0) and after each of `steps` steps. */
function sequence(s: LRScheduler, steps: number): number[] {
  const out = [s.getLastLr()[0]];
  for (let i = 0; i < steps; i++) {
    s.step();
    out.push(s.getLastLr()[0]);
  }
  return out;
}

function expectClose(got: number[], want: number[], rel = 1e-12): void {
  expect(got.length).toBe(want.length);
  got.forEach((v, i) => expect(Math.abs(v - want[i]), `epoch ${i}: ${v} vs ${want[i]}`).toBeLessThanOrEqual(rel * Math.abs(want[i]) + 1e-300));
}

const epochs = (n: number): number[] => Array.from({ length: n + 1 }, (_, e) => e);

describe('epoch schedulers follow PyTorch’s closed forms', () => {
  it('StepLR: base · γ^⌊e / stepSize⌋', () => {
    const s = new StepLR(sgd(0.05), 3, { gamma: 0.1 });
    expectClose(sequence(s, 10), epochs(10).map((e) => 0.05 * 0.1 ** Math.floor(e / 3)));
    expect(new StepLR(sgd(1), 2).gamma).toBe(0.1);
  });

  it('ExponentialLR: base · γ^e', () => {
    expectClose(sequence(new ExponentialLR(sgd(0.1), 0.9), 12), epochs(12).map((e) => 0.1 * 0.9 ** e));
  });

  it('LinearLR: base · (s + (end − s) · min(e, T) / T), a warm-up by default', () => {
    const closed = (b: number, s: number, f: number, T: number) => (e: number): number => b * (s + ((f - s) * Math.min(T, e)) / T);
    expectClose(sequence(new LinearLR(sgd(0.05), { startFactor: 0.05, totalIters: 8 }), 14), epochs(14).map(closed(0.05, 0.05, 1, 8)));
    expectClose(sequence(new LinearLR(sgd(0.2)), 9), epochs(9).map(closed(0.2, 1 / 3, 1, 5)));
    // Decaying: from 1 down to 0.25.
    expectClose(sequence(new LinearLR(sgd(1), { startFactor: 1, endFactor: 0.25, totalIters: 3 }), 6), epochs(6).map(closed(1, 1, 0.25, 3)));
  });

  it('CosineAnnealingLR: ηmin + (base − ηmin)(1 + cos(π e / T)) / 2, past T too', () => {
    const closed = (e: number): number => 0.001 + (0.1 - 0.001) * (1 + Math.cos((Math.PI * e) / 10)) / 2;
    const got = sequence(new CosineAnnealingLR(sgd(0.1), 10, { etaMin: 0.001 }), 35);
    expectClose(got, epochs(35).map(closed), 1e-10);
    expect(got[10]).toBeCloseTo(0.001, 15);
    expect(got[20]).toBeCloseTo(0.1, 12);
    // ηmin = 0: the bottom is exactly reached and left.
    expectClose(sequence(new CosineAnnealingLR(sgd(1), 4), 9), epochs(9).map((e) => (1 + Math.cos((Math.PI * e) / 4)) / 2), 1e-10);
  });

  it('two schedulers on one optimizer compose as in PyTorch (warm-up × decay)', () => {
    const opt = sgd(0.1);
    const warm = new LinearLR(opt, { startFactor: 0.1, totalIters: 4 });
    const decay = new ExponentialLR(opt, 0.9);
    const lrs = [opt.paramGroups[0].lr];
    for (let i = 0; i < 8; i++) { warm.step(); decay.step(); lrs.push(opt.paramGroups[0].lr); }
    expectClose(lrs, epochs(8).map((e) => 0.1 * (0.1 + (0.9 * Math.min(4, e)) / 4) * 0.9 ** e));
    expect(decay.getLastLr()).toEqual([lrs[8]]);
  });

  it('every parameter group follows its own base lr', () => {
    const opt = new Adam([{ params: [param([1])], lr: 0.1 }, { params: [param([2])], lr: 0.01 }]);
    const s = new StepLR(opt, 2, { gamma: 0.5 });
    s.step(); s.step();
    expect(s.getLastLr()).toEqual([0.05, 0.005]);
    expect(opt.paramGroups.map((g) => g.lr)).toEqual([0.05, 0.005]);
    expect(s.baseLrs).toEqual([0.1, 0.01]);
  });

  it('in a hand-written loop the optimizer steps with the scheduled lr', () => {
    const p = param([1]);
    const opt = new SGD([p], { lr: 1 });
    const s = new ExponentialLR(opt, 0.5);
    const seen: number[] = [];
    for (let epoch = 0; epoch < 4; epoch++) {
      const before = p.data[0];
      opt.zeroGrad();
      p.grad = tensor([1], { dtype: 'float64' });
      opt.step();
      seen.push(before - p.data[0]);
      s.step();
    }
    expect(seen).toEqual([1, 0.5, 0.25, 0.125]);
  });

  it('stateDict / loadStateDict resume the schedule where it was', () => {
    const a = new CosineAnnealingLR(sgd(0.1), 6);
    for (let i = 0; i < 3; i++) a.step();
    const saved = JSON.parse(JSON.stringify(a.stateDict()));
    const opt = sgd(0.1);
    const b = new CosineAnnealingLR(opt, 6);
    b.loadStateDict(saved);
    opt.paramGroups[0].lr = a.getLastLr()[0]; // the optimizer's own state dict carries its lr
    a.step(); b.step();
    expect(b.getLastLr()).toEqual(a.getLastLr());
    expect(b.lastEpoch).toBe(4);
    expect(() => b.loadStateDict({ lastEpoch: 1 })).toThrow('CosineAnnealingLR.loadStateDict: expected { lastEpoch, baseLrs, lastLr } for 1 parameter group(s)');
  });

  it('bad arguments name the scheduler and the value', () => {
    expect(() => new StepLR({} as SGD, 3)).toThrow(new TypeError('StepLR: optimizer must be an optimizer with parameter groups (SGD, Adam, AdamW, Adagrad, RMSprop from optim)'));
    expect(() => new StepLR(sgd(1), 0)).toThrow(new RangeError('StepLR: stepSize must be a positive integer, got 0'));
    expect(() => new StepLR(sgd(1), 2, { gama: 0.5 } as object)).toThrow("StepLR: unknown option 'gama' (did you mean 'gamma'?); allowed: gamma");
    expect(() => new ExponentialLR(sgd(1), -1)).toThrow('ExponentialLR: gamma must be a positive number, got -1');
    expect(() => new LinearLR(sgd(1), { startFactor: 0 })).toThrow('LinearLR: startFactor must be in (0, 1], got 0');
    expect(() => new LinearLR(sgd(1), { totalIter: 3 } as object)).toThrow("LinearLR: unknown option 'totalIter' (did you mean 'totalIters'?)");
    expect(() => new CosineAnnealingLR(sgd(1), 2.5)).toThrow('CosineAnnealingLR: tMax must be a positive integer, got 2.5');
    expect(() => new CosineAnnealingLR(sgd(1), 5, { eta_min: 0 } as object)).toThrow("CosineAnnealingLR: unknown option 'eta_min' (did you mean 'etaMin'?)");
    const opt = sgd(1);
    const s = new StepLR(opt, 2);
    opt.addParamGroup({ params: [param([3])] });
    expect(() => s.step()).toThrow('StepLR.step: the optimizer has 2 parameter groups, 1 when the scheduler was built');
  });
});

describe('SequentialLR', () => {
  it('a LinearLR warm-up, then CosineAnnealingLR restarted from the base lr at the milestone (PyTorch’s sequence)', () => {
    const opt = sgd(0.1);
    const warm = new LinearLR(opt, { startFactor: 0.1, totalIters: 3 });
    const cos = new CosineAnnealingLR(opt, 5);
    // The second scheduler's base is the optimizer's original lr, not the warm-up's epoch-0 value.
    expect(cos.baseLrs).toEqual([0.1]);
    const s = new SequentialLR(opt, [warm, cos], [3]);
    const want = [0.01, 0.04, 0.07, ...[0, 1, 2, 3, 4, 5, 6].map((e) => 0.1 * (1 + Math.cos((Math.PI * e) / 5)) / 2)];
    expectClose(sequence(s, 9), want, 1e-10);
    expect(opt.paramGroups[0].lr).toBeCloseTo(want[9], 12);
  });

  it('three phases, state dict round trip, and its errors', () => {
    const opt = sgd(1);
    const s = new SequentialLR(opt, [new StepLR(opt, 1, { gamma: 0.5 }), new ExponentialLR(opt, 0.9), new StepLR(opt, 10)], [2, 4]);
    expectClose(sequence(s, 6), [1, 0.5, 1, 0.9, 1, 1, 1]);
    const opt2 = sgd(1);
    const t = new SequentialLR(opt2, [new StepLR(opt2, 1, { gamma: 0.5 }), new ExponentialLR(opt2, 0.9), new StepLR(opt2, 10)], [2, 4]);
    t.loadStateDict(JSON.parse(JSON.stringify(s.stateDict())));
    expect(t.lastEpoch).toBe(6);
    const o = sgd(1);
    expect(() => new SequentialLR(o, [new StepLR(o, 1)], [2])).toThrow('SequentialLR: expects 0 milestone(s) for 1 schedulers, got 1');
    expect(() => new SequentialLR(o, [new StepLR(o, 1), new StepLR(sgd(1), 1)], [2])).toThrow('SequentialLR: schedulers[1] (StepLR) is built over another optimizer');
    expect(() => new SequentialLR(o, [new StepLR(o, 1), new ReduceLROnPlateau(o) as unknown as StepLR], [2]))
      .toThrow('SequentialLR: schedulers[1] is not an epoch scheduler (ReduceLROnPlateau needs a metric and cannot be sequenced)');
    expect(() => new SequentialLR(o, [new StepLR(o, 1), new StepLR(o, 1), new StepLR(o, 1)], [3, 3])).toThrow('SequentialLR: milestones must be increasing positive integers, got 3, 3');
  });
});

describe('ReduceLROnPlateau', () => {
  it('reduces after more than `patience` bad epochs, then waits `cooldown` epochs (PyTorch’s rules, by hand)', () => {
    const opt = sgd(1);
    const s = new ReduceLROnPlateau(opt, { factor: 0.5, patience: 2, cooldown: 1 });
    const lrs = [1.0, 0.9, 0.95, 0.95, 0.95, 0.8, 0.85, 0.85, 0.85, 0.85].map((m) => { s.step(m); return s.getLastLr()[0]; });
    expect(lrs).toEqual([1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25]);
    expect(opt.paramGroups[0].lr).toBe(0.25);
  });

  it("the 'rel' threshold ignores tiny improvements; 'max' mode with 'abs' threshold; minLr bounds it", () => {
    const rel = new ReduceLROnPlateau(sgd(1), { patience: 0, threshold: 0.1 });
    rel.step(1); rel.step(0.95); // 0.95 is not below 1 · (1 − 0.1)
    expect(rel.getLastLr()).toEqual([0.1]);
    const max = new ReduceLROnPlateau(sgd(1), { mode: 'max', patience: 0, threshold: 0.05, thresholdMode: 'abs', factor: 0.5, minLr: 0.3 });
    const lrs = [0.7, 0.74, 0.8, 0.79, 0.6].map((m) => { max.step(m); return max.getLastLr()[0]; });
    // 0.74 < 0.7 + 0.05: bad → 0.5; 0.8 ≥ 0.75: better; 0.79 bad → max(0.25, 0.3) = 0.3; 0.6 bad → 0.3 stays.
    expect(lrs).toEqual([1, 0.5, 0.5, 0.3, 0.3]);
  });

  it('eps skips reductions too small to matter; per-group minLr', () => {
    const opt = new SGD([{ params: [param([1])], lr: 1e-8 }, { params: [param([2])], lr: 1 }]);
    const s = new ReduceLROnPlateau(opt, { patience: 0, minLr: [0, 0.5] });
    s.step(1); s.step(2);
    expect(s.getLastLr()).toEqual([1e-8, 0.5]);
  });

  it('stateDict survives JSON (±Infinity as null) and restores the counters', () => {
    const s = new ReduceLROnPlateau(sgd(1), { patience: 1 });
    expect(s.stateDict().best).toBeNull();
    s.step(1); s.step(2);
    const t = new ReduceLROnPlateau(sgd(1), { patience: 1 });
    t.loadStateDict(JSON.parse(JSON.stringify(s.stateDict())));
    expect(t.best).toBe(1);
    expect(t.numBadEpochs).toBe(1);
    t.step(3);
    expect(t.getLastLr()).toEqual([0.1]);
  });

  it('bad arguments are named', () => {
    expect(() => new ReduceLROnPlateau(sgd(1), { factor: 1 })).toThrow(new RangeError('ReduceLROnPlateau: factor must be in [0, 1), got 1'));
    expect(() => new ReduceLROnPlateau(sgd(1), { mode: 'auto' as 'min' })).toThrow("ReduceLROnPlateau: mode must be 'min' or 'max', got auto");
    expect(() => new ReduceLROnPlateau(sgd(1), { minLr: [0, 1] })).toThrow('ReduceLROnPlateau: minLr has 2 values for 1 parameter group(s)');
    expect(() => new ReduceLROnPlateau(sgd(1), { patiance: 3 } as object)).toThrow("ReduceLROnPlateau: unknown option 'patiance' (did you mean 'patience'?)");
    expect(() => new ReduceLROnPlateau(sgd(1)).step(NaN)).toThrow('ReduceLROnPlateau.step: metric must be a number, got NaN');
  });
});
