import { afterEach, describe, expect, it } from 'vitest';
import {
  defineOp, detectAnomaly, enableGrad, gradcheck, isGradEnabled, noGrad, randn, tensor, Generator,
  type Tensor,
} from '../../src/index.js';
import { binary, unary, NDArray } from '../../src/tensor/index.js';

const f64 = { dtype: 'float64' as const };

describe('backward engine', () => {
  it('a 100,000-node chain backpropagates without overflowing the stack', () => {
    const x = tensor([0.5], { ...f64, requiresGrad: true });
    let y: Tensor = x;
    // Alternating ops so each node differs; d/dx of (x*1.00001 + 0)^N = 1.00001^N.
    for (let i = 0; i < 100_000; i++) y = i % 2 === 0 ? y.mul(1.00001) : y.add(0);
    y.sum().backward();
    expect(x.grad).not.toBeNull();
    expect(x.grad!.data[0]).toBeCloseTo(Math.pow(1.00001, 50_000), 9);
  });

  it('leaf gradients accumulate across two backward calls', () => {
    const x = tensor([1, 2, 3], { ...f64, requiresGrad: true });
    x.mul(x).sum().backward();
    expect(Array.from(x.grad!.data)).toEqual([2, 4, 6]);
    x.mul(3).sum().backward();
    expect(Array.from(x.grad!.data)).toEqual([5, 7, 9]);
    x.zeroGrad();
    expect(x.grad).toBeNull();
  });

  it('retainGraph allows a second backward; without it the second backward is a clear error', () => {
    const x = tensor([1, 2], { ...f64, requiresGrad: true });
    const y = x.exp().sum();
    y.backward(undefined, { retainGraph: true });
    y.backward();
    expect(x.grad!.data[0]).toBeCloseTo(2 * Math.E, 12);
    expect(() => y.backward()).toThrow(/^backward: trying to backward through the graph a second time \(the saved buffers of (exp|sum) were freed\); pass \{ retainGraph: true \}/);
    // The grad is unchanged by the failed call.
    expect(x.grad!.data[0]).toBeCloseTo(2 * Math.E, 12);
  });

  it('releases saved buffers after backward unless retainGraph', () => {
    const x = tensor([1, 2], { ...f64, requiresGrad: true });
    const e = x.exp();
    expect(e.gradFn!.ctx.saved).toBeInstanceOf(NDArray);
    e.sum().backward();
    expect(e.gradFn!.ctx.saved).toBeUndefined();
    expect(e.gradFn!.released).toBe(true);
    const k = x.exp();
    k.sum().backward(undefined, { retainGraph: true });
    expect(k.gradFn!.released).toBe(false);
  });

  it('non-scalar backward needs gradOutput, which must match shape and dtype', () => {
    const x = tensor([[1, 2], [3, 4]], { ...f64, requiresGrad: true });
    const y = x.mul(2);
    expect(() => y.backward()).toThrow(/^backward: gradOutput can be implicit only for a scalar output; pass one of shape \[2,2\]/);
    expect(() => y.backward(tensor([1, 1], f64))).toThrow(/^backward: gradOutput shape \[2\] does not match output shape \[2,2\]/);
    expect(() => y.backward(tensor([[1, 1], [1, 1]]))).toThrow(/^backward: gradOutput dtype float32 does not match output dtype float64/);
    y.backward(tensor([[1, 0], [0.5, 2]], f64));
    expect(Array.from(x.grad!.data)).toEqual([2, 0, 1, 4]);
    // A one-element non-0-d output takes the implicit 1.
    const z = tensor([[3]], { ...f64, requiresGrad: true });
    z.mul(z).backward();
    expect(z.grad!.data[0]).toBe(6);
  });

  it('backward on a tensor that does not require grad throws', () => {
    expect(() => tensor([1, 2]).sum().backward()).toThrow(/^backward: tensor does not require grad/);
  });

  it('gradients of two inputs never share storage', () => {
    const a = tensor([1, 2], { ...f64, requiresGrad: true });
    const b = tensor([3, 4], { ...f64, requiresGrad: true });
    a.add(b).sum().backward();
    expect(a.grad!.data).not.toBe(b.grad!.data);
    a.grad!.data[0] = 100;
    expect(b.grad!.data[0]).toBe(1);
  });

  it('retainGrad keeps the gradient of a non-leaf', () => {
    const x = tensor([1, 2], { ...f64, requiresGrad: true });
    const h = x.mul(3).retainGrad();
    const other = x.mul(3);
    h.mul(h).sum().add(other.sum()).backward();
    expect(Array.from(h.grad!.data)).toEqual([6, 12]);
    expect(other.grad).toBeNull();
    expect(Array.from(x.grad!.data)).toEqual([21, 39]);
  });
});

