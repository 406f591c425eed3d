import { describe, expect, it } from 'vitest';
import { Adam, AdamW } from '../../../src/nn/optim/index.js';
import { tensor } from '../../../src/autograd/index.js';
import { Generator } from '../../../src/tensor/index.js';
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

describe('Adam / AdamW update loops against the generic per-element rule', () => {
  /** The single generic loop the specialised (float64) ones replaced, kept here as the reference. */
  function referenceStep(
    theta: Float32Array | Float64Array, grad: ArrayLike<number>, m: Float32Array | Float64Array, v: Float32Array | Float64Array,
    vmax: Float32Array | Float64Array | null, t: number, o: { lr: number; b1: number; b2: number; eps: number; wd: number; decoupled: boolean },
  ): void {
    const stepSize = o.lr / (1 - Math.pow(o.b1, t));
    const bc2Sqrt = Math.sqrt(1 - Math.pow(o.b2, t));
    const l2 = o.decoupled ? 0 : o.wd;
    const shrink = o.decoupled ? 1 - o.lr * o.wd : 1;
    for (let i = 0; i < theta.length; i++) {
      if (shrink !== 1) theta[i] *= shrink;
      const g = grad[i] + l2 * theta[i];
      const mi = o.b1 * m[i] + (1 - o.b1) * g;
      const vi = o.b2 * v[i] + (1 - o.b2) * g * g;
      m[i] = mi;
      v[i] = vi;
      let second = vi;
      if (vmax !== null) {
        if (vi > vmax[i]) vmax[i] = vi;
        second = vmax[i];
      }
      theta[i] -= (stepSize * m[i]) / (Math.sqrt(second) / bc2Sqrt + o.eps);
    }
  }

  /**
   * The same rule on float32 storage in float32 arithmetic (PyTorch's float32 Adam): every
   * operation rounded to float32, the scalars (1 − β too) rounded once.
   */
  function referenceStep32(
    theta: Float32Array, grad: ArrayLike<number>, m: Float32Array, v: Float32Array,
    vmax: Float32Array | null, t: number, o: { lr: number; b1: number; b2: number; eps: number; wd: number; decoupled: boolean },
  ): void {
    const f = Math.fround;
    const stepSize = f(o.lr / (1 - Math.pow(o.b1, t)));
    const bc2Sqrt = f(Math.sqrt(1 - Math.pow(o.b2, t)));
    const l2 = f(o.decoupled ? 0 : o.wd);
    const shrink = f(o.decoupled ? 1 - o.lr * o.wd : 1);
    const b1 = f(o.b1), b2 = f(o.b2), c1 = f(1 - o.b1), c2 = f(1 - o.b2), eps = f(o.eps);
    for (let i = 0; i < theta.length; i++) {
      let g = grad[i];
      if (o.wd !== 0) {
        theta[i] = f(theta[i] * shrink);
        g = f(g + f(l2 * theta[i]));
      }
      m[i] = f(f(b1 * m[i]) + f(c1 * g));
      const vi = f(f(b2 * v[i]) + f(f(c2 * g) * g));
      v[i] = vi;
      let second = vi;
      if (vmax !== null) {
        if (vi > vmax[i]) vmax[i] = vi;
        second = vmax[i];
      }
      theta[i] = f(theta[i] - f(f(stepSize * m[i]) / f(f(f(Math.sqrt(second)) / bc2Sqrt) + eps)));
    }
  }

  const cases: Array<[string, { wd: number; decoupled: boolean; amsgrad: boolean }]> = [
    ['Adam', { wd: 0, decoupled: false, amsgrad: false }],
    ['Adam + L2', { wd: 0.05, decoupled: false, amsgrad: false }],
    ['AdamW', { wd: 0.05, decoupled: true, amsgrad: false }],
    ['AdamW, weightDecay 0', { wd: 0, decoupled: true, amsgrad: false }],
    ['Adam + AMSGrad', { wd: 0, decoupled: false, amsgrad: true }],
    ['AdamW + AMSGrad', { wd: 0.05, decoupled: true, amsgrad: true }],
  ];
  for (const dtype of ['float32', 'float64'] as const) {
    for (const [name, c] of cases) {
      it(`${name}, ${dtype}: θ, m, v (and v_max) bit for bit over 5 steps, sizes 0, 1, 7, 300`, () => {
        const gen = new Generator(12);
        for (const n of [0, 1, 7, 300]) {
          const p = tensor(Array.from({ length: n }, () => gen.normal()), { dtype }).requiresGrad_();
          const theta = p.data.slice();
          const m = p.data.slice().fill(0), v = p.data.slice().fill(0), vmax = c.amsgrad ? p.data.slice().fill(0) : null;
          const o = { lr: 0.01, b1: 0.9, b2: 0.99, eps: 1e-8, wd: c.wd, decoupled: c.decoupled };
          const opt = c.decoupled
            ? new AdamW([p], { lr: o.lr, betas: [o.b1, o.b2], eps: o.eps, weightDecay: c.wd, amsgrad: c.amsgrad })
            : new Adam([p], { lr: o.lr, betas: [o.b1, o.b2], eps: o.eps, weightDecay: c.wd, amsgrad: c.amsgrad });
          for (let t = 1; t <= 5; t++) {
            // Gradients of mixed scale, some exactly zero, so v_max both holds and moves.
            const g = Array.from({ length: n }, (_, i) => (i % 5 === 0 ? 0 : gen.normal() * (t % 2 ? 3 : 0.1)));
            p.grad = tensor(g, { dtype });
            opt.step();
            if (theta instanceof Float32Array) referenceStep32(theta, p.grad.data, m as Float32Array, v as Float32Array, vmax as Float32Array | null, t, o);
            else referenceStep(theta, p.grad.data, m, v, vmax, t, o);
          }
          const st = opt.state.get(p)!;
          expect(Array.from(p.data), `θ n=${n}`).toEqual(Array.from(theta));
          if (n > 0) {
            expect(Array.from(st.expAvg as Float32Array), 'm').toEqual(Array.from(m));
            expect(Array.from(st.expAvgSq as Float32Array), 'v').toEqual(Array.from(v));
            if (vmax) expect(Array.from(st.maxExpAvgSq as Float32Array), 'v_max').toEqual(Array.from(vmax));
          }
        }
      });
    }
  }
});
