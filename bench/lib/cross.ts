import { crossLayer, matmul, nn, noGrad, tensor, type Storage, type Tensor } from '../../src/index.js';
import type { CrossData } from './data.js';

/*
 * The ways to compute L stacked cross layers x_{l+1} = x0 ⊙ (x_l·w_l) + b_l + x_l on our engine.
 * All take the same parameters and give the same values and gradients:
 * - fused: nn.CrossNet (vector), i.e. the whole stack as the one op `crossNetVector`, as users call it;
 * - fused-layer: the single-layer fused op `crossLayer`, applied L times;
 * - composed: generic autograd ops (matmul, broadcast mul, add) per layer;
 * - naive: the [B, D, D] outer product x0·x_lᵀ per layer, then times w_l.
 */

export type CrossVariant = 'fused' | 'fused-layer' | 'composed' | 'naive';
export const CROSS_VARIANTS: readonly CrossVariant[] = ['fused', 'fused-layer', 'composed', 'naive'];

type Layer = (x0: Tensor, xl: Tensor, w: Tensor, b: Tensor) => Tensor;

const layers: Record<Exclude<CrossVariant, 'fused'>, Layer> = {
  'fused-layer': (x0, xl, w, b) => crossLayer(x0, xl, w, b),
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
  /** Inference: the L layers under noGrad. */
  forward(): Tensor;
  /** The L layers recorded, then backward with the fixed upstream gradient; leaves get fresh grads. */
  forwardBackward(): Tensor;
  /** After forwardBackward: the gradients of x0, w_0..w_{L-1}, b_0..b_{L-1}, each flat. */
  grads(): Storage[];
}

export function ourCross(d: CrossData, variant: CrossVariant): OurCross {
  const { B, D, L } = d;
  const x0 = tensor(d.x0, { shape: [B, D], requiresGrad: true });
  const g = tensor(d.g, { shape: [B, D] });
  let run: () => Tensor;
  let params: Tensor[];
  let grads: () => Storage[];
  if (variant === 'fused') {
    const net = new nn.CrossNet(D, { layerNum: L });
    d.ws.forEach((w, l) => net.kernels.data.set(w, l * D));
    d.bs.forEach((b, l) => net.bias.data.set(b, l * D));
    run = () => net.forward(x0);
    params = [x0, net.kernels, net.bias];
    const layer = (t: Tensor, l: number): Storage => t.grad!.data.subarray(l * D, (l + 1) * D);
    grads = () => [x0.grad!.data, ...d.ws.map((_, l) => layer(net.kernels, l)), ...d.bs.map((_, l) => layer(net.bias, l))];
  } else {
    const ws = d.ws.map((w) => tensor(w, { shape: [D, 1], requiresGrad: true }));
    const bs = d.bs.map((b) => tensor(b, { shape: [D], requiresGrad: true }));
    const layer = layers[variant];
    run = () => {
      let x = x0;
      for (let l = 0; l < L; l++) x = layer(x0, x, ws[l], bs[l]);
      return x;
    };
    params = [x0, ...ws, ...bs];
    grads = () => params.map((p) => p.grad!.data);
  }
  return {
    forward: () => noGrad(run),
    forwardBackward: () => {
      for (const p of params) p.grad = null;
      const out = run();
      out.backward(g);
      return out;
    },
    grads,
  };
}
