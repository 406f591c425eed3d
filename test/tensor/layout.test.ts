import { describe, expect, it } from 'vitest';
import {
  NDArray, Generator, concatArrays, sliceArray, padSliceArray, permuteArray, indexSelectArray, scatterAddArray,
  checkIndices, softmaxArray, logSoftmaxArray,
} from '../../src/tensor/index.js';

const arange = (shape: number[]): NDArray => {
  const n = shape.reduce((a, b) => a * b, 1);
  return new NDArray(Float64Array.from({ length: n }, (_, i) => i), shape);
};

describe('softmax and logSoftmax', () => {
  it('match the textbook formula on moderate logits along any axis', () => {
    const g = new Generator(3);
    const x = new NDArray(g.fillNormal(new Float64Array(24)), [2, 3, 4]);
    for (const axis of [0, 1, 2]) {
      const y = softmaxArray(x, axis, false);
      const ly = logSoftmaxArray(x, axis);
      const strides = [12, 4, 1];
      for (let f = 0; f < 24; f++) {
        const idx = [Math.floor(f / 12), Math.floor(f / 4) % 3, f % 4];
        let s = 0;
        for (let k = 0; k < x.shape[axis]; k++) s += Math.exp(x.data[f + (k - idx[axis]) * strides[axis]]);
        expect(y.data[f]).toBeCloseTo(Math.exp(x.data[f]) / s, 14);
        expect(ly.data[f]).toBeCloseTo(x.data[f] - Math.log(s), 13);
      }
    }
  });

  it('stay finite for logits of ±1000 (max-subtracted)', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const vals = [1000, 999, -1000, 1000];
      const x = new NDArray(dtype === 'float32' ? Float32Array.from(vals) : Float64Array.from(vals), [1, 4]);
      const y = softmaxArray(x, 1, false);
      const ly = logSoftmaxArray(x, 1);
      expect(Array.from(y.data).every(Number.isFinite)).toBe(true);
      expect(Array.from(ly.data).every(Number.isFinite)).toBe(true);
      const e1 = Math.exp(-1);
      const z = 2 + e1;
      expect(y.data[0]).toBeCloseTo(1 / z, 6);
      expect(y.data[1]).toBeCloseTo(e1 / z, 6);
      expect(y.data[2]).toBe(0);
      expect(ly.data[0]).toBeCloseTo(-Math.log(z), 5);
      expect(ly.data[2]).toBeCloseTo(-2000 - Math.log(z), 2);
      const neg = new NDArray(dtype === 'float32' ? Float32Array.from([-1000, -1000]) : Float64Array.from([-1000, -1000]), [2]);
      expect(Array.from(softmaxArray(neg, 0, false).data)).toEqual([0.5, 0.5]);
    }
  });
});

describe('indexSelect and scatterAdd', () => {
  it('select rows along any axis, with repeats', () => {
    const x = arange([3, 4]);
    expect(Array.from(indexSelectArray(x, 0, [2, 0, 2]).data)).toEqual([8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11]);
    const cols = indexSelectArray(x, 1, Int32Array.from([3, 3, 1]));
    expect(cols.shape).toEqual([3, 3]);
    expect(Array.from(cols.data)).toEqual([3, 3, 1, 7, 7, 5, 11, 11, 9]);
    const mid = indexSelectArray(arange([2, 3, 2]), 1, [1]);
    expect(mid.shape).toEqual([2, 1, 2]);
    expect(Array.from(mid.data)).toEqual([2, 3, 8, 9]);
  });

  it('scatterAdd accumulates repeated indices', () => {
    const g = new NDArray(Float64Array.from([1, 2, 3, 4, 5, 6]), [3, 2]);
    const out = scatterAddArray(g, 0, [1, 1, 0], 4);
    expect(out.shape).toEqual([4, 2]);
    expect(Array.from(out.data)).toEqual([5, 6, 1 + 3, 2 + 4, 0, 0, 0, 0]);
    const along1 = scatterAddArray(new NDArray(Float64Array.from([1, 2, 3, 4, 5, 6]), [2, 3]), 1, [0, 0, 0], 2);
    expect(Array.from(along1.data)).toEqual([6, 0, 15, 0]);
  });

  it('out-of-range indices are a RangeError naming the index and the size', () => {
    expect(() => checkIndices('indexSelect', [0, 5], 3)).toThrow(RangeError);
    expect(() => checkIndices('indexSelect', [0, 5], 3)).toThrow(/^indexSelect: index 5 at position 1 is out of range for an axis of size 3/);
    expect(() => checkIndices('indexSelect', Int32Array.from([-1]), 3)).toThrow(/index -1/);
    expect(() => checkIndices('indexSelect', [1.5], 3)).toThrow(RangeError);
  });
});

describe('concat, slice, permute', () => {
  it('concat along each axis', () => {
    const a = arange([2, 2]);
    const b = new NDArray(Float64Array.from([10, 11, 12, 13, 14, 15]), [2, 3]);
    const c1 = concatArrays([a, b], 1);
    expect(c1.shape).toEqual([2, 5]);
    expect(Array.from(c1.data)).toEqual([0, 1, 10, 11, 12, 2, 3, 13, 14, 15]);
    const c0 = concatArrays([a, arange([1, 2])], -2);
    expect(Array.from(c0.data)).toEqual([0, 1, 2, 3, 0, 1]);
    expect(() => concatArrays([a, arange([3, 3])], 1)).toThrow(/^concat: shapes \[2,2\] and \[3,3\] differ outside axis 1/);
  });

  it('slice and its adjoint padSlice', () => {
    const x = arange([3, 4]);
    const s = sliceArray(x, 1, 1, 2);
    expect(s.shape).toEqual([3, 2]);
    expect(Array.from(s.data)).toEqual([1, 2, 5, 6, 9, 10]);
    const p = padSliceArray(s, [3, 4], 1, 1);
    expect(Array.from(p.data)).toEqual([0, 1, 2, 0, 0, 5, 6, 0, 0, 9, 10, 0]);
    expect(Array.from(sliceArray(x, 0, 2, 1).data)).toEqual([8, 9, 10, 11]);
  });

  it('permute matches index arithmetic for every permutation of 3 axes', () => {
    const shape = [2, 3, 4];
    const x = arange(shape);
    const perms = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];
    for (const p of perms) {
      const y = permuteArray(x, p);
      expect(y.shape).toEqual(p.map((a) => shape[a]));
      for (let f = 0; f < 24; f++) {
        const o = [Math.floor(f / (y.shape[1] * y.shape[2])), Math.floor(f / y.shape[2]) % y.shape[1], f % y.shape[2]];
        const idx = [0, 0, 0];
        p.forEach((a, i) => (idx[a] = o[i]));
        expect(y.data[f]).toBe(idx[0] * 12 + idx[1] * 4 + idx[2]);
      }
    }
    expect(() => permuteArray(x, [0, 0, 1])).toThrow(/^permute: \[0,0,1\] is not a permutation/);
    expect(() => permuteArray(x, [0, 1])).toThrow(/^permute: permutation \[0,1\] does not match rank 3/);
  });
});
