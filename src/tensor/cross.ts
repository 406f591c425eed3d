import { allocate, type Storage } from './dtype.js';
import { NDArray } from './ndarray.js';
import { KERNELS, onWasm } from './dispatch.js';
import { wasmCrossBackward, wasmCrossForward } from './wasm/runtime.js';

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
 * The whole vector cross network, x_{l+1} = x0 ⊙ (x_l·w_l) + b_l + x_l for l < L from x_0 = x0, as
 * one kernel. Each layer adds a multiple of x0 and a bias, so by induction
 *   x_l = c_l·x0 + β_l,   c_0 = 1,  c_{l+1} = c_l + s_l,  β_l = b_0 + … + b_{l-1},
 * with per-row scalars s_l = x_l·w_l = c_l·p_l + q_l, where p_l = x0·w_l and q_l = β_l·w_l is the
 * same for every row. A row therefore needs its L dots with x0 and one output pass, whatever L is,
 * and x_1..x_{L-1} are never formed, not even as a scratch row. Backward runs the scalar recursion
 * in reverse per row and touches D-vectors only for gx0 = c_L·g + Σ_l gp_l·w_l and gw_l += gp_l·x0;
 * gb is a column sum of g plus rank-one terms. Main memory sees x0 read and out written once
 * forward; g and x0 read and gx0 written once backward. Memory: O(B·D + B·L + L·D).
 * w and b are [L, D] row-major (as kernels and bias [L, D, 1] store them).
 */

/**
 * From this many elements of x0 (B·D) the stack runs on the WebAssembly backend (float32). Below,
 * copying into WebAssembly memory costs more than it saves: fwd+bwd at L = 2, min of 30 side by
 * side on this (loaded) 2-core EPYC, JavaScript ÷ WebAssembly time: B·D = 8 0.71, 64 0.80,
 * 256 1.02, 1024 1.64, 2048 2.06, 8192 2.97.
 */
export const CROSS_WASM_MIN = KERNELS.crossStack.minWork;

/** w and b in float64 once per call, so the per-row loops read one parameter array type. */
function toF64(a: Storage): Float64Array {
  return a instanceof Float64Array ? a : Float64Array.from(a);
}

/** Σ_j a[ao + j]·w[wo + j], four partial sums (a is the dtype's storage, w float64). */
function dotW(a: Storage, ao: number, w: Float64Array, wo: number, n: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let j = 0;
  for (; j + 3 < n; j += 4) {
    s0 += a[ao + j] * w[wo + j];
    s1 += a[ao + j + 1] * w[wo + j + 1];
    s2 += a[ao + j + 2] * w[wo + j + 2];
    s3 += a[ao + j + 3] * w[wo + j + 3];
  }
  for (; j < n; j++) s0 += a[ao + j] * w[wo + j];
  return (s0 + s1) + (s2 + s3);
}

/** What every row shares: β_l = Σ_{k<l} b_k for l ≤ L ([L+1, D]) and q_l = β_l·w_l ([L]). */
function stackConstants(W: Float64Array, Bv: Float64Array, L: number, D: number): { beta: Float64Array; q: Float64Array } {
  const beta = new Float64Array((L + 1) * D);
  const q = new Float64Array(L);
  for (let l = 0; l < L; l++) {
    const lo = l * D;
    // A plain loop, not dotW: dotW stays monomorphic in the dtype's storage on the hot path.
    let ql = 0;
    for (let j = 0; j < D; j++) ql += beta[lo + j] * W[lo + j];
    q[l] = ql;
    for (let j = 0; j < D; j++) beta[lo + D + j] = beta[lo + j] + Bv[lo + j];
  }
  return { beta, q };
}