describe('what is recorded', () => {
  it('noGrad records nothing, and restores the mode even when fn throws', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const y = noGrad(() => x.mul(2).exp());
    expect(y.requiresGrad).toBe(false);
    expect(y.gradFn).toBeNull();
    expect(isGradEnabled()).toBe(true);
    expect(() => noGrad(() => { throw new Error('boom'); })).toThrow('boom');
    expect(isGradEnabled()).toBe(true);
    const z = noGrad(() => enableGrad(() => x.mul(2)));
    expect(z.requiresGrad).toBe(true);
    expect(z.gradFn).not.toBeNull();
  });

  it('only nodes on a path from a tensor that requires grad are recorded', () => {
    const c = tensor([1, 2]);
    const x = tensor([3, 4], { requiresGrad: true });
    const k = c.exp().add(1);
    expect(k.gradFn).toBeNull();
    expect(k.requiresGrad).toBe(false);
    const y = k.mul(x);
    expect(y.gradFn).not.toBeNull();
    expect(y.gradFn!.inputs[0]).toBe(k);
    y.sum().backward();
    expect(c.grad).toBeNull();
    expect(k.grad).toBeNull();
    expect(x.grad).not.toBeNull();
  });

  it('detach shares storage and cuts the graph', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const d = x.mul(2).detach();
    expect(d.requiresGrad).toBe(false);
    expect(d.gradFn).toBeNull();
    const y = x.mul(2);
    expect(y.detach().data).toBe(y.data);
  });

  it('backward rules are told which input gradients are needed, and unneeded ones are dropped', () => {
    const seen: boolean[][] = [];
    let calls = 0;
    const scaledMul = defineOp({
      name: 'scaledMul',
      forward: (c, [a, b]) => {
        seen.push(c.needsInputGrad.slice());
        return binary('mul', a, b);
      },
      backward: (c, g, [a, b]) => {
        calls++;
        seen.push(c.needsInputGrad.slice());
        // Deliberately returns both gradients: the engine must ignore the one nobody needs.
        return [binary('mul', g, b), binary('mul', g, a)];
      },
    });
    const x = tensor([1, 2], { ...f64, requiresGrad: true });
    const c = tensor([5, 7], f64);
    scaledMul([x, c], undefined).sum().backward();
    expect(seen).toEqual([[true, false], [true, false]]);
    expect(Array.from(x.grad!.data)).toEqual([5, 7]);
    expect(c.grad).toBeNull();

    // A node none of whose inputs require grad is not recorded, so its rule is never asked.
    seen.length = 0;
    calls = 0;
    const k = scaledMul([c, c], undefined);
    expect(k.gradFn).toBeNull();
    k.mul(x).sum().backward();
    expect(calls).toBe(0);
    expect(seen).toEqual([[false, false]]);

    // Inside noGrad nothing needs a gradient.
    seen.length = 0;
    noGrad(() => scaledMul([x, x], undefined));
    expect(seen).toEqual([[false, false]]);
  });

  it('defineOp custom ops work end to end and pass gradcheck', () => {
    // softplus(x) = log(1 + e^x), stable form; d/dx = sigmoid(x).
    const softplus = defineOp<number, NDArray>({
      name: 'softplus',
      forward: (c, [x], beta) => {
        c.saved = x;
        const o = unary('scale', x, beta);
        for (let i = 0; i < o.data.length; i++) {
          const v = o.data[i];
          o.data[i] = (Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)))) / beta;
        }
        return o;
      },
      backward: (c, g, _inputs, beta) => [binary('mul', g, unary('sigmoid', unary('scale', c.saved, beta)))],
    });
    const x = randn([3, 4], { ...f64, requiresGrad: true, generator: new Generator(4) });
    const y = softplus([x], 2);
    expect(y.gradFn!.spec.name).toBe('softplus');
    expect(y.data[0]).toBeCloseTo(Math.log1p(Math.exp(2 * x.data[0])) / 2, 12);
    const r = gradcheck((a) => softplus([a.mul(a)], 2).matmul(a, { transB: true }), [x], { eps: 1e-6, atol: 1e-5, rtol: 1e-3 });
    expect(r.ok, r.message).toBe(true);
    expect(() => softplus([x, tensor([1])], 1)).toThrow(/^softplus: dtype mismatch float64 vs float32/);
  });
});

describe('custom-op contract', () => {
  it('a rule returning a gradient of the wrong shape is reported, naming the op and both shapes', () => {
    const bad = defineOp({
      name: 'badShape',
      forward: (_c, [x]) => unary('scale', x, 1),
      backward: (_c, g) => [new NDArray(g.data.slice(0, 2), [2])],
    });
    const x = tensor([1, 2, 3], { ...f64, requiresGrad: true });
    expect(() => bad([x], undefined).sum().backward()).toThrow(/^backward: badShape returned a gradient of shape \[2\] for input 0 of shape \[3\]/);
  });

  it('rejects non-tensor inputs, naming the op', () => {
    const id = defineOp({ name: 'identity', forward: (_c, [x]) => x, backward: (_c, g) => [g] });
    expect(() => id([[1, 2] as never], undefined)).toThrow(/^identity: input 0 is not a Tensor/);
  });
});

describe('detectAnomaly', () => {
  afterEach(() => detectAnomaly(false));

  it('is off by default: NaN and Inf flow through silently', () => {
    const y = tensor([-1, 0]).log();
    expect(y.data[0]).toBeNaN();
    expect(y.data[1]).toBe(-Infinity);
    expect(tensor([1]).div(0).data[0]).toBe(Infinity);
  });

  it('throws naming the op whose forward output holds NaN or Inf', () => {
    detectAnomaly(true);
    const x = tensor([1, -1], { requiresGrad: true });
    expect(() => x.log()).toThrow(/^detectAnomaly: log produced NaN in its output \(shape \[2\], flat index 1\)/);
    expect(() => tensor([1, 2]).div(tensor([1, 0]))).toThrow(/^detectAnomaly: div produced Infinity in its output/);
    expect(() => tensor([0.5]).log()).not.toThrow();
  });

  it('throws naming the op whose backward gradient holds NaN or Inf', () => {
    const x = tensor([0, 4], { ...f64, requiresGrad: true });
    const y = x.sqrt().sum();
    detectAnomaly(true);
    expect(() => y.backward()).toThrow(/^detectAnomaly: sqrt produced Infinity in its gradient for input 0/);
  });
});
