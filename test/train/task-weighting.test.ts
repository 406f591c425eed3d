import { describe, expect, it } from 'vitest';
import { Tensor, gradcheck, randn, tensor } from '../../src/autograd/index.js';
import { Generator } from '../../src/tensor/index.js';
import { DCN } from '../../src/models/index.js';
import { Adam } from '../../src/nn/optim/index.js';
import { fit } from '../../src/train/trainer.js';
import { multiTaskLoss, perTaskLosses } from '../../src/train/loss.js';
import {
  FixedWeighting, GradNormWeighting, gradNormLoss, gradNormTargets, uncertaintyFactors, uncertaintyLoss,
} from '../../src/train/task-weighting.js';
import { smallMMoE, teacherData } from './helpers.js';

const TOL = { eps: 1e-6, atol: 1e-5, rtol: 1e-3 };
const f64 = (v: number[], shape?: number[], requiresGrad = true): Tensor => {
  const t = tensor(v, { dtype: 'float64', requiresGrad });
  return shape ? new Tensor(t.data, shape, requiresGrad) : t;
};

describe('per-task losses', () => {
  it('perTaskLosses gives each L_t; Σ w_t L_t is multiTaskLoss, with and without row weights', () => {
    const logits = tensor([[0.3, -1.2], [2.0, 0.5], [-0.7, 0.1]]);
    const y = tensor([[0.5, 0], [1.5, 1], [-1, 1]]);
    const r = tensor([[2, 0], [0.5, 1], [1, 3]]);
    for (const rw of [null, r]) {
      const L = perTaskLosses(logits, y, ['regression', 'binary'], rw);
      expect(L.shape).toEqual([2]);
      const combined = 2 * L.data[0] + 0.5 * L.data[1];
      expect(combined).toBeCloseTo(multiTaskLoss(logits, y, ['regression', 'binary'], [2, 0.5], rw)!.item(), 5);
    }
    const mse0 = [0, 1, 2].reduce((a, i) => a + (logits.data[2 * i] - y.data[2 * i]) ** 2, 0) / 3;
    expect(perTaskLosses(logits, y, ['regression', 'binary']).data[0]).toBeCloseTo(mse0, 5);
  });
});

describe('uncertainty weighting (Kendall et al. 2018)', () => {
  it('is ½e^{-s}L + ½s for regression and e^{-s}L + ½s for classification', () => {
    expect(uncertaintyFactors(['regression', 'binary'])).toEqual([0.5, 1]);
    const v = uncertaintyLoss(f64([2, 0.5]), f64([0.3, -0.2]), [0.5, 1]).item();
    expect(v).toBeCloseTo(0.5 * Math.exp(-0.3) * 2 + 0.15 + Math.exp(0.2) * 0.5 - 0.1, 12);
  });

  it('gradcheck (float64) in the task losses and the log-variances, and through the logits', () => {
    expect(gradcheck((L, s) => uncertaintyLoss(L, s, [0.5, 1, 1]), [f64([1.3, 0.4, 2.2]), f64([0.1, -0.7, 0.5])], TOL).ok).toBe(true);
    const g = new Generator(3);
    const logits = new Tensor(Float64Array.from({ length: 10 }, () => g.normal()), [5, 2], true);
    const y = new Tensor(Float64Array.from([0.2, 1, -1, 0, 0.7, 1, 1.5, 0, 0, 1]), [5, 2]);
    const r = new Tensor(Float64Array.from([1, 2, 0.5, 1, 1, 0, 3, 1, 1, 1]), [5, 2]);
    const s = f64([0.2, -0.4]);
    const res = gradcheck((x, lv) => uncertaintyLoss(perTaskLosses(x, y, ['regression', 'binary'], r), lv, [0.5, 1]), [logits, s], TOL);
    expect(res.ok, res.message).toBe(true);
  });

  it('its minimiser over s is the paper’s: s* = log L (regression), log 2L (classification)', () => {
    const L = f64([0.8, 0.3], undefined, false);
    const s = tensor([0, 0], { dtype: 'float64', requiresGrad: true });
    const opt = new Adam([s], { lr: 0.05 });
    for (let k = 0; k < 3000; k++) {
      opt.zeroGrad();
      uncertaintyLoss(L, s, [0.5, 1]).backward();
      opt.step();
    }
    expect(s.data[0]).toBeCloseTo(Math.log(0.8), 4);
    expect(s.data[1]).toBeCloseTo(Math.log(0.6), 4);
  });

  it("fit with taskWeighting 'uncertainty' learns and logs the weights", () => {
    const data = teacherData(128, 6, 0);
    const h = fit(smallMMoE(), data, { epochs: 4, batchSize: 16, lr: 0.02, seed: 1, verbose: 0, taskWeighting: 'uncertainty' });
    const last = h.last!.logs;
    expect(last.value_log_var).not.toBe(0);
    expect(last.click_log_var).not.toBe(0);
    expect(last.value_weight).toBeCloseTo(0.5 * Math.exp(-last.value_log_var), 6);
    expect(last.click_weight).toBeCloseTo(Math.exp(-last.click_log_var), 6);
    // Falling task losses pull each log σ² down (its minimiser is log L or log 2L).
    expect(h.series('value_log_var')[3]).toBeLessThan(h.series('value_log_var')[0]);
    expect(h.series('value_loss')[3]).toBeLessThan(h.series('value_loss')[0]);
  });
});

