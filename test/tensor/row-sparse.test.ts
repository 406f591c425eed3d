import { describe, expect, it } from 'vitest';
import { NDArray, RowSparse, addRowSparse, findRow, rowSparseFromLookup, scatterAddArray } from '../../src/tensor/index.js';

function lookupGrad(n: number, dim: number, seed: number): Float64Array {
  const g = new Float64Array(n * dim);
  for (let i = 0; i < g.length; i++) g[i] = Math.sin(seed + i * 1.7);
  return g;
}

describe('rowSparseFromLookup', () => {
  // Shapes 0, 1, primes; repeated ids; a skipped (padding) row.
  const cases: Array<[string, number[], number, number, number]> = [
    ['no ids', [], 5, 3, -1],
    ['one id', [4], 5, 1, -1],
    ['repeats, prime width', [3, 1, 3, 3, 0, 6, 1], 7, 7, -1],
    ['padding skipped', [2, 0, 2, 5, 0], 11, 5, 0],
    ['only padding', [1, 1], 3, 2, 1],
  ];
  for (const [label, ids, numRows, dim, skip] of cases) {
    it(`${label}: densifies to the dense scatter-add, rows distinct and ascending`, () => {
      const g = lookupGrad(ids.length, dim, ids.length);
      const s = rowSparseFromLookup(g, Int32Array.from(ids), numRows, dim, skip);
      const dense = scatterAddArray(new NDArray(g, [ids.length, dim]), 0, ids, numRows);
      if (skip >= 0) dense.data.fill(0, skip * dim, (skip + 1) * dim);
      expect(Array.from(s.toDense().data)).toEqual(Array.from(dense.data));
      expect(s.toDense().shape).toEqual([numRows, dim]);
      const want = [...new Set(ids.filter((i) => i !== skip))].sort((a, b) => a - b);
      expect(Array.from(s.rows)).toEqual(want);
      for (const r of want) expect(findRow(s.rows, r)).toBe(want.indexOf(r));
      expect(findRow(s.rows, numRows + 3)).toBe(-1);
    });
  }

  it('keeps the gradient dtype (float32 in, float32 values out)', () => {
    const s = rowSparseFromLookup(new Float32Array([1, 2]), new Int32Array([1, 1]), 3, 1);
    expect(s.dtype).toBe('float32');
    expect(Array.from(s.values)).toEqual([3]);
  });
});

describe('addRowSparse', () => {
  it('merges overlapping, disjoint and empty row sets into their dense sum', () => {
    const a = rowSparseFromLookup(lookupGrad(4, 3, 1), new Int32Array([5, 0, 2, 5]), 8, 3);
    const b = rowSparseFromLookup(lookupGrad(3, 3, 2), new Int32Array([7, 2, 1]), 8, 3);
    const empty = rowSparseFromLookup(new Float64Array(0), new Int32Array(0), 8, 3);
    const sum = addRowSparse(a, b);
    const want = a.toDense().data.map((v, i) => v + b.toDense().data[i]);
    expect(Array.from(sum.toDense().data)).toEqual(Array.from(want));
    expect(Array.from(sum.rows)).toEqual([0, 1, 2, 5, 7]);
    expect(Array.from(addRowSparse(empty, a).toDense().data)).toEqual(Array.from(a.toDense().data));
    expect(Array.from(addRowSparse(a, empty).rows)).toEqual(Array.from(a.rows));
    expect(() => addRowSparse(a, rowSparseFromLookup(new Float64Array(2), new Int32Array([1]), 8, 2)))
      .toThrow('addRowSparse: [8,3] float64 vs [8,2] float64');
  });

  it('RowSparse refuses values that do not match its rows', () => {
    expect(() => new RowSparse(new Int32Array([1, 2]), new Float32Array(3), 4, 2)).toThrow('RowSparse: 2 rows of width 2 need 4 values, got 3');
  });
});
