import { Generator } from '../../src/index.js';

/*
 * Raw Float32Array inputs, made once from a seed, so that our engine and TF.js are handed
 * bit-identical weights and data and compute the same work.
 */

export function randomArray(gen: Generator, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  gen.fillNormal(a, 0, scale);
  return a;
}

export interface CrossData {
  B: number;
  D: number;
  L: number;
  x0: Float32Array;
  /** Per layer, w_l ([D]) and b_l ([D]). */
  ws: Float32Array[];
  bs: Float32Array[];
  /** Upstream gradient for the last layer's output ([B, D]). */
  g: Float32Array;
}

export function crossData(B: number, D: number, L: number, seed = 1): CrossData {
  const gen = new Generator(seed);
  // w scaled by 1/sqrt(D) keeps xl·w of unit size, so three layers stay well inside float32 range.
  const ws = Array.from({ length: L }, () => randomArray(gen, D, 1 / Math.sqrt(D)));
  const bs = Array.from({ length: L }, () => randomArray(gen, D, 0.1));
  return { B, D, L, x0: randomArray(gen, B * D), ws, bs, g: randomArray(gen, B * D) };
}

/**
 * Bytes of [B, D] arrays one cross layer must stream at the least: forward reads x0 and xl and
 * writes out; backward reads g, x0, xl and writes gx0 and gxl. Vectors of length B or D are left out.
 */
export function crossBytes(d: CrossData, withBackward: boolean): number {
  const arrays = withBackward ? 3 + 5 : 3;
  return arrays * d.B * d.D * 4 * d.L;
}
