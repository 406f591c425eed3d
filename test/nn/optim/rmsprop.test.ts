import { describe, expect, it } from 'vitest';
import { RMSprop } from '../../../src/nn/optim/index.js';
import { G1, G2, THETA0, expectValues, param, stepWith } from './helpers.js';

const EPS = 1e-8;

describe('RMSprop (hand-computed, θ0 = [1, -2], g1 = [0.5, -1], g2 = [0.3, 0.2], lr 0.01, α 0.9)', () => {
  it('plain: θ ← θ - γ·g/(√v + ε)', () => {
    const p = param(THETA0);
    const opt = new RMSprop([p], { lr: 0.01, alpha: 0.9 });
    stepWith(opt, p, G1);
    // v = 0.1·[0.25, 1] = [0.025, 0.1]
    const t1 = [1 - (0.01 * 0.5) / (Math.sqrt(0.025) + EPS), -2 + (0.01 * 1) / (Math.sqrt(0.1) + EPS)];
    expectValues(p, t1);
    stepWith(opt, p, G2);
    // v = 0.9·v + 0.1·[0.09, 0.04] = [0.0315, 0.094]
    expectValues(p, [t1[0] - (0.01 * 0.3) / (Math.sqrt(0.0315) + EPS), t1[1] - (0.01 * 0.2) / (Math.sqrt(0.094) + EPS)]);
  });

  it('centered with momentum: ṽ = v - ḡ², b ← μb + g/(√ṽ + ε)', () => {
    const p = param(THETA0);
    const opt = new RMSprop([p], { lr: 0.01, alpha: 0.9, centered: true, momentum: 0.5 });
    stepWith(opt, p, G1);
    // ḡ = [0.05, -0.1]; ṽ = [0.025 - 0.0025, 0.1 - 0.01] = [0.0225, 0.09]; √ṽ = [0.15, 0.3]
    const b1 = [0.5 / (0.15 + EPS), -1 / (0.3 + EPS)];
    const t1 = [1 - 0.01 * b1[0], -2 - 0.01 * b1[1]];
    expectValues(p, t1);
    stepWith(opt, p, G2);
    // ḡ = 0.9·ḡ + 0.1·g2 = [0.075, -0.07]; ṽ = [0.0315 - 0.005625, 0.094 - 0.0049] = [0.025875, 0.0891]
    const b2 = [0.5 * b1[0] + 0.3 / (Math.sqrt(0.025875) + EPS), 0.5 * b1[1] + 0.2 / (Math.sqrt(0.0891) + EPS)];
    expectValues(p, [t1[0] - 0.01 * b2[0], t1[1] - 0.01 * b2[1]]);
  });

  it('adds λθ to the gradient with weightDecay', () => {
    const p = param(THETA0);
    stepWith(new RMSprop([p], { lr: 0.01, alpha: 0.9, weightDecay: 0.2 }), p, G1);
    // g = [0.7, -1.4]; v = 0.1·g² = [0.049, 0.196]
    expectValues(p, [1 - (0.01 * 0.7) / (Math.sqrt(0.049) + EPS), -2 + (0.01 * 1.4) / (Math.sqrt(0.196) + EPS)]);
  });

  it('validates options', () => {
    const p = param(THETA0);
    expect(() => new RMSprop([p], { lr: -1 })).toThrow('RMSprop: invalid learning rate lr = -1');
    expect(() => new RMSprop([p], { alpha: 1.5 })).toThrow('RMSprop: invalid alpha value alpha = 1.5 (expected a number in [0, 1])');
    expect(() => new RMSprop([p], { momentum: -0.9 })).toThrow('RMSprop: invalid momentum value momentum = -0.9');
    expect(() => new RMSprop([p], { centered: 1 as unknown as boolean })).toThrow('RMSprop: centered must be a boolean, got 1');
    expect(new RMSprop([p]).defaults).toEqual({ lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false });
  });
});
