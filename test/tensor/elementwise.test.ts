import { describe, expect, it } from 'vitest';
import {
  NDArray, binary, unary, where, expandArray, reduce, Generator, type Storage,
} from '../../src/tensor/index.js';

const gen = new Generator(7);
function randArray(shape: number[], dtype: 'float32' | 'float64' = 'float64'): NDArray {
  const n = shape.reduce((a, b) => a * b, 1);
  const d: Storage = dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
  gen.fillNormal(d);
  return new NDArray(d, shape);
}

/** Reads element `idx` of `a` broadcast to a larger shape (reference implementation). */
function at(a: NDArray, outShape: number[], idx: number[]): number {
  const off = outShape.length - a.ndim;
  let flat = 0;
  for (let i = 0; i < a.ndim; i++) {
    const d = a.shape[i];
    flat = flat * d + (d === 1 ? 0 : idx[i + off]);
  }
  return a.data[flat];
}

function forEachIndex(shape: number[], fn: (idx: number[], flat: number) => void): void {
  const n = shape.reduce((a, b) => a * b, 1);
  const idx = new Array<number>(shape.length).fill(0);
  for (let f = 0; f < n; f++) {
    fn(idx, f);
    for (let ax = shape.length - 1; ax >= 0; ax--) {
      if (++idx[ax] < shape[ax]) break;
      idx[ax] = 0;
    }
  }
}

describe('elementwise kernels', () => {
  it('unary ops match Math', () => {
    const x = new NDArray(new Float64Array([-2, -0.5, 0, 0.3, 1.7]), [5]);
    const pos = new NDArray(new Float64Array([0.1, 0.5, 1, 2, 9]), [5]);
    const cases: Array<[Parameters<typeof unary>[0], (v: number) => number, NDArray]> = [
      ['neg', (v) => -v, x], ['exp', Math.exp, x], ['log', Math.log, pos], ['log1p', Math.log1p, pos],
      ['sqrt', Math.sqrt, pos], ['abs', Math.abs, x], ['tanh', Math.tanh, x],
      ['sigmoid', (v) => 1 / (1 + Math.exp(-v)), x], ['relu', (v) => Math.max(v, 0), x],
    ];
    for (const [op, f, input] of cases) {
      const out = unary(op, input);
      for (let i = 0; i < 5; i++) expect(out.data[i], op).toBeCloseTo(f(input.data[i]), 14);
    }
    expect(Array.from(unary('leakyRelu', x, 0.1).data)).toEqual([-0.2, -0.05, 0, 0.3, 1.7].map((v, i) => (i < 2 ? x.data[i] * 0.1 : v)));
    expect(Array.from(unary('clamp', x, -1, 1).data)).toEqual([-1, -0.5, 0, 0.3, 1]);
    expect(Array.from(unary('powScalar', pos, 3).data)).toEqual(Array.from(pos.data, (v) => Math.pow(v, 3)));
  });

  it('sigmoid does not overflow for large |x|', () => {
    const out = unary('sigmoid', new NDArray(new Float64Array([-1000, 1000, -750]), [3]));
    expect(Array.from(out.data)).toEqual([0, 1, 0]);
    expect(out.data.every(Number.isFinite)).toBe(true);
  });

  it('binary ops broadcast like NumPy, checked against a reference loop', () => {
    const pairs: Array<[number[], number[]]> = [
      [[3, 4], [3, 4]], [[3, 1], [1, 4]], [[4], [3, 4]], [[3, 4], [4]], [[2, 3, 4], [3, 1]],
      [[1], [2, 3]], [[2, 3], []], [[2, 1, 4], [1, 3, 1]], [[5, 1, 1], [1, 1, 7]],
    ];
    const fns: Record<'add' | 'sub' | 'mul' | 'div', (a: number, b: number) => number> = {
      add: (a, b) => a + b, sub: (a, b) => a - b, mul: (a, b) => a * b, div: (a, b) => a / b,
    };
    for (const [sa, sb] of pairs) {
      const a = randArray(sa), b = randArray(sb);
      for (const op of ['add', 'sub', 'mul', 'div'] as const) {
        const out = binary(op, a, b);
        const outShape = out.shape.slice();
        forEachIndex(outShape, (idx, f) => {
          expect(out.data[f]).toBe(fns[op](at(a, outShape, idx), at(b, outShape, idx)));
        });
      }
    }
  });

  it('binary rejects mixed dtypes and bad shapes, naming the op', () => {
    const a = randArray([2, 3], 'float32'), b = randArray([2, 3], 'float64');
    expect(() => binary('add', a, b, 'add')).toThrow(/^add: dtype mismatch float32 vs float64/);
    expect(() => binary('mul', randArray([2, 3]), randArray([4]), 'mul')).toThrow(/^mul: shapes \[2,3\] and \[4\]/);
  });

  it('where broadcasts cond, a and b', () => {
    const cond = new NDArray(new Float64Array([1, 0, 1]), [3]);
    const a = new NDArray(new Float64Array([1, 2, 3, 4, 5, 6]), [2, 3]);
    const b = new NDArray(new Float64Array([-1]), []);
    expect(Array.from(where(cond, a, b).data)).toEqual([1, -1, 3, 4, -1, 6]);
  });

  it('expand materializes a broadcast and rejects shrinking', () => {
    const a = new NDArray(new Float64Array([1, 2]), [2, 1]);
    const e = expandArray(a, [2, 3]);
    expect(Array.from(e.data)).toEqual([1, 1, 1, 2, 2, 2]);
    expect(() => expandArray(randArray([3]), [2, 1])).toThrow(/^expand: cannot expand \[3\] to \[2,1\]/);
  });
});

