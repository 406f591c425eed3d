import { describe, expect, it } from 'vitest';
import { Tensor, gradcheck, matmul, randn, stack } from '../../src/autograd/index.js';
import { Generator } from '../../src/tensor/index.js';
import type { DNN } from '../../src/nn/dnn.js';
import type { Linear } from '../../src/nn/linear.js';
import { MMoE, OMoE, PLE, type MMoEOptions, type PLEOptions } from '../../src/models/index.js';
import { joinTaskLogits } from '../../src/models/prediction.js';

/*
 * MMoE / OMoE / PLE run their experts' first layers (and MMoE's linear gates) as one product.
 * These tests rebuild each model's forward the per-expert way, from the same modules, and check
 * that the fused models give the same logits and gradients, that the state dict is unchanged, and
 * that float64 gradchecks pass through the fused path.
 */

/** MMoE's logits the per-expert way: E expert forwards stacked, one softmax gate per task. */
function mmoeReference(m: MMoE | OMoE, h: Tensor): Tensor {
  const B = h.shape[0];
  const experts = stack(m.expert_dnn.map((e) => e.forward(h)), 1);
  const gates = stack(m.gate_dnn_final_layer.map((final, g) => final.forward(m.gate_dnn ? m.gate_dnn.get(g).forward(h) : h).softmax(-1)), 1);
  const mixed = matmul(gates, experts);
  const H = mixed.shape[2];
  const perTask = m.tower_dnn_final_layer.map((final, t) => {
    let z = mixed.narrow(1, m.numGates === 1 ? 0 : t, 1).reshape([B, H]);
    if (m.tower_dnn) z = m.tower_dnn.get(t).forward(z);
    return final.forward(z);
  });
  return joinTaskLogits(perTask, m.out);
}

/** PLE's logits the per-expert way: every expert on its own, a stack per gate. */
function pleReference(m: PLE, h: Tensor): Tensor {
  const T = m.numTasks;
  const gate = (dnn: DNN | null, final: Linear, x: Tensor): Tensor => final.forward(dnn ? dnn.forward(x) : x).softmax(-1);
  const mix = (g: Tensor, experts: Tensor[]): Tensor => {
    const B = g.shape[0];
    const s = stack(experts, 1);
    return matmul(g.reshape([B, 1, experts.length]), s).reshape([B, s.shape[2]]);
  };
  let inputs = Array.from({ length: T + 1 }, () => h);
  for (let level = 0; level < m.numLevels; level++) {
    const specific = m.specific_experts.get(level).map((experts, t) => experts.map((e) => e.forward(inputs[t])));
    const shared = m.shared_experts.get(level).map((e) => e.forward(inputs[T]));
    const outputs: Tensor[] = [];
    for (let t = 0; t < T; t++) {
      const g = gate(m.specific_gate_dnn?.get(level).get(t) ?? null, m.specific_gate_dnn_final_layer.get(level).get(t), inputs[t]);
      outputs.push(mix(g, [...specific[t], ...shared]));
    }
    if (level < m.numLevels - 1) {
      outputs.push(mix(gate(m.shared_gate_dnn?.get(level) ?? null, m.shared_gate_dnn_final_layer.get(level), inputs[T]), [...specific.flat(), ...shared]));
    }
    inputs = outputs;
  }
  const perTask = m.tower_dnn_final_layer.map((final, t) => final.forward(m.tower_dnn ? m.tower_dnn.get(t).forward(inputs[t]) : inputs[t]));
  return joinTaskLogits(perTask, m.out);
}

function valueAndGrads(f: () => Tensor, wrt: readonly Tensor[]): { out: Float32Array | Float64Array; grads: Array<Float32Array | Float64Array | null> } {
  for (const t of wrt) t.grad = null;
  const out = f();
  out.mul(randn(out.shape, { generator: new Generator(3), dtype: out.dtype })).sum().backward();
  return { out: out.data.slice(), grads: wrt.map((t) => (t.grad ? t.grad.data.slice() : null)) };
}

/** max|a − b| / max(max|b|, tiny). */
function rel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0, den = 1e-30;
  for (let i = 0; i < a.length; i++) { num = Math.max(num, Math.abs(a[i] - b[i])); den = Math.max(den, Math.abs(b[i])); }
  return num / den;
}

function expectMatchesReference(
  m: MMoE | OMoE | PLE, ref: (h: Tensor) => Tensor, x: Tensor, label: string, exactParams: boolean,
): void {
  const wrt = [x, ...m.parameters()];
  const fused = valueAndGrads(() => m.logits(x), wrt);
  const slow = valueAndGrads(() => ref(x), wrt);
  expect(Array.from(fused.out), `${label}: logits`).toEqual(Array.from(slow.out));
  fused.grads.forEach((g, i) => {
    const r = slow.grads[i];
    expect(g === null, `${label}: grad ${i} presence`).toBe(r === null);
    if (g === null || r === null) return;
    // The input's gradient is one sum over all experts instead of E partial sums added up.
    if (exactParams && i > 0) expect(Array.from(g), `${label}: grad ${i}`).toEqual(Array.from(r));
    else expect(rel(g, r), `${label}: grad ${i}`).toBeLessThan(1e-6);
  });
}

