import { describe, expect, it } from 'vitest';
import {
  arange, eye, full, ones, rand, randn, tensor, zeros, zerosLike, onesLike, manualSeed, Generator, Tensor,
} from '../../src/index.js';

describe('factories', () => {
  it('tensor() from nested arrays, numbers and typed arrays', () => {
    const t = tensor([[1, 2, 3], [4, 5, 6]]);
    expect(t.shape).toEqual([2, 3]);
    expect(t.dtype).toBe('float32');
    expect(t.requiresGrad).toBe(false);
    expect(t.toArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
    const s = tensor(2.5, { dtype: 'float64' });
    expect(s.shape).toEqual([]);
    expect(s.item()).toBe(2.5);
    expect(s.toArray()).toBe(2.5);
    // A matching typed array is used without copying.
    const buf = new Float64Array([1, 2, 3, 4]);
    const v = tensor(buf, { shape: [2, 2] });
    expect(v.dtype).toBe('float64');
    expect(v.data).toBe(buf);
    const c = tensor(buf, { dtype: 'float32' });
    expect(c.data).toBeInstanceOf(Float32Array);
    expect(c.shape).toEqual([4]);
    expect(tensor(Int32Array.from([1, 2])).toArray()).toEqual([1, 2]);
    expect(tensor([[]]).shape).toEqual([1, 0]);
    expect(tensor([1], { requiresGrad: true }).requiresGrad).toBe(true);
  });

  it('zeros, ones, full, eye, arange', () => {
    expect(zeros([2, 2]).toArray()).toEqual([[0, 0], [0, 0]]);
    expect(ones(3, { dtype: 'float64' }).toArray()).toEqual([1, 1, 1]);
    expect(ones(3, { dtype: 'float64' }).dtype).toBe('float64');
    expect(full([2], 7).toArray()).toEqual([7, 7]);
    expect(zerosLike(ones([2], { dtype: 'float64' })).dtype).toBe('float64');
    expect(onesLike(zeros([1, 2])).toArray()).toEqual([[1, 1]]);
    expect(eye(2).toArray()).toEqual([[1, 0], [0, 1]]);
    expect(eye(2, 3).toArray()).toEqual([[1, 0, 0], [0, 1, 0]]);
    expect(arange(4).toArray()).toEqual([0, 1, 2, 3]);
    expect(arange(1, 2, 0.25).toArray()).toEqual([1, 1.25, 1.5, 1.75]);
    expect(arange(3, 0, -1).toArray()).toEqual([3, 2, 1]);
    expect(arange(3, 3).size).toBe(0);
  });

  it('randn and rand are reproducible from a seed or a generator', () => {
    manualSeed(10);
    const a = randn([3, 3]);
    manualSeed(10);
    const b = randn([3, 3]);
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    const g1 = new Generator(4), g2 = new Generator(4);
    expect(Array.from(rand([5], { generator: g1 }).data)).toEqual(Array.from(rand([5], { generator: g2 }).data));
    const u = rand([1000], { dtype: 'float64', generator: new Generator(1) });
    expect(u.data.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(randn(2, { requiresGrad: true }).requiresGrad).toBe(true);
  });

  it('reshape and view are zero-copy; clone and detach behave like PyTorch', () => {
    const x = arange(6, undefined, 1, { requiresGrad: true });
    const r = x.reshape(2, 3);
    expect(r.data).toBe(x.data);
    expect(x.view([3, -1]).shape).toEqual([3, 2]);
    expect(x.reshape([2, 3]).flatten().shape).toEqual([6]);
    const c = x.clone();
    expect(c.data).not.toBe(x.data);
    expect(c.requiresGrad).toBe(true);
    expect(c.gradFn).not.toBeNull();
    const d = x.detach();
    expect(d.data).toBe(x.data);
    expect(d.requiresGrad).toBe(false);
    expect(x.to('float64').dtype).toBe('float64');
    expect(x.to('float32')).toBe(x);
    expect(x).toBeInstanceOf(Tensor);
    expect(String(x)).toBe('tensor([0., 1., 2., 3., 4., 5.], requiresGrad=true)');
  });
});
