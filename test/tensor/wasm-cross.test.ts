import { afterAll, describe, expect, it } from 'vitest';
import { CROSS_WASM_MIN, Generator, NDArray, crossStackBackward, crossStackForward, setBackend } from '../../src/tensor/index.js';
import { wasmFeatures } from '../../src/tensor/wasm/features.js';
import { relaxedSimdActive, setRelaxedSimd } from '../../src/tensor/wasm/runtime.js';

/*
 * The vector cross stack's forward on the WebAssembly backend (float32, f32x4 dots and output
 * pass) against the JavaScript kernel run in float64 on the same inputs: every D around the
 * 4- and 8-lane loop edges, L from 0 (the identity) up, empty and single-row batches, in both
 * arithmetic modes. Bounds: p_l within 1e-5·Σ|x0·w_l|; out within 1e-5 of its float32 scale
 * (|x0|·|c_L| + |β_L|) times the layer count plus one. Batches are sized to reach
 * CROSS_WASM_MIN (smaller ones run on the JavaScript kernel), and each test checks that its results
 * differ somewhere from the JavaScript float32 kernel's, i.e. that the WebAssembly kernel ran.
 */

/** Batch sizes that put B·D at and just above the WebAssembly threshold. */
const batches = (D: number): number[] => [Math.ceil(CROSS_WASM_MIN / D), Math.ceil(CROSS_WASM_MIN / D) + 3];

function differs(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return true;
  return false;
}

const gen = new Generator(31);
const rand = (n: number, scale = 1): Float32Array => gen.fillNormal(new Float32Array(n)).map((v) => v * scale);
const initial = process.env.MMOE_TS_BACKEND === 'js' ? 'js' : 'wasm';

const modes: boolean[] = [false];
if (wasmFeatures().relaxedSimd) modes.push(true);

