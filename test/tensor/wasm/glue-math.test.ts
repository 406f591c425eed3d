import { afterAll, describe, expect, it } from 'vitest';
import { Generator } from '../../../src/tensor/index.js';
import { wasmFeatures } from '../../../src/tensor/wasm/features.js';
import { glueKernels, type UnaryKernel } from '../../../src/tensor/wasm/glue.js';
import { setRelaxedSimd } from '../../../src/tensor/wasm/runtime.js';
import { ArenaLayout, expectSameBits, ulpDiff } from './arena-helpers.js';

/*
 * The f32x4 exp, sigmoid, tanh and log (math-kernel.ts) against the float64 Math functions rounded to
 * float32, in ulps (float32 steps between the results), on ~3.5 million inputs: 2^21 uniform bit
 * patterns (every exponent), 2^20 values uniform over [−110, 95], every float32 in windows around
 * exp's overflow and underflow thresholds, the start of subnormal results, tanh's saturation and
 * log's reduction edges (1, √2, √2/2, the least normal), and the specials, which must be exact.
 * Bounds: 2 ulp for each (a scan of every 97th float32 bit pattern, 44M inputs, measured
 * exp 1, sigmoid 2, tanh 2, log 1).
 * sigmoid's reference is the JavaScript kernel's formula (two branches) in float64.
 */

const BOUND = { exp: 2, sigmoid: 2, tanh: 2, log: 2 } as const;
type Fn = keyof typeof BOUND;
const sigmoid64 = (v: number): number => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)));
const REF: Record<Fn, (v: number) => number> = { exp: Math.exp, sigmoid: sigmoid64, tanh: Math.tanh, log: Math.log };

/** The 2·half float32 values around `center` by bit pattern (center at index half). */
function window(center: number, half: number): Float32Array {
  const c = new Float32Array([center]);
  const u = new Int32Array(c.buffer)[0];
  const out = new Int32Array(2 * half);
  for (let i = 0; i < 2 * half; i++) out[i] = u - half + i;
  return new Float32Array(out.buffer);
}

function inputs(): Float32Array {
  const gen = new Generator(2026);
  const bits = new Uint32Array(1 << 21);
  for (let i = 0; i < bits.length; i++) bits[i] = Math.floor(gen.random() * 2 ** 32);
  const uniform = new Float32Array(1 << 20);
  gen.fillUniform(uniform, -110, 95);
  const parts = [new Float32Array(bits.buffer), uniform];
  for (const c of [88.72283935546875, -103.97207641601562, -87.33654, -9.010913, 9.010913, 0.5493061, -0.5493061, 1e-20, -1e-20, 1, Math.SQRT2, Math.SQRT1_2, 2 ** -126]) {
    parts.push(window(c, 20000));
    parts.push(window(-c, 2000));
  }
  const all = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) { all.set(p, o); o += p.length; }
  return all;
}

function run(fn: UnaryKernel, x: Float32Array, mis = 0): Float32Array {
  const L = new ArenaLayout(mis);
  const px = L.put(x), po = L.alloc(x.length);
  fn(x.length, px, po);
  const out = L.get(po, x.length);
  L.checkGuards('math');
  return out;
}

describe.skipIf(!wasmFeatures().simd)('SIMD exp, sigmoid, tanh and log against float64', () => {
  afterAll(() => setRelaxedSimd(true));
  const x = inputs();

  for (const name of ['exp', 'sigmoid', 'tanh', 'log'] as const) {
    it(`${name}: within ${BOUND[name]} ulp on ${x.length} inputs`, () => {
      const got = run(glueKernels()![name], x);
      const ref = REF[name];
      let worst = 0, at = 0;
      for (let i = 0; i < x.length; i++) {
        const d = ulpDiff(got[i], Math.fround(ref(x[i])));
        if (d > worst) { worst = d; at = i; }
      }
      expect(worst, `${name}(${x[at]}) = ${got[at]}, want ${Math.fround(ref(x[at]))}`).toBeLessThanOrEqual(BOUND[name]);
    });
  }

  it('specials are exact', () => {
    const k = glueKernels()!;
    const X0 = 88.72283935546875; // the least float32 whose exp rounds to +Inf
    const below = window(X0, 1)[0];
    const X1 = -103.97207641601562; // the most negative float32 whose exp is not 0
    const beyond = window(X1, 2)[3]; // one float32 step more negative
    const xs = new Float32Array([0, -0, Infinity, -Infinity, NaN, X0, below, X1, beyond, 1e3, -1e3, 1e-45, -1e-45, 3e38, -3e38]);
    const want = (f: (v: number) => number): Float32Array => xs.map((v) => f(v));
    expectSameBits(run(k.exp, xs), want(Math.exp), 'exp');
    expectSameBits(run(k.sigmoid, xs), want(sigmoid64), 'sigmoid');
    expectSameBits(run(k.tanh, xs), want(Math.tanh), 'tanh');
    const ls = new Float32Array([0, -0, 1, -1, Infinity, -Infinity, NaN, 1e-45, -1e-45, 2 ** -126, 3.4028234663852886e38, 2, 0.5]);
    expectSameBits(run(k.log, ls), ls.map((v) => Math.log(v)), 'log');
    expect(Object.is(run(k.exp, xs)[8], 0)).toBe(true); // +0, not −0, below the underflow threshold
    expect(Object.is(run(k.tanh, xs)[1], -0)).toBe(true);
  });

  it('the same bits with relaxed SIMD on and off, aligned or not, whatever the length', () => {
    const k0 = (): ReturnType<typeof glueKernels> => glueKernels();
    const xs = x.subarray(0, 50_003);
    setRelaxedSimd(false);
    const off = ['exp', 'sigmoid', 'tanh', 'log'].map((n) => run(k0()![n as Fn], xs));
    if (wasmFeatures().relaxedSimd) setRelaxedSimd(true);
    ['exp', 'sigmoid', 'tanh', 'log'].forEach((n, i) => {
      expectSameBits(run(k0()![n as Fn], xs, 4), off[i], `${n} relaxed vs not`);
      // each element is computed alone: a prefix of odd length gives the same values
      expectSameBits(run(k0()![n as Fn], xs.subarray(0, 7), 12), off[i].subarray(0, 7), `${n} n=7`);
    });
  });
});
