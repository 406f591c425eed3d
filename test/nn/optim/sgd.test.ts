import { describe, expect, it } from 'vitest';
import { SGD } from '../../../src/nn/optim/index.js';
import { G1, G2, THETA0, expectValues, param, stepWith } from './helpers.js';

describe('SGD (hand-computed steps, θ0 = [1, -2], g1 = [0.5, -1], g2 = [0.3, 0.2], lr 0.1)', () => {
  it('plain: θ ← θ - γg', () => {
    const p = param(THETA0);
    const opt = new SGD([p], { lr: 0.1 });
    stepWith(opt, p, G1);
    expectValues(p, [0.95, -1.9]);
    stepWith(opt, p, G2);
    expectValues(p, [0.92, -1.92]);
  });

  it('weight decay adds λθ to the gradient', () => {
    const p = param(THETA0);
    stepWith(new SGD([p], { lr: 0.1, weightDecay: 0.1 }), p, G1);
    // g = [0.5 + 0.1, -1 - 0.2] = [0.6, -1.2]
    expectValues(p, [0.94, -1.88]);
  });

  it('momentum with dampening: b1 = g1, b2 = μb1 + (1-τ)g2', () => {
    const p = param(THETA0);
    const opt = new SGD([p], { lr: 0.1, momentum: 0.9, dampening: 0.5 });
    stepWith(opt, p, G1);
    expectValues(p, [0.95, -1.9]);
    stepWith(opt, p, G2);
    // b2 = 0.9·[0.5, -1] + 0.5·[0.3, 0.2] = [0.6, -0.8]
    expectValues(p, [0.89, -1.82]);
  });

  it('nesterov: θ ← θ - γ(g + μb)', () => {
    const p = param(THETA0);
    const opt = new SGD([p], { lr: 0.1, momentum: 0.9, nesterov: true });
    stepWith(opt, p, G1);
    // b1 = [0.5, -1]; g + μb = [0.95, -1.9]
    expectValues(p, [0.905, -1.81]);
    stepWith(opt, p, G2);
    // b2 = 0.9·[0.5, -1] + [0.3, 0.2] = [0.75, -0.7]; g + μb = [0.975, -0.43]
    expectValues(p, [0.8075, -1.767]);
  });

  it('parameter groups use their own lr, falling back to the defaults', () => {
    const a = param(THETA0), b = param(THETA0), c = param(THETA0);
    const opt = new SGD([{ params: [a], lr: 0.1 }, { params: [b], lr: 0.01 }, { params: [c] }], { lr: 1 });
    for (const p of [a, b, c]) p.grad = param(G1);
    opt.step();
    expectValues(a, [0.95, -1.9]);
    expectValues(b, [0.995, -1.99]);
    expectValues(c, [0.5, -1]);
    expect(opt.paramGroups.map((g) => g.lr)).toEqual([0.1, 0.01, 1]);
  });

  it('validates options, naming the optimizer and the bad value', () => {
    const p = param(THETA0);
    expect(() => new SGD([p], { lr: -0.1 })).toThrow('SGD: invalid learning rate lr = -0.1 (expected a finite number >= 0)');
    expect(() => new SGD([p], { momentum: -1 })).toThrow('SGD: invalid momentum value momentum = -1');
    expect(() => new SGD([p], { weightDecay: -1e-4 })).toThrow('SGD: invalid weight decay value weightDecay = -0.0001');
    expect(() => new SGD([p], { nesterov: true })).toThrow('SGD: Nesterov momentum requires momentum > 0 and dampening = 0, got momentum = 0, dampening = 0');
    expect(() => new SGD([{ params: [p], lr: NaN }])).toThrow('SGD: invalid learning rate lr = NaN');
  });
});
