import { describe, expect, it } from 'vitest';
import {
  Generator, NDArray, allocate, closeStorageScope, openStorageScope, getBackend, setBackend, binary, concatArrays, copyBlocks, copyRange, gatherRows, indexSelectArray, padSliceArray, permuteArray, reluBackward,
  sliceArray, softmaxArray, softmaxBackward, unary, type BinaryOp, type Storage,
} from '../../src/tensor/index.js';

/*
 * The contiguous fast paths of the kernels against slow references: each element computed on its
 * own from the broadcast definition, or the same kernel's general (strided) path reached through a
 * transposed layout. One rounding per element in both, so results must agree bit for bit.
 */

const gen = new Generator(11);

function rand(shape: number[], dtype: 'float32' | 'float64'): NDArray {
  const n = shape.reduce((a, b) => a * b, 1);
  const d: Storage = dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
  gen.fillNormal(d);
  return new NDArray(d, shape);
}

/** a (op) b computed one output element at a time from NumPy's broadcasting rule. */
function slowBinary(op: BinaryOp, a: NDArray, b: NDArray): NDArray {
  const nd = Math.max(a.ndim, b.ndim);
  const pad = (s: readonly number[]): number[] => [...new Array<number>(nd - s.length).fill(1), ...s];
  const sa = pad(a.shape), sb = pad(b.shape);
  const out = sa.map((d, i) => (d === 1 ? sb[i] : d));
  const n = out.reduce((x, y) => x * y, 1);
  const o: Storage = a.dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
  const flat = (s: number[], idx: number[]): number => idx.reduce((f, v, i) => f * s[i] + (s[i] === 1 ? 0 : v), 0);
  const f: Record<string, (x: number, y: number) => number> = {
    add: (x, y) => x + y, sub: (x, y) => x - y, mul: (x, y) => x * y, div: (x, y) => x / y,
    maximum: (x, y) => (x >= y || x !== x ? x : y),
  };
  const idx = new Array<number>(nd).fill(0);
  for (let k = 0; k < n; k++) {
    o[k] = f[op](a.data[flat(sa, idx)], b.data[flat(sb, idx)]);
    for (let ax = nd - 1; ax >= 0; ax--) {
      if (++idx[ax] < out[ax]) break;
      idx[ax] = 0;
    }
  }
  return new NDArray(o, out);
}

describe('binary: row and column broadcast fast paths', () => {
  const pairs: Array<[number[], number[]]> = [
    [[5, 7], [7]], [[7], [5, 7]], [[5, 7], [5, 1]], [[5, 1], [5, 7]], [[5, 7], [1, 7]],
    [[3, 5, 7], [5, 7]], [[3, 5, 7], [7]], [[3, 5, 7], [1, 1, 7]], [[3, 5, 7], [3, 5, 1]], [[3, 5, 7], [5, 1]],
    [[2, 3, 17], [1, 3, 17]], [[128, 16], [16]], [[128, 16], [128, 1]],
    // Remainders, 0 and 1 sizes, and broadcasts that must take the general path.
    [[0, 7], [7]], [[5, 0], [5, 1]], [[1, 1], [1]], [[1, 7], [7]], [[5, 1], [1]], [[4, 1], [1, 4]],
    [[3, 1, 7], [1, 5, 1]], [[3, 5, 7], [3, 1, 7]], [[1, 5, 1], [3, 1, 4]], [[6], [2, 1, 6]],
    // Planes of the last two axes (a stacked bias add, and 4-D ones).
    [[32, 128, 8], [32, 1, 8]], [[4, 3, 5, 7], [4, 1, 1, 7]], [[2, 1, 5, 1], [1, 3, 1, 6]], [[3, 0, 7], [3, 1, 7]],
  ];
  /** A copy of x in arena storage (inside a storage scope), so the glue kernels run on it. */
  const inArena = (x: NDArray): NDArray => {
    const d = allocate(x.dtype, x.size);
    d.set(x.data);
    return new NDArray(d, x.shape);
  };
  for (const dtype of ['float32', 'float64'] as const) {
    for (const op of ['add', 'sub', 'mul', 'div', 'maximum'] as const) {
      it(`${op} ${dtype}: every shape pair equals the per-element reference bit for bit, on the JS heap and in the arena`, () => {
        for (const arena of [false, true]) {
          if (arena) openStorageScope();
          for (const [sa, sb] of pairs) {
            let a = rand(sa, dtype), b = rand(sb, dtype);
            if (arena) { a = inArena(a); b = inArena(b); }
            const fast = binary(op, a, b), slow = slowBinary(op, a, b);
            const what = `${JSON.stringify(sa)} ${op} ${JSON.stringify(sb)}${arena ? ' (arena)' : ''}`;
            expect(fast.shape, what).toEqual(slow.shape);
            expect(Array.from(fast.data), what).toEqual(Array.from(slow.data));
          }
          if (arena) closeStorageScope([]);
        }
      });
    }
  }

  it('NaN propagates through the row path as through the general one', () => {
    const a = new NDArray(new Float32Array([1, NaN, 3, 4]), [2, 2]);
    const b = new NDArray(new Float32Array([NaN, 2]), [2]);
    expect(Array.from(binary('maximum', a, b).data)).toEqual(Array.from(slowBinary('maximum', a, b).data));
    expect(Array.from(binary('add', b, a).data)).toEqual(Array.from(slowBinary('add', b, a).data));
  });
});