/** Forward of the L-layer stack. Also returns p ([B, L], p[r·L + l] = x0[r]·w_l) for backward. */
export function crossStackForward(x0: NDArray, w: Storage, b: Storage, L: number): { out: NDArray; p: Float64Array } {
  const [B, D] = x0.shape;
  const X0 = x0.data;
  const W = toF64(w);
  const { beta, q } = stackConstants(W, toF64(b), L, D);
  const bL = L * D;
  const o = allocate(x0.dtype, B * D);
  const p = new Float64Array(B * L);
  // float32 on the WebAssembly backend: the same recursion, the dots and the output pass in f32x4.
  if (onWasm('crossStack', B * D, X0)) {
    const w32 = w instanceof Float32Array ? w : Float32Array.from(w);
    if (wasmCrossForward(B, D, L, X0 as Float32Array, w32, q, Float32Array.from(beta.subarray(bL, bL + D)), o as Float32Array, p)) {
      return { out: new NDArray(o, [B, D]), p };
    }
  }
  for (let r = 0; r < B; r++) {
    const base = r * D;
    // The dots p_l do not depend on c, so two layers share a pass: x0 is loaded once for both,
    // and the four running sums are independent chains.
    let c = 1;
    let l = 0;
    for (; l + 1 < L; l += 2) {
      const lo = l * D, no = lo + D;
      let a0 = 0, a1 = 0, b0 = 0, b1 = 0;
      let j = 0;
      for (; j + 1 < D; j += 2) {
        const u = X0[base + j], v = X0[base + j + 1];
        a0 += u * W[lo + j]; a1 += v * W[lo + j + 1];
        b0 += u * W[no + j]; b1 += v * W[no + j + 1];
      }
      if (j < D) { const u = X0[base + j]; a0 += u * W[lo + j]; b0 += u * W[no + j]; }
      const pa = a0 + a1, pb = b0 + b1;
      p[r * L + l] = pa;
      p[r * L + l + 1] = pb;
      c += c * pa + q[l];
      c += c * pb + q[l + 1];
    }
    if (l < L) {
      const pl = dotW(X0, base, W, l * D, D);
      p[r * L + l] = pl;
      c += c * pl + q[l];
    }
    for (let j = 0; j < D; j++) o[base + j] = X0[base + j] * c + beta[bL + j];
  }
  return { out: new NDArray(o, [B, D]), p };
}

export interface CrossStackGrads {
  x0: Storage | null;
  w: Storage | null;
  b: Storage | null;
}

/**
 * Backward of the stack for upstream g ([B, D]), from forward's p. Per row: gc_L = g·x0, then for
 * l = L-1..0 (gs_l = gc_{l+1}): gp_l = gs_l·c_l, Q_l += gs_l, gc_l = gc_{l+1}·(1 + p_l). After all
 * rows: gw_l += Q_l·β_l and gb_m = Σ_rows g + Σ_{m<k<L} Q_k·w_k. Only the requested gradients are
 * formed; gw and gb are summed in float64 and rounded once.
 */
