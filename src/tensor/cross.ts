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

/*
 * The whole vector cross network x_{l+1} = x0 ⊙ (x_l·w_l) + b_l + x_l, l < L, as one kernel.
 * Rows are independent, so each row runs through all L layers while its D values sit in a
 * Float64Array scratch row (in L1/L2): main memory sees x0 read and out written once, not L times,
 * and no [B, D] intermediate exists. The per-row dots s[r, l] are kept ([B, L]); backward rebuilds
 * x_1..x_{L-1} from them with the same operations in the same order, so bit for bit.
 * w and b are [L, D] row-major (as kernels [L, D, 1] and bias [L, D, 1] store them).
 */

/** w and b copied once into float64, so the per-row loops read one array type only. */
function toF64(a: Storage): Float64Array {
  return a instanceof Float64Array ? a : Float64Array.from(a);
}

/** Forward of the L-layer stack; s is [B, L] (s[r·L + l] = x_l·w_l of row r). */
export function crossStackForward(x0: NDArray, w: Storage, b: Storage, L: number): { out: NDArray; s: Float64Array } {
  const [B, D] = x0.shape;
  const X0 = x0.data;
  const W = toF64(w), Bv = toF64(b);
  const o = allocate(x0.dtype, B * D);
  const s = new Float64Array(B * L);
  const x0r = new Float64Array(D);
  const xr = new Float64Array(D);
  for (let r = 0; r < B; r++) {
    const base = r * D;
    for (let j = 0; j < D; j++) x0r[j] = xr[j] = X0[base + j];
    let sl = dot(xr, 0, W, 0, D);
    for (let l = 0; l < L; l++) {
      s[r * L + l] = sl;
      const lo = l * D;
      if (l + 1 < L) {
        // Update x_l → x_{l+1} and take the next layer's dot in the same pass.
        const no = lo + D;
        let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        let j = 0;
        for (; j + 3 < D; j += 4) {
          const v0 = x0r[j] * sl + Bv[lo + j] + xr[j];
          const v1 = x0r[j + 1] * sl + Bv[lo + j + 1] + xr[j + 1];
          const v2 = x0r[j + 2] * sl + Bv[lo + j + 2] + xr[j + 2];
          const v3 = x0r[j + 3] * sl + Bv[lo + j + 3] + xr[j + 3];
          xr[j] = v0; xr[j + 1] = v1; xr[j + 2] = v2; xr[j + 3] = v3;
          a0 += v0 * W[no + j]; a1 += v1 * W[no + j + 1]; a2 += v2 * W[no + j + 2]; a3 += v3 * W[no + j + 3];
        }
        for (; j < D; j++) {
          const v = x0r[j] * sl + Bv[lo + j] + xr[j];
          xr[j] = v;
          a0 += v * W[no + j];
        }
        sl = (a0 + a1) + (a2 + a3);
      } else {
        for (let j = 0; j < D; j++) o[base + j] = x0r[j] * sl + Bv[lo + j] + xr[j];
      }
    }
  }
  return { out: new NDArray(o, [B, D]), s };
}

export interface CrossStackGrads {
  x0: Storage | null;
  w: Storage | null;
  b: Storage | null;
}

/**
 * Backward of the stack for upstream g ([B, D]). Per row, layers are swept in reverse with
 * g_cur = ∂loss/∂x_{l+1}: gs = g_cur·x0, gx0 += g_cur·s_l, gw_l += gs·x_l, gb_l += g_cur,
 * g_cur ← g_cur + gs·w_l; at the end gx0 += g_cur (x_0 is x0). x_l is rebuilt only when gw is
 * wanted. gw and gb are summed over rows in float64 and rounded once at the end.
 */
export function crossStackBackward(
  g: NDArray, x0: NDArray, w: Storage, b: Storage, s: Float64Array, L: number,
  need: { x0: boolean; w: boolean; b: boolean },
): CrossStackGrads {
  const [B, D] = g.shape;
  const G = g.data, X0 = x0.data;
  const dtype = g.dtype;
  const W = toF64(w), Bv = toF64(b);
  const gx0 = need.x0 ? allocate(dtype, B * D) : null;
  const gw = need.w ? new Float64Array(L * D) : null;
  const gb = need.b ? new Float64Array(L * D) : null;
  const x0r = new Float64Array(D);
  const gc = new Float64Array(D);
  const gx = new Float64Array(D);
  // xs holds x_0..x_{L-1} of the current row (x_0 = x0r is copied in as layer 0).
  const xs = gw ? new Float64Array(L * D) : null;
  for (let r = 0; r < B; r++) {
    const base = r * D;
    const sr = r * L;
    for (let j = 0; j < D; j++) { x0r[j] = X0[base + j]; gc[j] = G[base + j]; gx[j] = 0; }
    if (xs) {
      for (let j = 0; j < D; j++) xs[j] = x0r[j];
      for (let l = 0; l + 1 < L; l++) {
        const sl = s[sr + l], lo = l * D, no = lo + D;
        for (let j = 0; j < D; j++) xs[no + j] = x0r[j] * sl + Bv[lo + j] + xs[lo + j];
      }
    }
    let gs = dot(gc, 0, x0r, 0, D);
    for (let l = L - 1; l >= 0; l--) {
      const sl = s[sr + l], lo = l * D;
      if (gw) {
        for (let j = 0; j < D; j++) gw[lo + j] += gs * xs![lo + j];
      }
      if (gb) {
        for (let j = 0; j < D; j++) gb[lo + j] += gc[j];
      }
      if (l === 0 && !gx0) break;
      // gx0 takes g_cur·s_l; g_cur moves down a layer, and the next gs is summed in the same pass.
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
      let j = 0;
      for (; j + 3 < D; j += 4) {
        const c0 = gc[j], c1 = gc[j + 1], c2 = gc[j + 2], c3 = gc[j + 3];
        gx[j] += c0 * sl; gx[j + 1] += c1 * sl; gx[j + 2] += c2 * sl; gx[j + 3] += c3 * sl;
        const n0 = c0 + gs * W[lo + j], n1 = c1 + gs * W[lo + j + 1];
        const n2 = c2 + gs * W[lo + j + 2], n3 = c3 + gs * W[lo + j + 3];
        gc[j] = n0; gc[j + 1] = n1; gc[j + 2] = n2; gc[j + 3] = n3;
        a0 += n0 * x0r[j]; a1 += n1 * x0r[j + 1]; a2 += n2 * x0r[j + 2]; a3 += n3 * x0r[j + 3];
      }
      for (; j < D; j++) {
        const c = gc[j];
        gx[j] += c * sl;
        const n = c + gs * W[lo + j];
        gc[j] = n;
        a0 += n * x0r[j];
      }
      gs = (a0 + a1) + (a2 + a3);
    }
    if (gx0) for (let j = 0; j < D; j++) gx0[base + j] = gx[j] + gc[j];
  }
  const round = (a: Float64Array | null): Storage | null => {
    if (!a || dtype === 'float64') return a;
    const out = allocate(dtype, a.length);
    out.set(a);
    return out;
  };
  return { x0: gx0, w: round(gw), b: round(gb) };
}
