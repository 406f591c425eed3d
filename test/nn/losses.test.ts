import { describe, expect, it } from 'vitest';
import { Tensor, gradcheck, tensor } from '../../src/autograd/index.js';
import {
  BCELoss, BCEWithLogitsLoss, L1Loss, MSELoss, bceWithLogits, binaryCrossEntropy, l1Loss, mseLoss,
  type Reduction,
} from '../../src/nn/losses.js';

const TOL = { eps: 1e-6, atol: 1e-5, rtol: 1e-3 };
const f64 = (v: number[][] | number[], requiresGrad = false): Tensor => tensor(v, { dtype: 'float64', requiresGrad });
const reductions: Reduction[] = ['mean', 'sum', 'none'];

// Inputs chosen away from the kinks of |x - y| and away from p = 0 / 1.
const logits = (): Tensor => f64([[0.3, -1.2, 2.5], [-0.7, 0.05, 1.1]], true);
const probs = (): Tensor => f64([[0.3, 0.8, 0.55], [0.1, 0.65, 0.9]], true);
const targets = (rg = false): Tensor => f64([[1, 0, 0.3], [0, 1, 1]], rg);
const sampleWeight = (rg = false): Tensor => f64([[0.5], [2]], rg);
const taskWeight = (rg = false): Tensor => f64([1.5, 0.25, 1], rg);

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** Reference from the textbook definition, elementwise, then reduced. */
function reference(per: (i: number) => number, n: number, reduction: Reduction): number[] | number {
  const v = Array.from({ length: n }, (_, i) => per(i));
  if (reduction === 'none') return v;
  const s = v.reduce((a, b) => a + b, 0);
  return reduction === 'sum' ? s : s / n;
}

function values(t: Tensor): number[] | number {
  return t.ndim === 0 ? t.item() : Array.from(t.data);
}

function expectClose(actual: number[] | number, expected: number[] | number, digits = 10): void {
  if (typeof expected === 'number') {
    expect(actual as number).toBeCloseTo(expected, digits);
    return;
  }
  const a = actual as number[];
  expect(a.length).toBe(expected.length);
  a.forEach((v, i) => expect(v).toBeCloseTo(expected[i], digits));
}

describe('bceWithLogits', () => {
  it.each(reductions)('matches -w[p·y·log σ(x) + (1-y)·log(1-σ(x))] with reduction %s', (reduction) => {
    const x = logits(), y = targets(), w = sampleWeight(), pw = taskWeight();
    const out = bceWithLogits(x, y, { reduction, weight: w, posWeight: pw });
    const xd = x.data, yd = y.data;
    const exp = reference((i) => {
      const wi = w.data[Math.floor(i / 3)], pi = pw.data[i % 3];
      return -wi * (pi * yd[i] * Math.log(sigmoid(xd[i])) + (1 - yd[i]) * Math.log(1 - sigmoid(xd[i])));
    }, 6, reduction);
    expectClose(values(out), exp);
    if (reduction === 'none') expect(out.shape).toEqual([2, 3]);
    else expect(out.shape).toEqual([]);
  });

  it.each(reductions)('gradchecks logits, targets, weight and posWeight (reduction %s)', (reduction) => {
    const r = gradcheck(
      (x, y, w, p) => bceWithLogits(x, y, { reduction, weight: w, posWeight: p }),
      [logits(), targets(true), sampleWeight(true), taskWeight(true)],
      TOL,
    );
    expect(r.ok, r.message).toBe(true);
  });

  it('gradchecks without options and with a weight only', () => {
    expect(gradcheck((x) => bceWithLogits(x, targets()), [logits()], TOL).ok).toBe(true);
    const r = gradcheck((x, w) => bceWithLogits(x, targets(), { weight: w, reduction: 'sum' }), [logits(), taskWeight(true)], TOL);
    expect(r.ok, r.message).toBe(true);
  });

  it('gradient with respect to the logits is w·(σ(x) - y) / n', () => {
    const x = logits();
    bceWithLogits(x, targets(), { weight: sampleWeight() }).backward();
    const g = Array.from(x.grad!.data);
    const expected = Array.from(x.data, (xi, i) => ([0.5, 2][Math.floor(i / 3)] * (sigmoid(xi) - targets().data[i])) / 6);
    expectClose(g, expected, 12);
  });

  it.each(['float32', 'float64'] as const)('is finite and exact for logits of ±1e4 (%s)', (dtype) => {
    const x = tensor([1e4, 1e4, -1e4, -1e4], { dtype, requiresGrad: true });
    const y = tensor([1, 0, 1, 0], { dtype });
    const out = bceWithLogits(x, y, { reduction: 'none' });
    expect(Array.from(out.data)).toEqual([0, 1e4, 1e4, 0]);
    out.backward(tensor([1, 1, 1, 1], { dtype }));
    // σ(x) - y: 0, 1, -1, 0.
    expect(Array.from(x.grad!.data)).toEqual([0, 1, -1, 0]);
    const m = bceWithLogits(x, y);
    expect(m.item()).toBe(5e3);
  });

  it('is finite with posWeight at ±1e4', () => {
    const x = f64([1e4, -1e4], true);
    const out = bceWithLogits(x, f64([1, 1]), { reduction: 'sum', posWeight: f64([3]) });
    expect(out.item()).toBeCloseTo(3e4, 6);
    out.backward();
    expect(Array.from(x.grad!.data)).toEqual([0, -3]);
  });

  it('rejects mismatched shapes, naming the loss and both shapes', () => {
    expect(() => bceWithLogits(f64([[1, 2]]), f64([1, 2]))).toThrow('bceWithLogits: input and target shapes differ: input [1,2], target [2]');
    expect(() => bceWithLogits(f64([[1, 2]]), f64([[1, 2]]), { weight: f64([1, 2, 3]) })).toThrow(/^bceWithLogits: weight of shape \[3\] does not broadcast to the input shape \[1,2\]/);
    expect(() => bceWithLogits(f64([1, 2]), f64([1, 2]), { weight: f64([[1, 2], [3, 4]]) })).toThrow(/bceWithLogits: weight of shape \[2,2\]/);
    expect(() => bceWithLogits(f64([1]), f64([1]), { reduction: 'avg' as Reduction })).toThrow("bceWithLogits: reduction must be 'mean', 'sum' or 'none', got avg");
  });
});