describe.skipIf(!wasmFeatures().simd)('crossStackForward on WebAssembly against float64', () => {
  afterAll(() => { setRelaxedSimd(true); setBackend(initial); });

  for (const relaxed of modes) {
    it(`matches within float32's bound (${relaxed ? 'relaxed FMA' : 'mul+add'})`, () => {
      setBackend('wasm');
      setRelaxedSimd(relaxed);
      expect(relaxedSimdActive()).toBe(relaxed);
      let sawWasm = false;
      for (const D of [1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 64, 257]) for (const B of batches(D)) for (const L of [0, 1, 2, 3, 5]) {
        const x0 = rand(B * D), w = rand(L * D, 0.3 / Math.sqrt(D)), b = rand(L * D, 0.1);
        const got = crossStackForward(new NDArray(x0, [B, D]), w, b, L);
        setBackend('js');
        sawWasm ||= differs(got.out.data, crossStackForward(new NDArray(x0, [B, D]), w, b, L).out.data);
        setBackend('wasm');
        const ref = crossStackForward(new NDArray(Float64Array.from(x0), [B, D]), Float64Array.from(w), Float64Array.from(b), L);
        const tag = `B=${B} D=${D} L=${L}`;
        expect(got.out.dtype, tag).toBe('float32');
        for (let r = 0; r < B; r++) {
          let c = 1;
          for (let l = 0; l < L; l++) {
            let mag = 0;
            for (let j = 0; j < D; j++) mag += Math.abs(x0[r * D + j] * w[l * D + j]);
            expect(Math.abs(got.p[r * L + l] - ref.p[r * L + l]), `${tag} p[${r},${l}]`).toBeLessThanOrEqual(1e-5 * mag + 1e-30);
            c += c * ref.p[r * L + l];
          }
          for (let j = 0; j < D; j++) {
            let beta = 0;
            for (let l = 0; l < L; l++) beta += Math.abs(b[l * D + j]);
            const scale = Math.abs(x0[r * D + j]) * Math.max(1, Math.abs(c)) + beta + 1;
            expect(Math.abs(got.out.data[r * D + j] - ref.out.data[r * D + j]), `${tag} out[${r},${j}]`).toBeLessThanOrEqual(1e-5 * (L + 1) * scale);
          }
        }
      }
      expect(sawWasm).toBe(true);
    });
  }

  for (const relaxed of modes) {
    it(`backward matches float64 for every subset of gradients (${relaxed ? 'relaxed FMA' : 'mul+add'})`, () => {
      setBackend('wasm');
      setRelaxedSimd(relaxed);
      let sawWasm = false;
      for (const D of [1, 3, 4, 7, 8, 9, 17, 64, 130]) for (const B of batches(D)) for (const L of [0, 1, 2, 3, 4]) {
        const x0 = rand(B * D), w = rand(L * D, 0.3 / Math.sqrt(D)), b = rand(L * D, 0.1), g = rand(B * D);
        const fwd = crossStackForward(new NDArray(x0, [B, D]), w, b, L);
        const x64 = new NDArray(Float64Array.from(x0), [B, D]);
        const ref = crossStackBackward(new NDArray(Float64Array.from(g), [B, D]), x64, Float64Array.from(w), Float64Array.from(b), fwd.p, L, { x0: true, w: true, b: true });
        for (const mask of [7, 1, 2, 4, 3, 6]) {
          const need = { x0: (mask & 1) !== 0, w: (mask & 2) !== 0, b: (mask & 4) !== 0 };
          const got = crossStackBackward(new NDArray(g, [B, D]), new NDArray(x0, [B, D]), w, b, fwd.p, L, need);
          setBackend('js');
          const js = crossStackBackward(new NDArray(g, [B, D]), new NDArray(x0, [B, D]), w, b, fwd.p, L, need);
          setBackend('wasm');
          for (const k of ['x0', 'w', 'b'] as const) {
            const tag = `B=${B} D=${D} L=${L} need=${JSON.stringify(need)} g${k}`;
            if (!need[k]) { expect(got[k], tag).toBeNull(); continue; }
            const gk = got[k]!, rk = ref[k]!;
            expect(gk.length, tag).toBe(rk.length);
            expect(gk instanceof Float32Array, tag).toBe(true);
            // Relative to the gradient's own scale: float32 sums over up to B rows or D columns.
            let scale = 1, err = 0;
            for (let i = 0; i < rk.length; i++) scale = Math.max(scale, Math.abs(rk[i]));
            for (let i = 0; i < rk.length; i++) err = Math.max(err, Math.abs(gk[i] - rk[i]));
            sawWasm ||= differs(gk, js[k]!);
            expect(err / scale, tag).toBeLessThanOrEqual(2e-6 * (L + 1) * Math.sqrt(B * D + 1));
          }
        }
      }
      expect(sawWasm).toBe(true);
    });
  }

  it('differs from the JavaScript float32 kernel only in the last bits, and is deterministic', () => {
    setBackend('wasm');
    const B = 64, D = 100, L = 3;
    expect(B * D).toBeGreaterThanOrEqual(CROSS_WASM_MIN);
    const x0 = rand(B * D), w = rand(L * D, 0.1), b = rand(L * D, 0.1);
    const a1 = crossStackForward(new NDArray(x0, [B, D]), w, b, L);
    const a2 = crossStackForward(new NDArray(x0, [B, D]), w, b, L);
    expect(Array.from(a1.out.data)).toEqual(Array.from(a2.out.data));
    setBackend('js');
    const js = crossStackForward(new NDArray(x0, [B, D]), w, b, L);
    setBackend(initial);
    let worst = 0;
    for (let i = 0; i < B * D; i++) worst = Math.max(worst, Math.abs(js.out.data[i] - a1.out.data[i]) / Math.max(1, Math.abs(js.out.data[i])));
    expect(worst).toBeLessThan(1e-5);
    expect(worst, "the WebAssembly kernel ran (float32 sums differ from JavaScript's float64 ones)").toBeGreaterThan(0);
  });
});
