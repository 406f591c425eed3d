import { allocate, type Storage } from './dtype.js';
import { NDArray } from './ndarray.js';

/*
 * The DCN rank-one cross layer, out = x0 ⊙ (xl·w) + b + xl, for x0, xl of shape [B, D].
 * Everything is one or two passes over [B, D] arrays: no D×D (or B×D×D) intermediate exists.
 */

/** Forward. Also returns s = xl·w per row ([B]), which backward needs. */
export function crossForward(x0: NDArray, xl: NDArray, w: Storage, b: Storage): { out: NDArray; s: Storage } {
  const [B, D] = x0.shape;
  const X0 = x0.data, XL = xl.data;
  const o = allocate(x0.dtype, B * D);
  const s = allocate(x0.dtype, B);
  for (let r = 0; r < B; r++) {
    const base = r * D;
    let dot = 0;
    for (let j = 0; j < D; j++) dot += XL[base + j] * w[j];
    s[r] = dot;
    for (let j = 0; j < D; j++) o[base + j] = X0[base + j] * dot + b[j] + XL[base + j];
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
 * gb = Σ_rows g. Only the requested gradients are computed.
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
    if (needGs) for (let j = 0; j < D; j++) gs += G[base + j] * X0[base + j];
    if (gx0) for (let j = 0; j < D; j++) gx0[base + j] = G[base + j] * sr;
    if (gxl) for (let j = 0; j < D; j++) gxl[base + j] = G[base + j] + gs * w[j];
    if (gw) for (let j = 0; j < D; j++) gw[j] += gs * XL[base + j];
    if (gb) for (let j = 0; j < D; j++) gb[j] += G[base + j];
  }
  return { x0: gx0, xl: gxl, w: gw, b: gb };
}