/** Reference reduction by brute force over the multi-index. */
function refReduce(op: 'sum' | 'max', x: NDArray, axes: number[]): { shape: number[]; data: number[] } {
  const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const n = kept.reduce((a, b) => a * b, 1);
  const out = new Array<number>(n).fill(op === 'sum' ? 0 : -Infinity);
  forEachIndex(x.shape.slice(), (idx, f) => {
    let o = 0;
    for (let i = 0; i < idx.length; i++) o = o * kept[i] + (axes.includes(i) ? 0 : idx[i]);
    out[o] = op === 'sum' ? out[o] + x.data[f] : Math.max(out[o], x.data[f]);
  });
  return { shape: kept, data: out };
}

describe('reductions', () => {
  const x = randArray([2, 3, 4, 5]);
  const axisCases: Array<number | number[] | undefined> = [0, 1, 2, 3, -1, -3, [0, 2], [1, 3], [-1, 0], [0, 1, 2], undefined];

  for (const op of ['sum', 'max'] as const) {
    it(`${op} over any axis, list or all, with and without keepdim`, () => {
      for (const axis of axisCases) {
        const axes = (axis === undefined ? [0, 1, 2, 3] : typeof axis === 'number' ? [axis] : axis).map((a) => (a < 0 ? a + 4 : a));
        const ref = refReduce(op, x, axes);
        const kept = reduce(op, x, axis, true);
        expect(kept.shape, `${op} ${String(axis)}`).toEqual(ref.shape);
        const dropped = reduce(op, x, axis, false);
        expect(dropped.shape).toEqual(x.shape.filter((_, i) => !axes.includes(i)));
        for (let i = 0; i < ref.data.length; i++) {
          expect(kept.data[i]).toBeCloseTo(ref.data[i], 12);
          expect(dropped.data[i]).toBe(kept.data[i]);
        }
      }
    });
  }

  it('max propagates NaN and rejects empty axes', () => {
    const a = new NDArray(new Float64Array([1, NaN, 3]), [3]);
    expect(reduce('max', a).data[0]).toBeNaN();
    expect(() => reduce('max', new NDArray(new Float64Array(0), [0, 2]), 0)).toThrow(/^max: cannot reduce an empty axis/);
    expect(Array.from(reduce('sum', new NDArray(new Float64Array(0), [0, 2]), 0).data)).toEqual([0, 0]);
  });

  it('bad axis throws naming the op', () => {
    expect(() => reduce('sum', x, 4)).toThrow(/^sum: axis 4 is out of range/);
    expect(() => reduce('max', x, [0, -5])).toThrow(/^max: axis -5 is out of range/);
  });
});

describe('maximum / minimum with NaN', () => {
  it('propagate NaN from either side, as torch.maximum does', () => {
    const a = new NDArray(new Float32Array([NaN, 1, 2]), [3]);
    const b = new NDArray(new Float32Array([0, NaN, 3]), [3]);
    for (const op of ['maximum', 'minimum'] as const) {
      const r = binary(op, a, b).data;
      expect(Number.isNaN(r[0])).toBe(true);
      expect(Number.isNaN(r[1])).toBe(true);
      expect(r[2]).toBe(op === 'maximum' ? 3 : 2);
    }
  });
});