export function crossStackBackward(
  g: NDArray, x0: NDArray, w: Storage, b: Storage, p: Float64Array, L: number,
  need: { x0: boolean; w: boolean; b: boolean },
): CrossStackGrads {
  const [B, D] = g.shape;
  const G = g.data, X0 = x0.data;
  const dtype = g.dtype;
  const W = toF64(w);
  const { beta, q } = stackConstants(W, toF64(b), L, D);
  const gx0 = need.x0 ? allocate(dtype, B * D) : null;
  const gw = need.w ? new Float64Array(L * D) : null;
  const colG = need.b ? new Float64Array(D) : null;
  const gxr = new Float64Array(D);
  const c = new Float64Array(L + 1);
  const gp = new Float64Array(L);
  const Q = new Float64Array(L);
  // float32 on the WebAssembly backend: the per-row work in f32x4 (gw and colG summed over rows
  // in float32 there), the O(L·D) tail below in float64 as here.
  const ranWasm = onWasm('crossStack', B * D, X0, G)
    && wasmCrossBackward(B, D, L, G as Float32Array, X0 as Float32Array, w instanceof Float32Array ? w : Float32Array.from(w), p, q, gx0 as Float32Array | null, gw, colG, Q);
  if (!ranWasm) for (let r = 0; r < B; r++) {
    const base = r * D, pr = r * L;
    // c_0..c_L exactly as forward computed them.
    let cc = 1;
    for (let l = 0; l < L; l++) { c[l] = cc; cc += cc * p[pr + l] + q[l]; }
    c[L] = cc;
    // One pass over g and x0: gc_L = g·x0, the column sum for gb, and gx0's c_L·g term.
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    let j = 0;
    if (colG || gx0) {
      for (; j + 3 < D; j += 4) {
        const i = base + j;
        const g0 = G[i], g1 = G[i + 1], g2 = G[i + 2], g3 = G[i + 3];
        s0 += g0 * X0[i]; s1 += g1 * X0[i + 1]; s2 += g2 * X0[i + 2]; s3 += g3 * X0[i + 3];
        gxr[j] = g0 * cc; gxr[j + 1] = g1 * cc; gxr[j + 2] = g2 * cc; gxr[j + 3] = g3 * cc;
        if (colG) { colG[j] += g0; colG[j + 1] += g1; colG[j + 2] += g2; colG[j + 3] += g3; }
      }
      for (; j < D; j++) {
        const gj = G[base + j];
        s0 += gj * X0[base + j];
        gxr[j] = gj * cc;
        if (colG) colG[j] += gj;
      }
    } else {
      s0 = dot(G, base, X0, base, D);
    }
    let gc = (s0 + s1) + (s2 + s3);
    for (let l = L - 1; l >= 0; l--) {
      gp[l] = gc * c[l];
      Q[l] += gc;
      gc += gc * p[pr + l];
    }
    // gx0 = c_L·g + Σ_l gp_l·w_l and gw_l += gp_l·x0, over rows already in cache.
    if (gx0 && gw) {
      // The training case: two layers per pass, so x0 and gxr are loaded once for both, and the
      // last pass stores gx0 itself.
      let l = 0;
      for (; l + 1 < L; l += 2) {
        const ga = gp[l], gb2 = gp[l + 1], lo = l * D, no = lo + D;
        if (l + 2 === L) {
          for (let k = 0; k < D; k++) {
            const x = X0[base + k];
            gx0[base + k] = gxr[k] + (ga * W[lo + k] + gb2 * W[no + k]);
            gw[lo + k] += ga * x;
            gw[no + k] += gb2 * x;
          }
        } else {
          for (let k = 0; k < D; k++) {
            const x = X0[base + k];
            gxr[k] += ga * W[lo + k] + gb2 * W[no + k];
            gw[lo + k] += ga * x;
            gw[no + k] += gb2 * x;
          }
        }
      }
      if (l < L) {
        const gpl = gp[l], lo = l * D;
        for (let k = 0; k < D; k++) { gx0[base + k] = gxr[k] + gpl * W[lo + k]; gw[lo + k] += gpl * X0[base + k]; }
      }
      if (L === 0) for (let k = 0; k < D; k++) gx0[base + k] = gxr[k]; // x_0 = x0: gx0 = g
    } else {
      for (let l = 0; l < L; l++) {
        const gpl = gp[l], lo = l * D;
        if (gx0) {
          for (let k = 0; k < D; k++) gxr[k] += gpl * W[lo + k];
        } else if (gw) {
          for (let k = 0; k < D; k++) gw[lo + k] += gpl * X0[base + k];
        }
      }
      if (gx0) for (let k = 0; k < D; k++) gx0[base + k] = gxr[k];
    }
  }
  if (gw) {
    for (let l = 0; l < L; l++) {
      const Ql = Q[l], lo = l * D;
      for (let k = 0; k < D; k++) gw[lo + k] += Ql * beta[lo + k];
    }
  }
  let gb: Float64Array | null = null;
  if (colG) {
    // gb_m = colG + Σ_{k>m} Q_k·w_k, summed from the top layer down.
    gb = new Float64Array(L * D);
    for (let m = L - 1; m >= 0; m--) {
      const mo = m * D;
      for (let k = 0; k < D; k++) gb[mo + k] = colG[k];
      const Qm = Q[m];
      for (let k = 0; k < D; k++) colG[k] += Qm * W[mo + k];
    }
  }
  const round = (a: Float64Array | null): Storage | null => {
    if (!a || dtype === 'float64') return a;
    const out = allocate(dtype, a.length);
    out.set(a);
    return out;
  };
  return { x0: gx0, w: round(gw), b: round(gb) };
}
