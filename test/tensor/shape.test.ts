import { describe, expect, it } from 'vitest';
import {
  NDArray, broadcastShapes, broadcastStrides, formatShape, normalizeAxes, normalizeAxis, reshapeArray,
  resolveShape, sizeOf, stridesOf, castArray, sumToShape,
} from '../../src/tensor/index.js';

describe('shape helpers', () => {
  it('sizeOf and row-major strides', () => {
    expect(sizeOf([])).toBe(1);
    expect(sizeOf([2, 3, 4])).toBe(24);
    expect(sizeOf([2, 0, 4])).toBe(0);
    expect(stridesOf([2, 3, 4])).toEqual([12, 4, 1]);
    expect(stridesOf([5])).toEqual([1]);
    expect(stridesOf([])).toEqual([]);
    expect(formatShape([2, 3])).toBe('[2,3]');
  });

  it('broadcasts like NumPy', () => {
    expect(broadcastShapes('add', [4, 1], [1, 5])).toEqual([4, 5]);
    expect(broadcastShapes('add', [5], [3, 5])).toEqual([3, 5]);
    expect(broadcastShapes('add', [], [2, 3])).toEqual([2, 3]);
    expect(broadcastShapes('add', [2, 1, 3], [4, 1])).toEqual([2, 4, 3]);
    expect(broadcastShapes('add', [0, 1], [1, 3])).toEqual([0, 3]);
    expect(() => broadcastShapes('mul', [2, 3], [3, 2])).toThrow(/^mul: shapes \[2,3\] and \[3,2\] cannot be broadcast/);
  });

  it('broadcast strides are 0 on broadcast axes', () => {
    expect(broadcastStrides([3, 1], [2, 3, 4])).toEqual([0, 1, 0]);
    expect(broadcastStrides([4], [2, 4])).toEqual([0, 1]);
  });

  it('normalizes negative axes and rejects bad ones', () => {
    expect(normalizeAxis('sum', -1, 3)).toBe(2);
    expect(normalizeAxis('sum', -3, 3)).toBe(0);
    expect(() => normalizeAxis('sum', 3, 3)).toThrow(RangeError);
    expect(() => normalizeAxis('sum', 3, 3)).toThrow(/^sum: axis 3 is out of range for a tensor of rank 3/);
    expect(() => normalizeAxis('sum', -4, 3)).toThrow(/axis -4/);
    expect(() => normalizeAxis('sum', 0.5, 3)).toThrow(RangeError);
    expect(normalizeAxes('sum', [-1, 0], 3)).toEqual([0, 2]);
    expect(normalizeAxes('sum', undefined, 2)).toEqual([0, 1]);
    expect(() => normalizeAxes('sum', [1, -1], 2)).toThrow(/repeated axis/);
  });

  it('resolves -1 and checks sizes', () => {
    expect(resolveShape('reshape', [-1, 4], 12, [3, 4])).toEqual([3, 4]);
    expect(resolveShape('reshape', [2, -1, 3], 12, [12])).toEqual([2, 2, 3]);
    expect(() => resolveShape('reshape', [-1, -1], 12, [12])).toThrow(/only one dimension can be -1/);
    expect(() => resolveShape('reshape', [5, -1], 12, [12])).toThrow(/^reshape: cannot reshape \[12\]/);
    expect(() => resolveShape('reshape', [5, 2], 12, [3, 4])).toThrow(/^reshape: cannot reshape \[3,4\] \(12 elements\) to \[5,2\] \(10 elements\)/);
  });

  it('reshape is zero-copy: the view shares storage', () => {
    const a = new NDArray(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
    const b = reshapeArray('reshape', a, [3, -1]);
    expect(b.shape).toEqual([3, 2]);
    expect(b.data).toBe(a.data);
    b.data[5] = 42;
    expect(a.data[5]).toBe(42);
  });

  it('NDArray checks storage length and reports dtype', () => {
    expect(() => new NDArray(new Float32Array(5), [2, 3])).toThrow(/^NDArray: shape \[2,3\] needs 6 elements, storage holds 5/);
    expect(() => new NDArray(new Float32Array(0), [-1])).toThrow(RangeError);
    expect(new NDArray(new Float64Array(2), [2]).dtype).toBe('float64');
    expect(new NDArray(new Float32Array(2), [2]).dtype).toBe('float32');
    const c = castArray(new NDArray(new Float32Array([1.5, 2]), [2]), 'float64');
    expect(c.data).toBeInstanceOf(Float64Array);
    expect(Array.from(c.data)).toEqual([1.5, 2]);
  });

  it('sumToShape undoes broadcasting', () => {
    const g = new NDArray(Float64Array.from({ length: 6 }, (_, i) => i + 1), [2, 3]);
    expect(Array.from(sumToShape(g, [3]).data)).toEqual([5, 7, 9]);
    expect(sumToShape(g, [2, 1]).shape).toEqual([2, 1]);
    expect(Array.from(sumToShape(g, [2, 1]).data)).toEqual([6, 15]);
    expect(Array.from(sumToShape(g, []).data)).toEqual([21]);
    expect(Array.from(sumToShape(g, [1, 1]).data)).toEqual([21]);
    expect(() => sumToShape(g, [2])).toThrow(/sumToShape/);
  });
});