const x = (B: number, F = 6): Tensor => randn([B, F], { generator: new Generator(8) }).requiresGrad_();

describe('experts as one product: the models equal their per-expert forms', () => {
  const mmoe: MMoEOptions = { inputDim: 6, numExperts: 4, expertHiddenUnits: [5], towerHiddenUnits: [3], taskTypes: ['binary', 'regression'], initStd: 0.5 };

  it('MMoE and OMoE: logits bit for bit, parameter gradients bit for bit (linear gates, gate DNNs, deep experts, BatchNorm)', () => {
    const variants: Array<[string, Partial<MMoEOptions>]> = [
      ['paper-like', {}], ['gate DNN', { gateHiddenUnits: [3] }], ['deep experts', { expertHiddenUnits: [5, 4] }],
      ['no towers', { towerHiddenUnits: [] }], ['one expert', { numExperts: 1 }], ['sigmoid', { dnnActivation: 'sigmoid' }],
    ];
    for (const [name, o] of variants) {
      for (const M of [MMoE, OMoE]) {
        const m = new M({ ...mmoe, ...o });
        for (const B of [1, 7]) expectMatchesReference(m, (h) => mmoeReference(m, h), x(B), `${M.name} ${name} B=${B}`, true);
      }
    }
    const bn = new MMoE({ ...mmoe, dnnUseBn: true });
    expectMatchesReference(bn.eval(), (h) => mmoeReference(bn, h), x(5), 'MMoE BatchNorm eval', true);
  });

  it('MMoE at the paper\'s size (d = 100, 8 experts × 16, towers 8): bit for bit, as the training runs rely on', () => {
    const m = new MMoE({ inputDim: 100, numExperts: 8, expertHiddenUnits: [16], towerHiddenUnits: [8], taskTypes: ['regression', 'regression'], initStd: 0.1 });
    expectMatchesReference(m, (h) => mmoeReference(m, h), x(128, 100), 'paper', true);
  });

  it('PLE: every (shared, specific, levels) layout matches the per-expert form', () => {
    const base: PLEOptions = { inputDim: 6, expertHiddenUnits: [4], taskTypes: ['binary', 'binary', 'regression'], initStd: 0.5, towerHiddenUnits: [2] };
    for (const [K, S] of [[2, 1], [1, 2], [0, 2], [2, 0], [1, 1]]) {
      for (const numLevels of [1, 2, 3]) {
        for (const extra of [{}, { gateHiddenUnits: [3] }, { taskTypes: ['binary'] as const }]) {
          const m = new PLE({ ...base, ...extra, sharedExpertNum: K, specificExpertNum: S, numLevels });
          // Above level 0 experts read the previous level's outputs, whose gradients are sums too.
          expectMatchesReference(m, (h) => pleReference(m, h), x(5), `PLE K=${K} S=${S} L=${numLevels} ${JSON.stringify(extra)}`, numLevels === 1);
        }
      }
    }
  });

  it('state dicts keep the per-expert DeepCTR-Torch keys and load both ways between models', () => {
    const a = new MMoE({ ...mmoe, seed: 1 }), b = new MMoE({ ...mmoe, seed: 2 });
    const keys = Object.keys(a.stateDict());
    for (let e = 0; e < 4; e++) {
      expect(keys).toContain(`expert_dnn.${e}.linears.0.weight`);
      expect(keys).toContain(`expert_dnn.${e}.linears.0.bias`);
      expect(a.stateDict()[`expert_dnn.${e}.linears.0.weight`].shape).toEqual([5, 6]);
    }
    b.loadStateDict(Object.fromEntries(Object.entries(a.stateDict()).map(([k, t]) => [k, new Tensor(t.data.slice(), t.shape)])));
    const xi = x(3);
    expect(Array.from(b.logits(xi).data)).toEqual(Array.from(a.logits(xi).data));
    // Weights written into one expert change only that expert's slice of the wide product.
    b.expert_dnn.get(2).linears.get(0).weight.data.fill(0);
    b.expert_dnn.get(2).linears.get(0).bias!.data.fill(0);
    expect(Array.from(b.logits(xi).data)).toEqual(Array.from(mmoeReference(b, xi).data));
  });

  it('float64 gradcheck of MMoE (linear gates) and PLE through the fused path', () => {
    const tol = { eps: 1e-6, atol: 1e-5, rtol: 1e-3 };
    const m = new MMoE({ ...mmoe, dnnActivation: 'tanh' }).to('float64');
    const p = new PLE({ inputDim: 6, expertHiddenUnits: [3], taskTypes: ['binary', 'binary'], sharedExpertNum: 2, specificExpertNum: 2, numLevels: 2, dnnActivation: 'tanh', initStd: 0.5 }).to('float64');
    for (const model of [m, p]) {
      const xi = randn([3, 6], { generator: new Generator(2), dtype: 'float64' }).requiresGrad_();
      const r = gradcheck(() => model.forward(xi), [xi, ...model.parameters()], tol);
      expect(r.ok, r.message).toBe(true);
    }
  });
});
