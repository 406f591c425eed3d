import { crossLayer, matmul, noGrad, tensor, type Tensor } from '../../src/index.js';
import type { CrossData } from './data.js';

/*
 * The three ways to compute L stacked cross layers x_{l+1} = x0 ⊙ (x_l·w_l) + b_l + x_l on our
 * engine. All three take the same parameters and give the same values and gradients.
 */

export type CrossVariant = 'fused' | 'composed' | 'naive';

type Layer = (x0: Tensor, xl: Tensor, w: Tensor, b: Tensor) => Tensor;

const layers: Record<CrossVariant, Layer> = {
  // The fused op, as a user calls it.
  fused: (x0, xl, w, b) => crossLayer(x0, xl, w, b),
  // Generic ops: s = xl·w by matmul ([B, 1]), then broadcast mul and adds.
  composed: (x0, xl, w, b) => x0.mul(matmul(xl, w)).add(b).add(xl),
  // The textbook form: the [B, D, D] outer product x0·x_lᵀ, then times w_l.
  naive: (x0, xl, w, b) => {
    const [B, D] = x0.shape;
    const outer = matmul(x0.reshape([B, D, 1]), xl.reshape([B, 1, D]));
    return matmul(outer, w).reshape([B, D]).add(b).add(xl);
  },
};

export interface OurCross {
  x0: Tensor;
  ws: Tensor[];
  bs: Tensor[];
  /** Inference: L layers under noGrad. */
  forward(): Tensor;
  /** L layers recorded, then backward with the fixed upstream gradient; leaves get fresh grads. */
  forwardBackward(): Tensor;
}

export function ourCross(d: CrossData, variant: CrossVariant): OurCross {
  const { B, D } = d;
  const x0 = tensor(d.x0, { shape: [B, D], requiresGrad: true });
  const ws = d.ws.map((w) => tensor(w, { shape: [D, 1], requiresGrad: true }));
  const bs = d.bs.map((b) => tensor(b, { shape: [D], requiresGrad: true }));
  const g = tensor(d.g, { shape: [B, D] });
  const layer = layers[variant];
  const run = (): Tensor => {
    let x = x0;
    for (let l = 0; l < d.L; l++) x = layer(x0, x, ws[l], bs[l]);
    return x;
  };
  const params = [x0, ...ws, ...bs];
  return {
    x0, ws, bs,
    forward: () => noGrad(run),
    forwardBackward: () => {
      for (const p of params) p.grad = null;
      const out = run();
      out.backward(g);
      return out;
    },
  };
}