describe('GradNorm (Chen et al. 2018)', () => {
  it('targets: mean(w g) · (r_i)^α with r_i = (L_i/L_i(0)) / mean(L/L(0))', () => {
    const t = gradNormTargets([1.5, 0.5], [2, 4], [0.5, 0.9], [1, 1], 2);
    const meanG = (1.5 * 2 + 0.5 * 4) / 2, mr = (0.5 + 0.9) / 2;
    expect(t[0]).toBeCloseTo(meanG * (0.5 / mr) ** 2, 12);
    expect(t[1]).toBeCloseTo(meanG * (0.9 / mr) ** 2, 12);
  });

  it('gradcheck (float64) of L_grad = Σ|w_i g_i − target_i| in w and g', () => {
    const res = gradcheck((w, g) => gradNormLoss(w, g, f64([1.0, 2.5, 0.2], undefined, false)), [f64([1.2, 0.5, 1.3]), f64([0.4, 3.1, 0.9])], TOL);
    expect(res.ok, res.message).toBe(true);
  });

  it('its backward gives the model ∇ Σ w_i L_i and measures g_i = ‖∇_W L_i‖ on the shared layer', () => {
    const data = teacherData(16, 6, 1);
    const model = smallMMoE(4);
    const shared = model.namedParameters().filter(([n]) => /^expert_dnn\.\d+\.linears\.0\.weight$/.test(n)).map(([, p]) => p);
    expect(shared).toHaveLength(3);
    const gn = new GradNormWeighting(model, shared, 1.5, 0.01);
    gn.weights.data.set([1.5, 0.5]);
    const zero = (): void => { for (const p of model.parameters()) p.grad = null; };
    zero();
    gn.backward(model.logits(data.x), data.y, null, null, () => {});
    const got = model.parameters().map((p) => Float64Array.from(p.grad?.data ?? new Float32Array(p.size)));
    zero();
    new FixedWeighting(model.taskTypes, [1.5, 0.5]).backward(model.logits(data.x), data.y, null, null, () => {});
    model.parameters().forEach((p, k) => {
      const want = p.grad?.data ?? new Float32Array(p.size);
      want.forEach((v, i) => expect(got[k][i]).toBeCloseTo(v, 5));
    });
    for (const [j, w] of [[0, [1, 0]], [1, [0, 1]]] as const) {
      zero();
      new FixedWeighting(model.taskTypes, w).backward(model.logits(data.x), data.y, null, null, () => {});
      let sq = 0;
      for (const p of shared) for (const v of p.grad?.data ?? []) sq += v * v;
      expect(gn.lastGradNorms![j]).toBeCloseTo(Math.sqrt(sq), 4);
    }
  });

  it("fit with 'gradnorm' keeps Σ w = T and turns down the weight of the task with the larger gradients", () => {
    const run = (scale: number) => {
      const data = teacherData(128, 6, 2);
      for (let i = 0; i < 128; i++) data.y.data[2 * i] *= scale;
      return fit(smallMMoE(5), data, { epochs: 5, batchSize: 16, lr: 0.01, seed: 2, verbose: 0, taskWeighting: { method: 'gradnorm', alpha: 1.5, lr: 0.05 } });
    };
    // Regression labels ×4: that task's gradients dominate, and its weight goes down; ×¼: up.
    const big = run(4), small = run(0.25);
    for (const e of [...big.epochs, ...small.epochs]) expect(e.logs.value_weight + e.logs.click_weight).toBeCloseTo(2, 5);
    expect(big.last!.logs.value_weight).toBeLessThan(big.last!.logs.click_weight);
    expect(small.last!.logs.value_weight).toBeGreaterThan(small.last!.logs.click_weight);
    expect(big.last!.logs.gradnorm_loss).toBeGreaterThanOrEqual(0);
  });

  it('sharedParameters by name works for any model; wrong set-ups are named', () => {
    const data = teacherData(32, 6, 3);
    const dcn = new DCN({ inputDim: 6, crossNum: 1, dnnHiddenUnits: [4], taskTypes: ['regression', 'binary'], seed: 1 });
    expect(() => fit(dcn, data, { verbose: 0, taskWeighting: 'gradnorm' }))
      .toThrow("fit: taskWeighting 'gradnorm' needs the last shared layer's weights; give taskWeighting.sharedParameters (tensors or parameter names) for this model (DCN)");
    const h = fit(dcn, data, { verbose: 0, epochs: 2, taskWeighting: { method: 'gradnorm', sharedParameters: ['dnn.linears.0.weight'] } });
    expect(h.last!.logs.task0_weight + h.last!.logs.task1_weight).toBeCloseTo(2, 5);
    expect(() => fit(dcn, data, { verbose: 0, taskWeighting: { method: 'gradnorm', sharedParameters: ['dnn.linear.0.weight'] } }))
      .toThrow("fit: taskWeighting.sharedParameters names 'dnn.linear.0.weight', which is not a parameter of the model");
    expect(() => fit(smallMMoE(), data, { verbose: 0, taskWeighting: { method: 'gradnorm', sharedParameters: [randn([2])] } }))
      .toThrow("fit: taskWeighting.sharedParameters must be the model's own parameters (or their names)");
    expect(() => fit(smallMMoE(), data, { verbose: 0, taskWeighting: 'uncertainty', lossWeights: [1, 2] }))
      .toThrow('fit: give lossWeights (fixed) or taskWeighting (learned), not both');
    expect(() => fit(smallMMoE(), data, { verbose: 0, taskWeighting: 'kendall' as 'uncertainty' }))
      .toThrow("fit: taskWeighting.method must be 'uncertainty' or 'gradnorm', got kendall");
    expect(() => fit(smallMMoE(), data, { verbose: 0, taskWeighting: { method: 'gradnorm', alpah: 1 } as object as 'gradnorm' }))
      .toThrow("fit: taskWeighting: unknown option 'alpah' (did you mean 'alpha'?)");
    expect(() => fit(smallMMoE(), data, { verbose: 0, taskWeighting: { method: 'gradnorm', alpha: -1 } }))
      .toThrow('fit: taskWeighting.alpha must be a number >= 0, got -1');
  });
});
