import { describe, expect, it } from 'vitest';
import { Adagrad } from '../../../src/nn/optim/index.js';
import { G1, G2, THETA0, expectValues, param, stepWith } from './helpers.js';

const EPS = 1e-10;

describe('Adagrad (hand-computed, θ0 = [1, -2], g1 = [0.5, -1], g2 = [0.3, 0.2])', () => {
  it('accumulates g² from initialAccumulatorValue and decays the lr as γ/(1 + (t-1)η)', () => {
    const p = param(THETA0);
    const opt = new Adagrad([p], { lr: 0.1, lrDecay: 0.5, initialAccumulatorValue: 0.1 });
    stepWith(opt, p, G1);
    // s = 0.1 + [0.25, 1] = [0.35, 1.1]; γ̃ = 0.1
    const t1 = [1 - (0.1 * 0.5) / (Math.sqrt(0.35) + EPS), -2 + (0.1 * 1) / (Math.sqrt(1.1) + EPS)];
    expectValues(p, t1);
    stepWith(opt, p, G2);
    // s = [0.35 + 0.09, 1.1 + 0.04] = [0.44, 1.14]; γ̃ = 0.1 / 1.5
    expectValues(p, [t1[0] - ((0.1 / 1.5) * 0.3) / (Math.sqrt(0.44) + EPS), t1[1] - ((0.1 / 1.5) * 0.2) / (Math.sqrt(1.14) + EPS)]);
  });

  it('adds λθ to the gradient with weightDecay', () => {
    const p = param(THETA0);
    stepWith(new Adagrad([p], { lr: 0.1, weightDecay: 0.2 }), p, G1);
    // g = [0.5 + 0.2, -1 - 0.4] = [0.7, -1.4]; s = g²; step = γ·sign(g)·|g|/(|g| + ε)
    expectValues(p, [1 - (0.1 * 0.7) / (0.7 + EPS), -2 + (0.1 * 1.4) / (1.4 + EPS)]);
  });

  it('validates options', () => {
    const p = param(THETA0);
    expect(() => new Adagrad([p], { lr: -0.01 })).toThrow('Adagrad: invalid learning rate lr = -0.01');
    expect(() => new Adagrad([p], { lrDecay: -1 })).toThrow('Adagrad: invalid lr decay value lrDecay = -1');
    expect(() => new Adagrad([p], { initialAccumulatorValue: -1 })).toThrow('Adagrad: invalid initial accumulator value initialAccumulatorValue = -1');
    expect(new Adagrad([p]).defaults).toEqual({ lr: 1e-2, lrDecay: 0, weightDecay: 0, initialAccumulatorValue: 0, eps: 1e-10 });
  });
});
