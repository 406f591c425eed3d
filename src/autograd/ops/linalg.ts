import {
  NDArray, crossBackward, crossForward, crossStackBackward, crossStackForward, formatShape, matmulArray, shapesEqual,
  type Storage,
} from '../../tensor/index.js';
import { defineOp } from '../function.js';
import type { Tensor } from '../tensor.js';

export interface MatmulFlags {
  transA?: boolean;
  transB?: boolean;
}

/*
 * For C = op(A)·op(B) the gradients are again products of G with the operands, so backward runs
 * the same kernel with transpose flags and never materialises a transposed copy.
 */
const matmulOp = defineOp<Required<MatmulFlags>>({
  name: 'matmul',
  forward: (_c, [a, b], flags) => matmulArray(a, b, flags, 'matmul'),
  backward: (c, g, [a, b], { transA, transB }) => [
    c.needsInputGrad[0]
      ? transA
        ? matmulArray(b, g, { transA: transB, transB: true })
        : matmulArray(g, b, { transA: false, transB: !transB })
      : null,
    c.needsInputGrad[1]
      ? transB
        ? matmulArray(g, a, { transA: true, transB: transA })
        : matmulArray(a, g, { transA: !transA, transB: false })
      : null,
  ],
});

/**
 * Matrix product of 2-D or batched 3-D tensors (a 2-D operand is shared across the batch), with
 * optional transpose flags: matmul(a, b, { transB: true }) is a·bᵀ without copying b.
 */
export function matmul(a: Tensor, b: Tensor, flags: MatmulFlags = {}): Tensor {
  return matmulOp([a, b], { transA: flags.transA ?? false, transB: flags.transB ?? false });
}

const crossOp = defineOp<undefined, Storage>({
  name: 'crossLayer',
  forward: (c, [x0, xl, w, b]) => {
    const { out, s } = crossForward(x0, xl, w.data, b.data);
    if (c.recording) c.saved = s;
    return out;
  },
  backward: (c, g, [x0, xl, w, b]) => {
    const [n0, nl, nw, nb] = c.needsInputGrad;
    const r = crossBackward(g, x0, xl, w.data, c.saved, { x0: n0, xl: nl, w: nw, b: nb });
    return [
      r.x0 && new NDArray(r.x0, x0.shape),
      r.xl && new NDArray(r.xl, xl.shape),
      r.w && new NDArray(r.w, w.shape),
      r.b && new NDArray(r.b, b.shape),
    ];
  },
});

/**
 * The DCN cross layer as one fused op: x0 ⊙ (xl·w) + b + xl, with x0, xl: [B, D], w and b: [D]
 * or [D, 1]. Time and memory are O(B·D) in both directions.
 */
export function crossLayer(x0: Tensor, xl: Tensor, w: Tensor, b: Tensor): Tensor {
  if (x0.ndim !== 2 || !shapesEqual(x0.shape, xl.shape)) {
    throw new Error(`crossLayer: x0 and xl must both be [B, D], got ${formatShape(x0.shape)} and ${formatShape(xl.shape)}`);
  }
  const D = x0.shape[1];
  const vec = (t: Tensor): boolean => (t.ndim === 1 && t.shape[0] === D) || (t.ndim === 2 && t.shape[0] === D && t.shape[1] === 1);
  if (!vec(w) || !vec(b)) {
    throw new Error(`crossLayer: w and b must be [${D}] or [${D},1] for x0 ${formatShape(x0.shape)}, got w ${formatShape(w.shape)} and b ${formatShape(b.shape)}`);
  }
  return crossOp([x0, xl, w, b], undefined);
}

const crossNetVectorOp = defineOp<undefined, Float64Array>({
  name: 'crossNetVector',
  forward: (c, [x0, w, b]) => {
    const { out, p } = crossStackForward(x0, w.data, b.data, w.shape[0]);
    if (c.recording) c.saved = p;
    return out;
  },
  backward: (c, g, [x0, w, b]) => {
    const [n0, nw, nb] = c.needsInputGrad;
    const r = crossStackBackward(g, x0, w.data, b.data, c.saved, w.shape[0], { x0: n0, w: nw, b: nb });
    return [
      r.x0 && new NDArray(r.x0, x0.shape),
      r.w && new NDArray(r.w, w.shape),
      r.b && new NDArray(r.b, b.shape),
    ];
  },
});

/**
 * The whole vector-parameterised cross network (DCN) as one fused op: L layers
 * x_{l+1} = x0 ⊙ (x_l·w_l) + b_l + x_l from x_0 = x0, returning x_L. x0: [B, D]; kernels and bias:
 * [L, D, 1] (DeepCTR-Torch's layout) or [L, D]. Since x_l = c_l·x0 + Σ_{k<l} b_k with per-row
 * scalars c_l, forward streams x0 in and x_L out once and backward g, x0 in and gx0 out once;
 * memory is O(B·D + B·L): no per-layer [B, D] intermediate is kept, nothing D×D ever exists.
 * Same values and gradients as L `crossLayer` calls (up to rounding).
 */
export function crossNetVector(x0: Tensor, kernels: Tensor, bias: Tensor): Tensor {
  if (x0.ndim !== 2) throw new Error(`crossNetVector: x0 must be [B, D], got ${formatShape(x0.shape)}`);
  const D = x0.shape[1];
  const L = kernels.shape[0];
  const stacked = (t: Tensor): boolean =>
    (t.ndim === 2 || (t.ndim === 3 && t.shape[2] === 1)) && t.shape[0] === L && t.shape[1] === D;
  if (kernels.ndim < 2 || L < 1 || !stacked(kernels) || !stacked(bias)) {
    throw new Error(`crossNetVector: kernels and bias must be [L, ${D}, 1] or [L, ${D}] with the same L ≥ 1 for x0 ${formatShape(x0.shape)}, got kernels ${formatShape(kernels.shape)} and bias ${formatShape(bias.shape)}`);
  }
  return crossNetVectorOp([x0, kernels, bias], undefined);
}
