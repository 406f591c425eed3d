import { describe, expect, it } from 'vitest';
import { Generator, NDArray, Tensor, bumpVersion, defineOp, detectAnomaly, full, noGrad, randn, tensor, tracePlan } from '../../src/index.js';
import { closeStorageScope, openStorageScope, scopeRecycle } from '../../src/tensor/index.js';

const g = new Generator(11);
const bits = (a: ArrayLike<number>): number[] => Array.from(new Float32Array(Array.from(a)));

describe('tracePlan', () => {
  const w = randn([5, 4], { generator: g, requiresGrad: true });
  const b = randn([4], { generator: g, requiresGrad: true });
  const f = (x: Tensor): Tensor => x.matmul(w).add(b).relu().softmax(-1).mul(2).sum(1, true);

  it('replays a forward bit for bit on new inputs, reading the constants as they are when it runs', () => {
    const x = randn([3, 5], { generator: g });
    const plan = noGrad(() => tracePlan(f, x, [randn([3, 5], { generator: g })], new Set([w, b])));
    if (typeof plan === 'string') throw new Error(plan);
    expect(plan.length).toBe(6);
    for (let i = 0; i < 3; i++) {
      const y = randn([3, 5], { generator: g });
      expect(Array.from(plan.run(y).data)).toEqual(Array.from(noGrad(() => f(y)).data));
    }
    // An in-place update (an optimizer step) is seen by the next replay.
    noGrad(() => { w.data[0] += 1; b.data.fill(0.5); });
    const y = randn([3, 5], { generator: g });
    expect(Array.from(plan.run(y).data)).toEqual(Array.from(noGrad(() => f(y)).data));
  });

  it('gives the same bits in a recycling storage scope, run after run', () => {
    const x = randn([64, 5], { generator: g });
    const plan = noGrad(() => tracePlan(f, x, [randn([64, 5], { generator: g })], new Set([w, b])));
    if (typeof plan === 'string') throw new Error(plan);
    const r = scopeRecycle();
    for (let i = 0; i < 4; i++) {
      const y = randn([64, 5], { generator: g });
      openStorageScope(r);
      const got = Array.from(plan.run(y).data);
      closeStorageScope([]);
      expect(got).toEqual(Array.from(noGrad(() => f(y)).data));
    }
  });

  it('refuses a forward whose ops or attributes depend on the values, saying which op', () => {
    const branchy = (x: Tensor): Tensor => (x.data[0] > 0 ? x.relu() : x.neg()).sum(1);
    const x = full([2, 3], 1);
    const neg = full([2, 3], -1);
    expect(noGrad(() => tracePlan(branchy, x, [neg], new Set()))).toMatch(/op 0 \(relu\) differs between two inputs of the same shape/);
    // A count read from the data, passed as an attribute.
    const narrowed = (x: Tensor): Tensor => x.narrow(1, 0, x.data[0] > 0 ? 1 : 2);
    expect(noGrad(() => tracePlan(narrowed, x, [x, neg], new Set()))).toMatch(/op 0 \(slice\) differs/);
  });

  it('keeps a tensor made inside the forward as a copy when every trace made it alike, stale once a constant changes', () => {
    const x = randn([2, 3], { generator: g });
    const p = randn([2, 3], { generator: g });
    const scale = randn([3], { generator: g });
    // A scale computed outside the ops from a constant (as batch norm's eval scale is).
    const made = (t: Tensor): Tensor => t.mul(tensor(Array.from(scale.data, (v) => 2 * v)));
    const plan = noGrad(() => tracePlan(made, x, [p], new Set([scale])));
    if (typeof plan === 'string') throw new Error(plan);
    const y = randn([2, 3], { generator: g });
    expect(Array.from(plan.run(y).data)).toEqual(Array.from(noGrad(() => made(y)).data));
    expect(plan.stale()).toBe(false);
    noGrad(() => scale.data.fill(3));
    bumpVersion(scale);
    expect(plan.stale()).toBe(true);
    // A tensor made from the input's values differs between traces: refused.
    const copied = (t: Tensor): Tensor => t.add(tensor(Array.from(t.data.subarray(0, 3))));
    expect(noGrad(() => tracePlan(copied, x, [p], new Set()))).toMatch(/op 0 \(add\) differs between two inputs of the same shape/);
    const scaled = defineOp<{ s: Float32Array }>({ name: 'scaled', forward: (_c, [a], { s }) => new NDArray(a.data.map((v) => v * s[0]), a.shape), backward: () => [null] });
    expect(noGrad(() => tracePlan((t) => scaled([t], { s: Float32Array.of(2) }), x, [p], new Set()))).toMatch(/op 0 \(scaled\) has floating-point arrays among its attributes/);
    expect(noGrad(() => tracePlan((t) => t, x, [p], new Set()))).toBe('the forward returned a tensor no op produced');
  });

  it('refuses a branch that picks which parameter to read, and a forward that edits an op output in JavaScript', () => {
    const x = full([2, 5], 1);
    const wa = randn([5, 4], { generator: g }), wb = randn([5, 4], { generator: g });
    const pick = (t: Tensor): Tensor => t.matmul(t.data[0] > 0 ? wa : wb);
    expect(noGrad(() => tracePlan(pick, x, [full([2, 5], -1)], new Set([wa, wb])))).toMatch(/reads other parameters or buffers for two inputs/);
    const clipped = (t: Tensor): Tensor => {
      const y = t.matmul(wa).sigmoid();
      for (let i = 0; i < y.size; i++) y.data[i] = Math.min(0.8, Math.max(0.2, y.data[i]));
      return y;
    };
    expect(noGrad(() => tracePlan(clipped, randn([2, 5], { generator: g }), [randn([2, 5], { generator: g })], new Set([wa])))).toMatch(/a replay differs from the traced forward/);
  });

  it('reads a tensor the forward holds without registering it live, and watches its version', () => {
    const held = randn([5], { generator: g });
    const f2 = (t: Tensor): Tensor => t.mul(held).sum(1);
    const plan = noGrad(() => tracePlan(f2, randn([3, 5], { generator: g }), [randn([3, 5], { generator: g })], new Set()));
    if (typeof plan === 'string') throw new Error(plan);
    noGrad(() => held.data.fill(2));
    const y = randn([3, 5], { generator: g });
    expect(Array.from(plan.run(y).data)).toEqual(Array.from(noGrad(() => f2(y)).data));
    bumpVersion(held);
    expect(plan.stale()).toBe(true);
  });

  it('checks outputs for NaN and Inf in anomaly mode, naming the op', () => {
    const x = full([1, 2], 1);
    const plan = noGrad(() => tracePlan((t) => t.log().neg(), x, [full([1, 2], 2)], new Set()));
    if (typeof plan === 'string') throw new Error(plan);
    expect(bits(plan.run(full([1, 2], 0)).data)).toEqual([Infinity, Infinity]);
    expect(() => detectAnomaly(() => plan.run(full([1, 2], 0)))).toThrow(/detectAnomaly: log produced -Infinity in its output/);
  });
});
