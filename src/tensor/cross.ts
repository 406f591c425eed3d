import { allocate, type Storage } from './dtype.js';
import { NDArray } from './ndarray.js';

/*
 * The DCN rank-one cross layer, out = x0 ⊙ (xl·w) + b + xl, for x0, xl of shape [B, D].
 * Everything is one or two passes over [B, D] arrays: no D×D (or B×D×D) intermediate exists.
 * Per row, each pass touches D values that stay in L1 for the next pass, so main memory sees each
 * [B, D] array once. Dot products use four partial sums: one running sum is a chain of dependent
 * additions that bounds the loop at one element per add latency.
 */

/** Σ_j a[ao + j]·b[bo + j] for j < n, in four interleaved partial sums. */
function dot(a: Storage, ao: number, b: Storage, bo: number, n: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let j = 0;
  for (; j + 3 < n; j += 4) {
    s0 += a[ao + j] * b[bo + j];
    s1 += a[ao + j + 1] * b[bo + j + 1];
    s2 += a[ao + j + 2] * b[bo + j + 2];
    s3 += a[ao + j + 3] * b[bo + j + 3];
  }
  for (; j < n; j++) s0 += a[ao + j] * b[bo + j];
  return (s0 + s1) + (s2 + s3);
}

/** Forward. Also returns s = xl·w per row ([B]), which backward needs. */
export function crossForward(x0: NDArray, xl: NDArray, w: Storage, b: Storage): { out: NDArray; s: Storage } {
  const [B, D] = x0.shape;
  const X0 = x0.data, XL = xl.data;
  const o = allocate(x0.dtype, B * D);
  const s = allocate(x0.dtype, B);
  for (let r = 0; r < B; r++) {
    const base = r * D;
    const sr = dot(XL, base, w, 0, D);
    s[r] = sr;
    for (let j = 0; j < D; j++) o[base + j] = X0[base + j] * sr + b[j] + XL[base + j];
  }
  return { out: new NDArray(o, [B, D]), s };
}

export interface CrossGrads {
  x0: Storage | null;
  xl: Storage | null;
  w: Storage | null;
  b: Storage | null;
}

/**
 * Backward for upstream g: gx0 = g·s, gs = rowsum(g ⊙ x0), gxl = g + gs ⊗ w, gw = Σ_rows gs·xl,
 * gb = Σ_rows g. Only the requested gradients are computed; per row, one pass makes gs, gx0 and
 * gb, a second makes gxl and gw (the dot is summed in the same four-way split as forward's).
 */
export function crossBackward(
  g: NDArray, x0: NDArray, xl: NDArray, w: Storage, s: Storage,
  need: { x0: boolean; xl: boolean; w: boolean; b: boolean },
): CrossGrads {
  const [B, D] = g.shape;
  const G = g.data, X0 = x0.data, XL = xl.data;
  const dtype = g.dtype;
  const gx0 = need.x0 ? allocate(dtype, B * D) : null;
  const gxl = need.xl ? allocate(dtype, B * D) : null;
  const gw = need.w ? allocate(dtype, D) : null;
  const gb = need.b ? allocate(dtype, D) : null;
  const needGs = need.xl || need.w;
  for (let r = 0; r < B; r++) {
    const base = r * D;
    const sr = s[r];
    let gs = 0;
    if (gx0 && gb && needGs) {
      // The training case: gs, gx0 and gb in one pass over G and X0.
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      let j = 0;
      for (; j + 3 < D; j += 4) {
        const i = base + j;
        const g0 = G[i], g1 = G[i + 1], g2 = G[i + 2], g3 = G[i + 3];
        s0 += g0 * X0[i]; s1 += g1 * X0[i + 1]; s2 += g2 * X0[i + 2]; s3 += g3 * X0[i + 3];
        gx0[i] = g0 * sr; gx0[i + 1] = g1 * sr; gx0[i + 2] = g2 * sr; gx0[i + 3] = g3 * sr;
        gb[j] += g0; gb[j + 1] += g1; gb[j + 2] += g2; gb[j + 3] += g3;
      }
      for (; j < D; j++) { const gj = G[base + j]; s0 += gj * X0[base + j]; gx0[base + j] = gj * sr; gb[j] += gj; }
      gs = (s0 + s1) + (s2 + s3);
    } else if (gx0 && gb) {
      for (let j = 0; j < D; j++) { const gj = G[base + j]; gx0[base + j] = gj * sr; gb[j] += gj; }
    } else {
      if (needGs) gs = dot(G, base, X0, base, D);
      if (gx0) for (let j = 0; j < D; j++) gx0[base + j] = G[base + j] * sr;
      if (gb) for (let j = 0; j < D; j++) gb[j] += G[base + j];
    }
    if (gxl && gw) {
      for (let j = 0; j < D; j++) { gxl[base + j] = G[base + j] + gs * w[j]; gw[j] += gs * XL[base + j]; }
    } else if (gxl) {
      for (let j = 0; j < D; j++) gxl[base + j] = G[base + j] + gs * w[j];
    } else if (gw) {
      for (let j = 0; j < D; j++) gw[j] += gs * XL[base + j];
    }
  }
  return { x0: gx0, xl: gxl, w: gw, b: gb };
}
