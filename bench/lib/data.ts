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
 * Bytes of [B, D] arrays an implementation must stream at the least, under two models.
 * - 'layer': layer by layer, each layer reads x0 and xl and writes out (3 arrays); backward adds
 *   reading g, x0, xl and writing gx0, gxl (5 more). Times L. This is what fused-layer, composed and
 *   naive do at the least.
 * - 'stack': the whole stack in one op (crossNetVector): forward reads x0 and writes x_L (2 arrays);
 *   backward reads g and x0 and writes gx0 (3 more). Not times L: the layers in between never
 *   reach memory.
 * Vectors of length B, D or L·D are left out of both.
 */
export function crossBytes(d: CrossData, withBackward: boolean, model: 'layer' | 'stack'): number {
  const arrays = model === 'stack' ? (withBackward ? 2 + 3 : 2) : (withBackward ? 3 + 5 : 3) * d.L;
  return arrays * d.B * d.D * 4;
}