describe('binaryCrossEntropy', () => {
  it.each(reductions)('matches -w[y·log p + (1-y)·log(1-p)] with reduction %s', (reduction) => {
    const p = probs(), y = targets(), w = sampleWeight();
    const out = binaryCrossEntropy(p, y, { reduction, weight: w });
    const exp = reference((i) => -w.data[Math.floor(i / 3)] * (y.data[i] * Math.log(p.data[i]) + (1 - y.data[i]) * Math.log(1 - p.data[i])), 6, reduction);
    expectClose(values(out), exp);
  });

  it.each(reductions)('gradchecks probabilities, targets and weight (reduction %s)', (reduction) => {
    const r = gradcheck((p, y, w) => binaryCrossEntropy(p, y, { reduction, weight: w }), [probs(), targets(true), sampleWeight(true)], TOL);
    expect(r.ok, r.message).toBe(true);
  });

  it('clamps the logs at -100 like PyTorch, so p = 0 and 1 stay finite', () => {
    const p = f64([0, 1, 0, 1], true);
    const out = binaryCrossEntropy(p, f64([1, 0, 0, 1]), { reduction: 'none' });
    expect(Array.from(out.data)).toEqual([100, 100, 0, 0]);
    out.backward(f64([1, 1, 1, 1]));
    for (const g of p.grad!.data) expect(Number.isFinite(g)).toBe(true);
  });

  it('rejects values outside [0, 1] and mismatched shapes', () => {
    expect(() => binaryCrossEntropy(f64([0.5, 1.5]), f64([0, 1]))).toThrow('binaryCrossEntropy: input must hold probabilities in [0, 1], got 1.5 at flat index 1');
    expect(() => binaryCrossEntropy(f64([0.5, 0.5]), f64([[0, 1]]))).toThrow('binaryCrossEntropy: input and target shapes differ: input [2], target [1,2]');
  });
});

describe('mseLoss and l1Loss', () => {
  const input = (): Tensor => f64([[0.5, -1.5, 2], [3, 0.25, -2]], true);
  const target = (rg = false): Tensor => f64([[1, 0, 1], [2, -1, 0.5]], rg);

  it.each(reductions)('mseLoss = w·(x - y)² with reduction %s', (reduction) => {
    const x = input(), y = target(), w = sampleWeight();
    const exp = reference((i) => w.data[Math.floor(i / 3)] * (x.data[i] - y.data[i]) ** 2, 6, reduction);
    expectClose(values(mseLoss(x, y, { reduction, weight: w })), exp);
    expectClose(values(mseLoss(x, y, { reduction })), reference((i) => (x.data[i] - y.data[i]) ** 2, 6, reduction));
  });

  it.each(reductions)('l1Loss = w·|x - y| with reduction %s', (reduction) => {
    const x = input(), y = target(), w = taskWeight();
    const exp = reference((i) => w.data[i % 3] * Math.abs(x.data[i] - y.data[i]), 6, reduction);
    expectClose(values(l1Loss(x, y, { reduction, weight: w })), exp);
  });

  it.each(reductions)('both gradcheck through input, target and weight (reduction %s)', (reduction) => {
    for (const loss of [mseLoss, l1Loss]) {
      const r = gradcheck((x, y, w) => loss(x, y, { reduction, weight: w }), [input(), target(true), sampleWeight(true)], TOL);
      expect(r.ok, `${loss.name}: ${r.message}`).toBe(true);
    }
  });

  it('rejects mismatched shapes, naming the loss and both shapes', () => {
    expect(() => mseLoss(f64([[1], [2]]), f64([1, 2]))).toThrow('mseLoss: input and target shapes differ: input [2,1], target [2]');
    expect(() => l1Loss(f64([1, 2, 3]), f64([1, 2]))).toThrow('l1Loss: input and target shapes differ: input [3], target [2]');
  });
});

describe('loss modules', () => {
  it('forward the functional forms and register weights as buffers', () => {
    const x = logits(), y = targets(), w = sampleWeight(), pw = taskWeight();
    const m = new BCEWithLogitsLoss({ weight: w, posWeight: pw, reduction: 'sum' });
    expect(m.forward(x, y).item()).toBe(bceWithLogits(x, y, { weight: w, posWeight: pw, reduction: 'sum' }).item());
    expect(Object.keys(m.stateDict())).toEqual(['weight', 'pos_weight']);
    expect(new BCELoss().forward(probs(), y).item()).toBe(binaryCrossEntropy(probs(), y).item());
    expect(new MSELoss({ reduction: 'sum' }).forward(x, y).item()).toBe(mseLoss(x, y, { reduction: 'sum' }).item());
    expect(new L1Loss().forward(x, y).item()).toBe(l1Loss(x, y).item());
    expect(() => new MSELoss({ reduction: 'max' as Reduction })).toThrow(/^MSELoss: reduction must be/);
  });
});
