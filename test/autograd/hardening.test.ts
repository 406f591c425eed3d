import { afterEach, describe, expect, it } from 'vitest';
import { inspect } from 'node:util';
import {
  arange, cast, castStorage, defineOp, detectAnomaly, nn, enableGrad, full, isAnomalyEnabled, isGradEnabled, noGrad, ones, rand, randn, setPrintOptions, tensor, zeros, zerosLike,
} from '../../src/index.js';
import { NDArray } from '../../src/tensor/index.js';

const f64 = { dtype: 'float64' as const };

describe('defineOp: backward results are checked', () => {
  const x = () => tensor([1, 2, 3], { ...f64, requiresGrad: true });

  it('rejects a backward that returns too few or too many gradients, naming the op', () => {
    const few = defineOp({ name: 'few', forward: (_c, [a, b]) => a, backward: (_c, g) => [g] });
    const y = tensor([1, 1, 1], f64);
    expect(() => few([x(), y], undefined).sum().backward()).toThrow(/^backward: few's backward returned 1 gradient\(s\) for 2 input\(s\)/);
    const many = defineOp({ name: 'many', forward: (_c, [a]) => a, backward: (_c, g) => [g, g] });
    expect(() => many([x()], undefined).sum().backward()).toThrow(/^backward: many's backward returned 2 gradient\(s\) for 1 input\(s\)/);
  });

  it('rejects a backward that returns no array, or a non-array entry', () => {
    const bare = defineOp({ name: 'bare', forward: (_c, [a]) => a, backward: (_c, g) => g as never });
    expect(() => bare([x()], undefined).sum().backward()).toThrow(/^backward: bare's backward must return an array of gradients.*NDArray/);
    const plain = defineOp({ name: 'plain', forward: (_c, [a]) => a, backward: () => [[1, 1, 1] as never] });
    expect(() => plain([x()], undefined).sum().backward()).toThrow(/^backward: plain's backward returned an Array for input 0; expected an NDArray, a RowSparse or null/);
  });

  it('rejects a gradient of another dtype than its input', () => {
    const wrong = defineOp({
      name: 'wrongDtype',
      forward: (_c, [a]) => a,
      backward: (_c, g) => [new NDArray(Float32Array.from(g.data), g.shape)],
    });
    expect(() => wrong([x()], undefined).sum().backward()).toThrow(/^backward: wrongDtype's backward returned a float32 gradient for input 0, which is float64/);
  });

  it('still accepts null for an input that needs no gradient', () => {
    const half = defineOp({ name: 'half', forward: (_c, [a]) => a, backward: (_c, g) => [g, null] });
    const a = x();
    half([a, tensor([0, 0, 0], f64)], undefined).sum().backward();
    expect(Array.from(a.grad!.data)).toEqual([1, 1, 1]);
  });
});

describe('creation: unknown dtypes are rejected', () => {
  it.each([
    ['tensor', () => tensor([1], { dtype: 'int32' as never })],
    ['tensor', () => tensor(new Float32Array(2), { dtype: 'float16' as never })],
    ['full', () => full([2], 1, { dtype: 'double' as never })],
    ['zeros', () => zeros([2], { dtype: 'f32' as never })],
    ['ones', () => ones([2], { dtype: 'bool' as never })],
    ['arange', () => arange(3, undefined, 1, { dtype: 'int64' as never })],
    ['randn', () => randn([2], { dtype: 'Float32' as never })],
    ['rand', () => rand([2], { dtype: 7 as never })],
  ])('%s names itself and the bad dtype', (fn, make) => {
    expect(make).toThrow(TypeError);
    expect(make).toThrow(new RegExp(`^${fn}: unknown dtype .*expected 'float32' or 'float64'`));
  });

  it('keeps working for the two dtypes, and zerosLike follows its input', () => {
    expect(tensor([1], f64).dtype).toBe('float64');
    expect(zeros([2]).dtype).toBe('float32');
    expect(zerosLike(tensor([1, 2], f64)).dtype).toBe('float64');
    expect(Object.is(full([1], -0).data[0], -0)).toBe(true);
  });
});

describe('casts: unknown dtypes are rejected, not read as float32', () => {
  it.each([
    ['Tensor.to', () => tensor([1, 2], f64).to('float16' as never)],
    ['Tensor.to', () => tensor([1, 2]).to('int32' as never)],
    ['cast', () => cast(tensor([1, 2], f64), 'bfloat16' as never)],
    ['castStorage', () => castStorage(tensor([1, 2], f64), 'half' as never)],
  ])('%s names itself and the bad dtype', (fn, make) => {
    expect(make).toThrow(TypeError);
    expect(make).toThrow(new RegExp(`^${fn}: unknown dtype .*expected 'float32' or 'float64'`));
  });

  it('Module.to refuses before casting anything, and still casts to the two dtypes', () => {
    const lin = new nn.Linear(3, 2);
    lin.to('float64');
    expect(() => lin.to('float16' as never)).toThrow(/^Module\.to: unknown dtype 'float16'; expected 'float32' or 'float64'/);
    for (const p of lin.parameters()) expect(p.dtype).toBe('float64');
    expect(lin.to('float32').parameters()[0].dtype).toBe('float32');
    const t = tensor([1, 2], f64);
    castStorage(t, 'float32');
    expect(t.dtype).toBe('float32');
    expect(t.to('float64').dtype).toBe('float64');
  });
});

describe('detectAnomaly: scoped and boolean forms', () => {
  afterEach(() => detectAnomaly(false));

  it('the scoped form turns the mode on for the call only and returns its result', () => {
    expect(isAnomalyEnabled()).toBe(false);
    const r = detectAnomaly(() => {
      expect(isAnomalyEnabled()).toBe(true);
      return 42;
    });
    expect(r).toBe(42);
    expect(isAnomalyEnabled()).toBe(false);
  });

  it('the scoped form restores the previous state when fn throws', () => {
    expect(() => detectAnomaly(() => tensor([-1]).log())).toThrow(/^detectAnomaly: log produced NaN/);
    expect(isAnomalyEnabled()).toBe(false);
    detectAnomaly(true);
    detectAnomaly(() => undefined);
    expect(isAnomalyEnabled()).toBe(true);
  });

  it('rejects anything that is not a boolean or a function', () => {
    expect(() => (detectAnomaly as (x?: unknown) => void)()).toThrow(/^detectAnomaly: expected a boolean .* got undefined/);
    expect(() => (detectAnomaly as (x: unknown) => void)('on')).toThrow(TypeError);
    expect(() => (detectAnomaly as (x: unknown) => void)(1)).toThrow(/got number/);
  });

  it('the scoped forms refuse an async fn, whose awaited part would run with the mode already restored', async () => {
    let seen: boolean | undefined;
    const fn = async (): Promise<void> => {
      await Promise.resolve();
      seen = isAnomalyEnabled();
    };
    expect(() => detectAnomaly(fn)).toThrow(TypeError);
    expect(() => detectAnomaly(fn)).toThrow(
      'detectAnomaly: fn returned a Promise, but detectAnomaly(fn) is synchronous: the mode is restored when fn returns, before anything it awaits runs; for async code call detectAnomaly(true) before it and detectAnomaly(false) after');
    expect(isAnomalyEnabled()).toBe(false);
    expect(() => noGrad(async () => 1)).toThrow(/^noGrad: fn returned a Promise, but noGrad\(fn\) is synchronous: .*wrap each synchronous step in noGrad instead$/);
    expect(isGradEnabled()).toBe(true);
    noGrad(() => {
      expect(() => enableGrad(() => Promise.resolve(1))).toThrow(/^enableGrad: fn returned a Promise/);
      expect(isGradEnabled()).toBe(false);
    });
    expect(isGradEnabled()).toBe(true);
    // A rejected Promise from fn is not left unhandled on top of the TypeError.
    expect(() => noGrad(() => Promise.reject(new Error('boom')))).toThrow(/^noGrad: fn returned a Promise/);
    await new Promise((r) => setTimeout(r, 0));
    expect(seen).toBe(false);
  });
});

describe('printing tensors like PyTorch', () => {
  afterEach(() => setPrintOptions('default'));

  it('prints values with one format and aligned columns', () => {
    expect(String(tensor([[1.5, -2], [3.25, 4]]))).toBe('tensor([[ 1.5000, -2.0000],\n        [ 3.2500,  4.0000]])');
    expect(String(tensor([1, 2, 30]))).toBe('tensor([ 1.,  2., 30.])');
    expect(String(tensor(3.14159))).toBe('tensor(3.1416)');
    expect(String(tensor([1e-5, 1]))).toBe('tensor([1.0000e-05, 1.0000e+00])');
    expect(String(tensor([NaN, Infinity, -1.5]))).toBe('tensor([    nan,     inf, -1.5000])');
  });

  it('names a non-default dtype, requiresGrad and the op that made a tensor', () => {
    const x = tensor([1, 2], { ...f64, requiresGrad: true });
    expect(String(x)).toBe('tensor([1., 2.], dtype=float64, requiresGrad=true)');
    expect(String(x.mul(2))).toBe('tensor([2., 4.], dtype=float64, gradFn=<mul>)');
  });

  it('shows an empty tensor with its size', () => {
    expect(String(zeros([0]))).toBe('tensor([])');
    expect(String(zeros([0, 3]))).toBe('tensor([], size=[0,3])');
  });

  it('summarises large tensors past the threshold, every axis', () => {
    const big = arange(2000);
    expect(String(big)).toBe('tensor([   0.,    1.,    2.,  ..., 1997., 1998., 1999.])');
    const m = arange(40 * 40).reshape(40, 40);
    const lines = String(m).split('\n');
    expect(lines).toHaveLength(7);
    expect(lines[0]).toBe('tensor([[   0.,    1.,    2.,  ...,   37.,   38.,   39.],');
    expect(lines[3]).toBe('        ...,');
    expect(lines[6]).toBe('        [1560., 1561., 1562.,  ..., 1597., 1598., 1599.]])');
  });

  it('wraps long rows at the line width and separates 3-D blocks with a blank line', () => {
    const row = String(arange(30).mul(1.5));
    for (const line of row.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
    expect(row.split('\n').length).toBeGreaterThan(1);
    expect(String(arange(8).reshape(2, 2, 2))).toBe('tensor([[[0., 1.],\n         [2., 3.]],\n\n        [[4., 5.],\n         [6., 7.]]])');
  });

  it('is what console.log shows in Node (util.inspect)', () => {
    const t = tensor([0.5, 1]);
    expect(inspect(t)).toBe(String(t));
    expect(inspect({ t })).toContain('tensor([0.5000, 1.0000])');
  });

  it('setPrintOptions changes precision and threshold, and rejects unknown keys', () => {
    setPrintOptions({ precision: 2 });
    expect(String(tensor([1.234]))).toBe('tensor([1.23])');
    expect(() => setPrintOptions({ precison: 2 } as never)).toThrow(new TypeError(
      "setPrintOptions: unknown option 'precison' (did you mean 'precision'?); allowed: precision, threshold, edgeItems, lineWidth"));
    expect(() => setPrintOptions(null as never)).toThrow(new TypeError('setPrintOptions: options must be an object, got null'));
    expect(() => setPrintOptions({ threshold: -1 })).toThrow(/^setPrintOptions: threshold must be an integer/);
  });
});
