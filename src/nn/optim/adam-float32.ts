import type { Storage } from '../../tensor/index.js';

/**
 * Adam on float32 storage over elements [i0, i1), the gradient read from gOff on: float32
 * arithmetic, every operation rounded to float32 as PyTorch's float32 Adam computes (and four
 * WebAssembly lanes per instruction instead of two). Math.fround after each operation on float32
 * values is exactly float32 arithmetic (a double holds a float32 sum, product, quotient or root
 * well enough that rounding it again to float32 gives the correctly rounded float32 result), so
 * this loop and the float32-lane kernel (wasm/optim-kernel.ts) agree bit for bit. The scalars,
 * 1 − β included, are computed in float64 and rounded once. decayed: the L2 / decoupled path
 * (θ ← θ·shrink first, g ← g + l2·θ).
 */
export function adamFloat32(
  theta: Float32Array, grad: Storage, gOff: number, m: Storage, v: Storage, vmax: Storage | null, i0: number, i1: number,
  b1: number, b2: number, decayed: boolean, shrink: number, l2: number, stepSize: number, bc2Sqrt: number, eps: number,
): void {
  const f = Math.fround;
  const fb1 = f(b1), fb2 = f(b2), c1 = f(1 - b1), c2 = f(1 - b2), fs = f(shrink), fl2 = f(l2);
  const ss = f(stepSize), bc = f(bc2Sqrt), e = f(eps);
  for (let i = i0, j = gOff; i < i1; i++, j++) {
    let g = grad[j];
    if (decayed) {
      theta[i] = f(theta[i] * fs);
      g = f(g + f(fl2 * theta[i]));
    }
    const vi = f(f(fb2 * v[i]) + f(f(c2 * g) * g));
    const mi = f(f(fb1 * m[i]) + f(c1 * g));
    m[i] = mi;
    v[i] = vi;
    let den = vi;
    if (vmax !== null) {
      if (vi > vmax[i]) vmax[i] = vi;
      den = vmax[i];
    }
    theta[i] = f(theta[i] - f(f(ss * mi) / f(f(f(Math.sqrt(den)) / bc) + e)));
  }
}