describe('reluBackward', () => {
  it('equals step(x)·g, the two-pass rule it replaces, bit for bit (NaN, ±Inf, ±0, every size)', () => {
    const special = [NaN, Infinity, -Infinity, 0, -0, 1e-30, -1e-30];
    for (const dtype of ['float32', 'float64'] as const) {
      for (const n of [0, 1, 2, 7, 64, 257]) {
        const x = rand([n], dtype), g = rand([n], dtype);
        for (let i = 0; i < n; i++) {
          if (i % 5 === 0) x.data[i] = special[i % special.length];
          if (i % 7 === 3) g.data[i] = special[(i + 2) % special.length];
        }
        const twoPass = unary('step', x);
        for (let i = 0; i < n; i++) twoPass.data[i] *= g.data[i];
        expect(Array.from(reluBackward(x, g).data).map(Object.is.bind(null, -0))).toEqual(Array.from(twoPass.data).map(Object.is.bind(null, -0)));
        expect(Array.from(reluBackward(x, g).data)).toEqual(Array.from(twoPass.data));
      }
    }
  });
});

describe('relu: the branch-free float32 loop', () => {
  it('equals v <= 0 ? 0 : v bit for bit, for ±0, ±Inf, NaNs of either sign, subnormals and the extremes', () => {
    const nanNeg = new Float32Array(new Uint32Array([0xffc00000]).buffer)[0];
    const special = [0, -0, Infinity, -Infinity, NaN, nanNeg, 1.4e-45, -1.4e-45, 1.17e-38, 3.4028234e38, -3.4028234e38, 1, -1];
    for (const n of [0, 1, 13, 1000]) {
      const x = rand([n], 'float32');
      for (let i = 0; i < Math.min(n, special.length); i++) x.data[i] = special[i];
      const got = unary('relu', x);
      const want = Float32Array.from(x.data, (v) => (v <= 0 ? 0 : v));
      const bits = (d: ArrayLike<number>): number[] => Array.from(new Uint32Array(Float32Array.from(d).buffer));
      // NaN bits may differ in payload, so compare NaN-ness, then every other value's bits.
      expect(Array.from(got.data, Number.isNaN)).toEqual(Array.from(want, Number.isNaN));
      expect(bits(got.data).filter((_, i) => !Number.isNaN(want[i]))).toEqual(bits(want).filter((_, i) => !Number.isNaN(want[i])));
    }
  });

  it('float64 keeps the plain form (no overflow near the largest double)', () => {
    const x = new NDArray(new Float64Array([1.7e308, -1.7e308, -0, NaN, -Infinity]), [5]);
    expect(Array.from(unary('relu', x).data)).toEqual([1.7e308, 0, 0, NaN, 0]);
  });
});

