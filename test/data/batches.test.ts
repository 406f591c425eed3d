import { describe, expect, it } from 'vitest';
import { batchIndices, gatherRows, numBatches, splitIndices } from '../../src/data/batches.js';
import { Generator } from '../../src/tensor/index.js';

describe('splitIndices', () => {
  it('partitions 0..n-1 with floor sizes, the rest going to test', () => {
    const s = splitIndices(103, { train: 0.7, validation: 0.2, test: 0.1 }, new Generator(1));
    expect([s.train.length, s.validation.length, s.test.length]).toEqual([72, 20, 11]);
    const all = [...s.train, ...s.validation, ...s.test].sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 103 }, (_, i) => i));
    expect([...s.train]).toEqual([...s.train].sort((a, b) => a - b));
  });

  it('is deterministic per seed', () => {
    const f = { train: 0.5, validation: 0.25, test: 0.25 };
    expect(splitIndices(50, f, new Generator(4))).toEqual(splitIndices(50, f, new Generator(4)));
    expect(splitIndices(50, f, new Generator(4)).train).not.toEqual(splitIndices(50, f, new Generator(5)).train);
  });

  it('rejects fractions that do not add up to 1 or lie outside [0, 1]', () => {
    expect(() => splitIndices(10, { train: 0.8, validation: 0.1, test: 0.2 }, new Generator(0))).toThrow(/add up to 1, got 0.8 \+ 0.1 \+ 0.2/);
    expect(() => splitIndices(10, { train: 1.5, validation: -0.5, test: 0 }, new Generator(0))).toThrow(/fraction train must be in \[0, 1\], got 1.5/);
  });
});

describe('batchIndices', () => {
  it('covers every row once, in order without shuffle, with a short last batch', () => {
    const batches = [...batchIndices(10, 4)].map((b) => [...b]);
    expect(batches).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
    expect(numBatches(10, 4)).toBe(3);
    expect([...batchIndices(10, 4, { dropLast: true })].length).toBe(numBatches(10, 4, true));
    expect([...batchIndices(10, 4, { dropLast: true })].length).toBe(2);
  });

  it('shuffles reproducibly from the generator, a new order each epoch', () => {
    const g1 = new Generator(9), g2 = new Generator(9);
    const epoch = (g: Generator): number[] => [...batchIndices(20, 6, { shuffle: true, generator: g })].flatMap((b) => [...b]);
    const a1 = epoch(g1), a2 = epoch(g1);
    expect(epoch(g2)).toEqual(a1);
    expect(a2).not.toEqual(a1);
    expect([...a1].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('handles batch size 1 and rejects a bad batch size', () => {
    expect([...batchIndices(3, 1)].map((b) => b[0])).toEqual([0, 1, 2]);
    expect(() => [...batchIndices(3, 0)]).toThrow(/batchIndices: batchSize must be a positive integer, got 0/);
  });
});

describe('gatherRows', () => {
  it('copies the chosen rows of a row-major array, keeping its type', () => {
    const src = Float32Array.from([0, 1, 10, 11, 20, 21]);
    const out = gatherRows(src, 2, [2, 0]);
    expect(out).toBeInstanceOf(Float32Array);
    expect([...out]).toEqual([20, 21, 0, 1]);
    expect([...gatherRows(Int32Array.from([5, 6, 7]), 1, Int32Array.from([1, 1]))]).toEqual([6, 6]);
    expect(() => gatherRows(src, 2, [3])).toThrow(/row index 3 out of range for 3 rows/);
    expect(() => gatherRows(src, 4, [0])).toThrow(/length 6 is not \[N, 4\]/);
  });
});
