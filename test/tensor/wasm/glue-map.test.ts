import { afterAll, describe, expect, it } from 'vitest';
import { Generator, NDArray } from '../../../src/tensor/index.js';
import { binary, reluBackward, unaryInto, type BinaryOp } from '../../../src/tensor/elementwise.js';
import { wasmFeatures } from '../../../src/tensor/wasm/features.js';
import { glueKernels, type GlueBinaryOp } from '../../../src/tensor/wasm/glue.js';
import { setRelaxedSimd } from '../../../src/tensor/wasm/runtime.js';
import { ArenaLayout, expectSameBits, withSpecials } from './arena-helpers.js';

/*
 * The generic elementwise kernels (map-kernel.ts) against the JavaScript kernels of
 * src/tensor/elementwise.ts and the autograd backward loops, bit for bit: every binary op in every
 * broadcast form, shapes 0, 1, primes and every remainder mod 4, inputs with ±0, ±Inf, NaN and
 * subnormals, aligned and unaligned pointers, out aliasing an operand; guard words around every
 * block catch writes past the end. Relaxed SIMD on and off (the glue must not depend on it).
 */

const gen = new Generator(15);
const SIZES = [0, 1, 2, 3, 4, 5, 7, 8, 9, 13, 31, 64, 67];
const modes = wasmFeatures().relaxedSimd ? [false, true] : [false];
const BINARY: GlueBinaryOp[] = ['add', 'sub', 'mul', 'div', 'maximum', 'minimum'];

type Form = 'same' | 'scalarB' | 'scalarA' | 'rowB' | 'rowA' | 'colB' | 'colA';
const FORMS: Form[] = ['same', 'scalarB', 'scalarA', 'rowB', 'rowA', 'colB', 'colA'];

/** Shapes of a and b for a form over an [M, N] output. */
function shapes(form: Form, M: number, N: number): [number[], number[]] {
  switch (form) {
    case 'same': return [[M, N], [M, N]];
    case 'scalarB': return [[M, N], [1]];
    case 'scalarA': return [[1], [M, N]];
    case 'rowB': return [[M, N], [N]];
    case 'rowA': return [[N], [M, N]];
    case 'colB': return [[M, N], [M, 1]];
    case 'colA': return [[M, 1], [M, N]];
  }
}

/** (row stride, column step) of an operand of that shape inside [M, N]. */
function strides(shape: number[], N: number): [number, number] {
  if (shape.length === 1) return shape[0] === 1 && N !== 1 ? [0, 0] : [0, 1];
  return shape[1] === 1 && N !== 1 ? [1, 0] : [N, 1];
}