describe('softmax: contiguous last-axis path', () => {
  /** The same softmax through the strided path: axis 0 of the transposed array, transposed back. */
  const strided = (x: NDArray): NDArray => permuteArray(softmaxArray(permuteArray(x, [1, 0]), 0, false), [1, 0]);

  // The JavaScript kernels' two paths; the WebAssembly softmax (chosen by backend for float32 in
  // the arena) has its own bound, checked in test/tensor/wasm/glue-rows.test.ts.
  it('forward equals the strided path bit for bit, for row widths 1, 2, 3, 8, 17 and 0 or 1 rows (JavaScript kernels)', () => {
    const before = getBackend();
    setBackend('js');
    try {
      forwardEqualsStrided();
    } finally {
      setBackend(before);
    }
  });

  const forwardEqualsStrided = (): void => {
    for (const dtype of ['float32', 'float64'] as const) {
      for (const [r, n] of [[4, 1], [4, 2], [5, 3], [128, 8], [3, 17], [0, 5], [1, 5], [2, 100]]) {
        const x = rand([r, n], dtype);
        if (r > 1) { x.data[0] = 1000; x.data[1 % x.size] = -Infinity; }
        expect(Array.from(softmaxArray(x, 1, false).data), `${dtype} [${r},${n}]`).toEqual(Array.from(strided(x).data));
      }
    }
  };

  it('a row of all -Infinity gives NaN on both paths (0/0), as before', () => {
    const x = new NDArray(new Float32Array([-Infinity, -Infinity, 0, 1]), [2, 2]);
    expect(Array.from(softmaxArray(x, 1, false).data)).toEqual(Array.from(strided(x).data));
  });

  it('backward equals the strided path bit for bit', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      for (const [r, n] of [[4, 1], [5, 3], [128, 8], [3, 17], [0, 4]]) {
        const y = softmaxArray(rand([r, n], dtype), 1, false);
        const g = rand([r, n], dtype);
        const fast = softmaxBackward(y, g, 1);
        const slow = permuteArray(softmaxBackward(permuteArray(y, [1, 0]), permuteArray(g, [1, 0]), 0), [1, 0]);
        expect(Array.from(fast.data)).toEqual(Array.from(slow.data));
      }
    }
  });
});

