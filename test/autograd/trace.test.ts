import { describe, expect, it } from 'vitest';
import { defineOp, noGrad, randn, traceOps, untraced } from '../../src/index.js';

describe('traceOps', () => {
  it('records every op of a forward, in order, with inputs, attributes and output, with or without grad', () => {
    const x = randn([2, 3]);
    const w = randn([3, 4], { requiresGrad: true });
    for (const run of [(f: () => unknown) => f(), noGrad]) {
      const { result, ops } = traceOps(() => run(() => x.matmul(w).relu().sum(1)));
      expect(ops.map((o) => o.name)).toEqual(['matmul', 'relu', 'sum']);
      expect(ops[0].inputs[0]).toBe(x);
      expect(ops[0].inputs[1]).toBe(w);
      expect(ops[0].attrs).toEqual({ transA: false, transB: false });
      expect(ops[1].inputs[0]).toBe(ops[0].output);
      expect(ops[2].attrs).toEqual({ axes: [1], keepdim: false });
      expect(ops[2].output).toBe(result);
    }
  });

  it('sees user-defined ops like built-in ones, and nothing once the trace has ended', () => {
    const twice = defineOp({ name: 'twice', forward: (_c, [a]) => a, backward: (_c, g) => [g] });
    const x = randn([2]);
    const { ops } = traceOps(() => twice([x], undefined));
    expect(ops.map((o) => o.name)).toEqual(['twice']);
    x.add(1);
    expect(ops).toHaveLength(1);
  });

  it('refuses to nest, and ends a trace whose function throws', () => {
    expect(() => traceOps(() => traceOps(() => 1))).toThrow('traceOps: a trace is already running (traces do not nest)');
    expect(() => traceOps(() => { throw new Error('boom'); })).toThrow('boom');
    expect(traceOps(() => randn([1]).neg()).ops).toHaveLength(1);
  });

  it('untraced pauses the trace around its function', () => {
    const x = randn([2]);
    const { ops } = traceOps(() => x.neg().add(untraced(() => x.exp().sqrt())).abs());
    expect(ops.map((o) => o.name)).toEqual(['neg', 'add', 'abs']);
    expect(untraced(() => 5)).toBe(5);
  });
});