describe.skipIf(!wasmFeatures().simd)('glue elementwise kernels, bit-identical to JavaScript', () => {
  afterAll(() => setRelaxedSimd(true));

  for (const relaxed of modes) {
    it(`binary ops in every broadcast form (${relaxed ? 'relaxed on' : 'relaxed off'})`, () => {
      setRelaxedSimd(relaxed);
      const k = glueKernels()!;
      for (const op of BINARY) for (const form of FORMS) for (const M of [1, 2, 3, 5]) for (const N of SIZES) for (const mis of [0, 4]) {
        const [sa, sb] = shapes(form, M, N);
        const a = withSpecials(sa.reduce((x, y) => x * y, 1), gen), b = withSpecials(sb.reduce((x, y) => x * y, 1), gen);
        const want = binary(op as BinaryOp, new NDArray(a, sa), new NDArray(b, sb)).data;
        const L = new ArenaLayout(mis);
        const pa = L.put(a), pb = L.put(b), po = L.alloc(M * N);
        const [ar, ac] = strides(sa, N), [br, bc] = strides(sb, N);
        const tag = `${op} ${form} M=${M} N=${N} misalign ${mis}`;
        k.binary[op](M, N, pa, ar, ac, pb, br, bc, po);
        expectSameBits(L.get(po, M * N), want, tag);
        // out aliasing the full-size operand(s)
        if (a.length === M * N) { k.binary[op](M, N, pa, ar, ac, pb, br, bc, pa); expectSameBits(L.get(pa, M * N), want, `${tag} out=a`); L.f32().set(a, pa / 4); }
        if (b.length === M * N) { k.binary[op](M, N, pa, ar, ac, pb, br, bc, pb); expectSameBits(L.get(pb, M * N), want, `${tag} out=b`); }
        L.checkGuards(tag);
      }
    });

    it(`unary ops and backward ops (${relaxed ? 'relaxed on' : 'relaxed off'})`, () => {
      setRelaxedSimd(relaxed);
      const k = glueKernels()!;
      for (const n of [...SIZES, 1001]) for (const mis of [0, 8]) {
        const x = withSpecials(n, gen), g = withSpecials(n, gen);
        const y = new Float32Array(n).map(() => gen.random()); // an activation output in [0, 1)
        y[0 % Math.max(n, 1)] = n ? 1 : 0;
        const ref = (op: 'neg' | 'relu' | 'scale' | 'leakyRelu', p = 0): Float32Array => {
          const o = new Float32Array(n); unaryInto(op, x, o, n, p, 0); return o;
        };
        const L = new ArenaLayout(mis);
        const px = L.put(x), pg = L.put(g), py = L.put(y), po = L.alloc(n);
        const check = (run: (out: number) => void, want: Float32Array, tag: string): void => {
          run(po);
          expectSameBits(L.get(po, n), want, `${tag} n=${n}`);
        };
        check((o) => k.neg(n, px, o), ref('neg'), 'neg');
        check((o) => k.relu(n, px, o), ref('relu'), 'relu');
        for (const c of [0.5, 0.1, -3, 1 / 3]) check((o) => k.scale(n, px, o, c), ref('scale', c), `scale ${c}`);
        for (const s of [0.01, 0.2, 0]) check((o) => k.leakyRelu(n, px, o, s), ref('leakyRelu', s), `leakyRelu ${s}`);
        check((o) => k.reluGrad(n, pg, px, o), reluBackward(new NDArray(x, [n]), new NDArray(g, [n])).data as Float32Array, 'reluGrad');
        for (const s of [0.01, 0.2]) {
          const mask = new Float32Array(n); unaryInto('leakyReluGrad', x, mask, n, s, 0);
          const want = binary('mul', new NDArray(g, [n]), new NDArray(mask, [n])).data as Float32Array;
          check((o) => k.leakyReluGrad(n, pg, px, o, s), want, `leakyReluGrad ${s}`);
        }
        // the autograd backward loops of sigmoid and tanh (src/autograd/ops/elementwise.ts)
        const sig = new Float32Array(n), th = new Float32Array(n);
        for (let i = 0; i < n; i++) { sig[i] = g[i] * y[i] * (1 - y[i]); th[i] = g[i] * (1 - y[i] * y[i]); }
        check((o) => k.sigmoidGrad(n, pg, py, o), sig, 'sigmoidGrad');
        check((o) => k.tanhGrad(n, pg, py, o), th, 'tanhGrad');
        // in place
        k.relu(n, px, px);
        expectSameBits(L.get(px, n), ref('relu'), `relu in place n=${n}`);
        k.tanhGrad(n, pg, py, pg);
        expectSameBits(L.get(pg, n), th, `tanhGrad in place n=${n}`);
        L.checkGuards(`unary n=${n}`);
      }
    });
  }

  it('glueKernels is null-safe only where WebAssembly is missing, and rebuilt after a re-instantiation', () => {
    setRelaxedSimd(false);
    const a = glueKernels();
    setRelaxedSimd(true);
    const b = glueKernels();
    expect(a).not.toBeNull();
    expect(b).not.toBeNull();
    expect(b!.memory).toBe(a!.memory); // the same arena: pointers stay valid
  });
});