describe('copies: concat, slice, padSlice and indexSelect around the loop/set threshold', () => {
  /** x[a, k, i] of a row-major [outer, n, inner] array. */
  const at = (x: NDArray, n: number, inner: number, a: number, k: number, i: number): number => x.data[(a * n + k) * inner + i];

  it('copyRange copies exactly n elements for n around the threshold', () => {
    for (const n of [0, 1, 15, 16, 17, 100]) {
      const src = Float32Array.from({ length: n + 3 }, (_, i) => i + 1);
      const dst = new Float32Array(n + 5);
      copyRange(src, 2, dst, 1, n);
      expect(Array.from(dst)).toEqual([0, ...Array.from(src.subarray(2, 2 + n)), ...new Array<number>(4).fill(0)]);
    }
  });

  it('gatherRows copies rows by index for widths around the threshold, ids and floats, repeats and no rows', () => {
    for (const w of [0, 1, 2, 15, 16, 17, 100]) {
      for (const rows of [[], [3], [4, 0, 4, 2, 1]]) {
        for (const Ctor of [Float32Array, Float64Array, Int32Array]) {
          const src = Ctor.from({ length: 5 * w }, (_, i) => i + 1);
          const dst = new Ctor(rows.length * w + 3);
          gatherRows(src, Int32Array.from(rows), w, dst, 2);
          const want = [0, 0, ...rows.flatMap((r) => Array.from(src.subarray(r * w, (r + 1) * w))), 0];
          expect(Array.from(dst), `w ${w} rows ${rows} ${Ctor.name}`).toEqual(want);
        }
      }
    }
  });

  it('copyBlocks copies M strided blocks exactly, in and out of the arena', () => {
    // Inside a storage scope float32 arrays are arena blocks (the WebAssembly copy); outside, JS arrays.
    for (const scoped of [false, true]) {
      if (scoped) openStorageScope();
      for (const [M, n] of [[0, 4], [1, 5], [3, 1], [4, 17], [7, 16], [33, 64]]) {
        const src = allocate('float32', M * (n + 2) + 1);
        src.forEach((_, i) => { src[i] = i + 1; });
        const dst = allocate('float32', M * (n + 3) + 2);
        copyBlocks(M, n, src, 1, n + 2, dst, 2, n + 3);
        const want = new Float32Array(dst.length);
        for (let i = 0; i < M; i++) for (let k = 0; k < n; k++) want[2 + i * (n + 3) + k] = src[1 + i * (n + 2) + k];
        expect(Array.from(dst), `${M}×${n}${scoped ? ' (arena)' : ''}`).toEqual(Array.from(want));
      }
      if (scoped) closeStorageScope([]);
    }
  });

  it('concat along axis 1 and slice/padSlice back agree with per-element indexing', () => {
    for (const inner of [1, 4, 15, 16, 17]) {
      for (const outer of [0, 1, 3]) {
        const parts = [2, 0, 3, 1].map((n) => rand([outer, n, inner], 'float32'));
        const c = concatArrays(parts, 1);
        expect(c.shape).toEqual([outer, 6, inner]);
        let k0 = 0;
        for (const p of parts) {
          const n = p.shape[1];
          for (let a = 0; a < outer; a++) for (let k = 0; k < n; k++) for (let i = 0; i < inner; i++) {
            expect(at(c, 6, inner, a, k0 + k, i)).toBe(at(p, n, inner, a, k, i));
          }
          const s = sliceArray(c, 1, k0, n);
          expect(Array.from(s.data)).toEqual(Array.from(p.data));
          const padded = padSliceArray(p, c.shape, 1, k0);
          for (let a = 0; a < outer; a++) for (let k = 0; k < 6; k++) for (let i = 0; i < inner; i++) {
            const inside = k >= k0 && k < k0 + n;
            expect(at(padded, 6, inner, a, k, i)).toBe(inside ? at(p, n, inner, a, k - k0, i) : 0);
          }
          k0 += n;
        }
      }
    }
  });

  it('slice along the leading axis (one contiguous run) and of a whole axis', () => {
    const x = rand([5, 3, 17], 'float64');
    expect(Array.from(sliceArray(x, 0, 1, 3).data)).toEqual(Array.from(x.data.subarray(51, 4 * 51)));
    expect(Array.from(sliceArray(x, 1, 0, 3).data)).toEqual(Array.from(x.data));
    expect(sliceArray(x, 2, 4, 0).shape).toEqual([5, 3, 0]);
  });

  it('indexSelect with repeats agrees with per-element indexing', () => {
    for (const inner of [1, 16, 17]) {
      const x = rand([3, 4, inner], 'float32');
      const idx = [3, 0, 0, 2];
      const y = indexSelectArray(x, 1, idx);
      for (let a = 0; a < 3; a++) for (let r = 0; r < 4; r++) for (let i = 0; i < inner; i++) {
        expect(at(y, 4, inner, a, r, i)).toBe(at(x, 4, inner, a, idx[r], i));
      }
    }
  });
});

describe('NDArray shapes', () => {
  it('a frozen shape is shared, a plain one is copied and frozen', () => {
    const a = new NDArray(new Float32Array(6), [2, 3]);
    const b = new NDArray(a.data, a.shape);
    expect(b.shape).toBe(a.shape);
    const s = [3, 2];
    const c = new NDArray(a.data, s);
    s[0] = 9;
    expect(c.shape).toEqual([3, 2]);
    expect(Object.isFrozen(c.shape)).toBe(true);
    expect(() => new NDArray(a.data, Object.freeze([-6, -1]))).toThrow(/invalid shape/);
  });
});
