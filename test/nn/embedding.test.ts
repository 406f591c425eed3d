import { describe, expect, it } from 'vitest';
import { randn, tensor } from '../../src/autograd/index.js';
import { Generator } from '../../src/tensor/index.js';
import { Embedding, EmbeddingBag, type BagMode } from '../../src/nn/embedding.js';
import { expectGradcheck } from './helpers.js';

const row = (e: { weight: { data: ArrayLike<number> } }, i: number, dim: number): number[] =>
  Array.from(e.weight.data).slice(i * dim, (i + 1) * dim);

describe('Embedding', () => {
  it('looks up rows, flat or with a shape', () => {
    const e = new Embedding(5, 3, { generator: new Generator(1), initStd: 0.5 });
    expect(Object.keys(e.stateDict())).toEqual(['weight']);
    const y = e.forward([4, 1, 4]);
    expect(y.shape).toEqual([3, 3]);
    expect(Array.from(y.data).slice(3, 6)).toEqual(row(e, 1, 3));
    expect(e.forward(new Int32Array([0, 1, 2, 3]), [2, 2]).shape).toEqual([2, 2, 3]);
    expect(e.forward(tensor([[0, 1, 2]])).shape).toEqual([1, 3, 3]);
    expect(() => e.forward([5])).toThrow('Embedding: index 5 at position 0 is out of range for an axis of size 5');
    expect(() => e.forward([1, 2, 3], [2, 2])).toThrow('Embedding: shape [2,2] needs 4 ids, got 3');
  });

  it('accumulates gradients of repeated ids; the padding row starts at zero and gets no gradient', () => {
    const e = new Embedding(4, 2, { paddingIdx: 0, generator: new Generator(2) });
    expect(row(e, 0, 2)).toEqual([0, 0]);
    const y = e.forward([1, 0, 1, 3, 1]);
    const upstream = tensor([[1, 2], [3, 4], [5, 6], [7, 8], [9, 10]]);
    y.backward(upstream);
    expect(e.weight.grad!.toArray()).toEqual([[0, 0], [15, 18], [0, 0], [7, 8]]);
    expect(new Embedding(4, 2, { paddingIdx: -1 }).paddingIdx).toBe(3);
    expect(() => new Embedding(4, 2, { paddingIdx: 4 })).toThrow('Embedding: paddingIdx 4 is out of range for 4 embeddings');
  });

  it('gradcheck (float64) with repeated ids; with padding, the other rows get the same gradients', () => {
    const ids = [1, 2, 1, 4, 2, 0, 1, 1];
    const v = randn([2, 4, 3], { dtype: 'float64', generator: new Generator(4) });
    const plain = new Embedding(5, 3, { generator: new Generator(3) }).to('float64');
    expectGradcheck(() => plain.forward(ids, [2, 4]).mul(v), [plain.weight]);
    // The padding row is frozen by design (its finite difference is not 0), so it is compared
    // against the checked module rather than gradchecked itself.
    const padded = new Embedding(5, 3, { paddingIdx: 2 }).to('float64');
    padded.weight.data.set(plain.weight.data);
    plain.forward(ids, [2, 4]).mul(v).sum().backward();
    padded.forward(ids, [2, 4]).mul(v).sum().backward();
    const want = Array.from(plain.weight.grad!.data);
    want.fill(0, 6, 9);
    expect(Array.from(padded.weight.grad!.data)).toEqual(want);
    expect(want.slice(3, 6).some((x) => x !== 0)).toBe(true);
  });
});

describe('EmbeddingBag', () => {
  const ids = [1, 3, 1, 0, 2, 4, 4];
  const offsets = [0, 3, 3, 4];
  // Bags: {1, 3, 1}, {}, {0}, {2, 4, 4}.

  function manual(e: EmbeddingBag, mode: BagMode, skip = -1): number[][] {
    const bounds = [...offsets, ids.length];
    return offsets.map((_, b) => {
      const rows = ids.slice(bounds[b], bounds[b + 1]).filter((i) => i !== skip).map((i) => row(e, i, 2));
      if (rows.length === 0) return [0, 0];
      return [0, 1].map((j) => {
        const col = rows.map((r) => r[j]);
        if (mode === 'max') return Math.max(...col);
        const s = col.reduce((a, c) => a + c, 0);
        return mode === 'sum' ? s : s / col.length;
      });
    });
  }

  for (const mode of ['sum', 'mean', 'max'] as const) {
    it(`${mode}: matches a direct computation (empty bags give zeros) and passes gradcheck`, () => {
      const e = new EmbeddingBag(5, 2, { mode, generator: new Generator(5) }).to('float64');
      const y = e.forward(ids, offsets);
      expect(y.shape).toEqual([4, 2]);
      const want = manual(e, mode);
      (y.toArray() as number[][]).forEach((r, b) => r.forEach((v, j) => expect(v).toBeCloseTo(want[b][j], 12)));
      const v = randn([4, 2], { dtype: 'float64', generator: new Generator(6) });
      expectGradcheck(() => e.forward(ids, offsets).mul(v), [e.weight], mode);
      const ep = new EmbeddingBag(5, 2, { mode, paddingIdx: 4, generator: new Generator(7) }).to('float64');
      const wantP = manual(ep, mode, 4);
      (ep.forward(ids, offsets).toArray() as number[][]).forEach((r, b) => r.forEach((x, j) => expect(x).toBeCloseTo(wantP[b][j], 12)));
      expectGradcheck(() => ep.forward(ids, offsets).mul(v), [ep.weight], `${mode} with padding`);
    });
  }

  it('mean gives each id of a bag 1/n of the bag gradient', () => {
    const e = new EmbeddingBag(3, 1, { mode: 'mean' });
    e.forward([0, 0, 2, 1], [0, 3]).backward(tensor([[3], [5]]));
    expect(Array.from(e.weight.grad!.data)).toEqual([2, 5, 1]);
  });

  it('forwardPadded equals the offsets form', () => {
    const e = new EmbeddingBag(5, 2, { mode: 'sum', paddingIdx: 0, generator: new Generator(8) });
    const padded = [1, 3, 1, 0, 0, 0, 2, 4, 4];
    const a = e.forwardPadded(padded, [3, 3]);
    const b = e.forward([1, 3, 1, 2, 4, 4], [0, 3, 3]);
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    const c = e.forwardPadded(padded, [3, 3], [2, 0, 1]);
    expect(Array.from(c.data)).toEqual(Array.from(e.forward([1, 3, 2], [0, 2, 2]).data));
    // Entries past a row's length are never read, so they need not be valid ids.
    expect(Array.from(e.forwardPadded([1, -1, 2, 99], [2, 2], [1, 1]).data)).toEqual(Array.from(e.forward([1, 2], [0, 1]).data));
    expect(() => e.forwardPadded(padded, [3, 3], [4, 0, 0])).toThrow('EmbeddingBag: length 4 of row 0 is outside [0, 3]');
  });

  it('rejects bad offsets and modes', () => {
    const e = new EmbeddingBag(5, 2);
    expect(() => e.forward([1, 2], [1])).toThrow('EmbeddingBag: offsets must start at 0 and be non-decreasing up to 2, got 1 at position 0');
    expect(() => e.forward([1, 2], [0, 2, 1])).toThrow('EmbeddingBag: offsets must start at 0 and be non-decreasing up to 2, got 1 at position 2');
    expect(() => new EmbeddingBag(5, 2, { mode: 'min' as BagMode })).toThrow("EmbeddingBag: mode must be 'sum', 'mean' or 'max', got 'min'");
  });
});
