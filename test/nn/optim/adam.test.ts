import { describe, expect, it } from 'vitest';
import { Adam, AdamW } from '../../../src/nn/optim/index.js';
import { G1, G2, THETA0, expectValues, param, stepWith } from './helpers.js';

const EPS = 1e-8;

describe('Adam (hand-computed, θ0 = [1, -2], g1 = [0.5, -1], g2 = [0.3, 0.2], lr 0.1, betas (0.9, 0.999))', () => {
  // Step 1: m = 0.1·g1 = [0.05, -0.1], v = 0.001·g1² = [0.00025, 0.001]; m̂ = g1, v̂ = g1².
  const theta1 = [1 - (0.1 * 0.5) / (0.5 + EPS), -2 + (0.1 * 1) / (1 + EPS)];
  // Step 2: m = 0.9·m + 0.1·g2 = [0.075, -0.07]; v = 0.999·v + 0.001·g2² = [0.00033975, 0.001039];
  // 1 - β1² = 0.19, 1 - β2² = 0.001999.
  const theta2 = [
    theta1[0] - (0.1 * (0.075 / 0.19)) / (Math.sqrt(0.00033975 / 0.001999) + EPS),
    theta1[1] - (0.1 * (-0.07 / 0.19)) / (Math.sqrt(0.001039 / 0.001999) + EPS),
  ];

  it('two steps follow m̂ / (√v̂ + ε)', () => {
    const p = param(THETA0);
    const opt = new Adam([p], { lr: 0.1 });
    stepWith(opt, p, G1);
    expectValues(p, theta1);
    stepWith(opt, p, G2);
    expectValues(p, theta2);
    expect(opt.state.get(p)!.step).toBe(2);
  });

  it('weightDecay is an L2 term added to the gradient (PyTorch Adam)', () => {
    const p = param(THETA0);
    const opt = new Adam([p], { lr: 0.1, weightDecay: 0.1 });
    stepWith(opt, p, G1);
    // g = [0.6, -1.2]: the first Adam step is still ±γ per element.
    const t1 = [1 - (0.1 * 0.6) / (0.6 + EPS), -2 + (0.1 * 1.2) / (1.2 + EPS)];
    expectValues(p, t1);
    stepWith(opt, p, G2);
    const g = [0.3 + 0.1 * t1[0], 0.2 + 0.1 * t1[1]];
    const m = [0.9 * 0.1 * 0.6 + 0.1 * g[0], 0.9 * 0.1 * -1.2 + 0.1 * g[1]];
    const v = [0.999 * 0.001 * 0.36 + 0.001 * g[0] ** 2, 0.999 * 0.001 * 1.44 + 0.001 * g[1] ** 2];
    expectValues(p, [0, 1].map((i) => t1[i] - (0.1 * (m[i] / 0.19)) / (Math.sqrt(v[i] / 0.001999) + EPS)));
  });

  it('amsgrad keeps the running max of v (β2 = 0.5 so v falls at step 2)', () => {
    const p = param(THETA0), q = param(THETA0);
    const ams = new Adam([p], { lr: 0.1, betas: [0.9, 0.5], amsgrad: true });
    const plain = new Adam([q], { lr: 0.1, betas: [0.9, 0.5] });
    for (const [opt, t] of [[ams, p], [plain, q]] as const) stepWith(opt, t, [2, -1]);
    // v = 0.5·[4, 1] = [2, 0.5]; m = [0.2, -0.1]; m̂ = [2, -1]; v̂ = [4, 1].
    const t1 = [1 - (0.1 * 2) / (2 + EPS), -2 + (0.1 * 1) / (1 + EPS)];
    expectValues(p, t1);
    expectValues(q, t1);
    for (const [opt, t] of [[ams, p], [plain, q]] as const) stepWith(opt, t, [0.1, 0.1]);
    // v = 0.5·[2, 0.5] + 0.5·0.01 = [1.005, 0.255] < v_max = [2, 0.5]; m = [0.19, -0.08];
    // 1 - β1² = 0.19, 1 - β2² = 0.75.
    expectValues(p, [t1[0] - (0.1 * (0.19 / 0.19)) / (Math.sqrt(2 / 0.75) + EPS), t1[1] - (0.1 * (-0.08 / 0.19)) / (Math.sqrt(0.5 / 0.75) + EPS)]);
    expectValues(q, [t1[0] - (0.1 * (0.19 / 0.19)) / (Math.sqrt(1.005 / 0.75) + EPS), t1[1] - (0.1 * (-0.08 / 0.19)) / (Math.sqrt(0.255 / 0.75) + EPS)]);
  });

  it('validates options', () => {
    const p = param(THETA0);
    expect(() => new Adam([p], { lr: -1 })).toThrow('Adam: invalid learning rate lr = -1');
    expect(() => new Adam([p], { betas: [1, 0.999] })).toThrow('Adam: invalid beta parameter at index 0: betas[0] = 1 (expected a number in [0, 1))');
    expect(() => new Adam([p], { betas: [0.9, -0.1] })).toThrow('Adam: invalid beta parameter at index 1: betas[1] = -0.1');
    expect(() => new Adam([p], { eps: -1e-8 })).toThrow('Adam: invalid epsilon value eps = -1e-8');
    expect(() => new Adam([p], { weightDecay: -1 })).toThrow('Adam: invalid weight decay value weightDecay = -1');
  });
});

describe('AdamW', () => {
  it('decays the weights by (1 - γλ) before an Adam step whose gradient has no L2 term', () => {
    const p = param(THETA0);
    const opt = new AdamW([p], { lr: 0.1, weightDecay: 0.5 });
    stepWith(opt, p, G1);
    // θ·(1 - 0.05) = [0.95, -1.9], then ∓0.1·g/(|g| + ε).
    const t1 = [0.95 - (0.1 * 0.5) / (0.5 + EPS), -1.9 + (0.1 * 1) / (1 + EPS)];
    expectValues(p, t1);
    stepWith(opt, p, G2);
    // Moments as in plain Adam: m = [0.075, -0.07], v = [0.00033975, 0.001039].
    expectValues(p, [
      t1[0] * 0.95 - (0.1 * (0.075 / 0.19)) / (Math.sqrt(0.00033975 / 0.001999) + EPS),
      t1[1] * 0.95 - (0.1 * (-0.07 / 0.19)) / (Math.sqrt(0.001039 / 0.001999) + EPS),
    ]);
  });

  it('defaults weightDecay to 1e-2 and names itself in errors', () => {
    const p = param(THETA0);
    expect(new AdamW([p]).defaults.weightDecay).toBe(1e-2);
    expect(new Adam([p]).defaults.weightDecay).toBe(0);
    expect(() => new AdamW([p], { lr: -1 })).toThrow(/^AdamW: invalid learning rate lr = -1/);
  });
});
