import {
  NDArray, addRowInPlace, allocate, allocateFloat32Persistent, reduce, crossBackward, crossForward, crossStackBackward, crossStackForward, formatShape, matmulArray, shapesEqual,
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

interface LinearConcatAttrs {
  /** Output width of each Linear, in order. */
  widths: readonly number[];
  /** Whether inputs carry a bias per Linear after the weights. */
  bias: boolean;
}

/**
 * Packed weights of a call that records nothing (inference), kept per first weight tensor until
 * a weight changes: through its version counter (optimizer steps, loadStateDict, nn.init) or its
 * storage. A direct write into a weight's `.data` is not seen, as PyTorch's `.data` writes are not.
 */
interface PackedCache {
  parts: NDArray[];
  versions: number[];
  data: Storage[];
  /** [ΣO, F], or [F, ΣO] when transposed (the weights). */
  packed: NDArray;
  transposed: boolean;
}
const packedCache = new WeakMap<NDArray, PackedCache>();

const versionOf = (p: NDArray): number => (p as Tensor)._version ?? 0;

/**
 * The weights [O_i, F] of one linearConcat call packed row after row into one [ΣO_i, F] array:
 * fresh storage when `recording` (backward may multiply by it, and weights change every training
 * step), else a cached copy reused while the weights are unchanged, which with `transposed` is
 * laid out [F, ΣO_i]: the product then reads it in place, where [ΣO_i, F] (xWᵀ) would be packed
 * again on every call (a third of a one-row predict). Each output element is summed over F in the
 * same order either way, so both layouts give the same bits.
 */
function packRows(parts: readonly NDArray[], rows: number, F: number, recording: boolean, transposed = false): NDArray {
  const shape = transposed ? [F, rows] : [rows, F];
  if (!recording && parts[0].dtype === 'float32') {
    const hit = packedCache.get(parts[0]);
    if (hit !== undefined && hit.parts.length === parts.length && hit.transposed === transposed
      && parts.every((p, i) => p === hit.parts[i] && p.data === hit.data[i] && versionOf(p) === hit.versions[i])) {
      return hit.packed;
    }
    // A stale entry's storage is refilled rather than replaced: a dropped one would wait for a
    // finalizer, which a synchronous training loop (weights change every epoch) never lets run.
    const reuse = hit !== undefined && hit.packed.shape[0] === shape[0] && hit.packed.shape[1] === shape[1] ? hit.packed : null;
    const packed = fill(reuse ?? new NDArray(allocateFloat32Persistent(rows * F, false), shape), parts, transposed);
    packedCache.set(parts[0], { parts: parts.slice(), versions: parts.map(versionOf), data: parts.map((p) => p.data), packed, transposed });
    return packed;
  }
  return fill(new NDArray(allocate(parts[0].dtype, rows * F), shape), parts, transposed);
}

function fill(w: NDArray, parts: readonly NDArray[], transposed: boolean): NDArray {
  let off = 0;
  if (!transposed) {
    for (const p of parts) {
      w.data.set(p.data, off);
      off += p.size;
    }
    return w;
  }
  // [O_i, F] parts side by side as the columns of [F, ΣO_i].
  const [F, total] = w.shape;
  const out = w.data;
  for (const p of parts) {
    const O = p.shape[0], d = p.data;
    for (let o = 0; o < O; o++) for (let f = 0; f < F; f++) out[f * total + off + o] = d[o * F + f];
    off += O;
  }
  return w;
}

/**
 * A [ΣO_i, …] gradient array split back into one view per part (O_i rows each, shaped like
 * `parts[i]`), without copying; null where that part needs no gradient.
 */
function splitRows(g: NDArray, parts: readonly NDArray[], need: readonly boolean[]): Array<NDArray | null> {
  const out: Array<NDArray | null> = [];
  let off = 0;
  for (let i = 0; i < parts.length; i++) {
    const n = parts[i].size;
    out.push(need[i] ? new NDArray(g.data.subarray(off, off + n), parts[i].shape) : null);
    off += n;
  }
  return out;
}

/*
 * Several Linear layers over the same input as one product: y = x·[W_0; …; W_{n-1}]ᵀ (+ [b_0, …]),
 * the outputs side by side along the last axis. The weights stay separate tensors (each layer keeps
 * its parameters and names); forward packs them into one [ΣO, F] operand (ΣO·F copies against
 * B·ΣO·F multiply-adds), backward computes one weight gradient gᵀ·x and hands each layer its rows
 * of it as a view. Each output element is the same dot product, in the same order, as a separate
 * Linear would compute, so the values match n separate calls.
 */
const linearConcatOp = defineOp<LinearConcatAttrs, NDArray | null>({
  name: 'linearConcat',
  forward: (c, inputs, { widths, bias }) => {
    const n = widths.length;
    const x = inputs[0];
    const F = x.shape[1];
    let total = 0;
    for (const w of widths) total += w;
    const keep = c.recording && c.needsInputGrad[0];
    // Inference reuses packed weights while they are unchanged; a recorded call (training: the
    // weights change every step) packs afresh into step-scoped storage.
    const transposed = !c.recording;
    const W = packRows(inputs.slice(1, 1 + n), total, F, c.recording, transposed);
    const y = matmulArray(x, W, { transA: false, transB: !transposed }, 'linearConcat');
    if (bias) addRowInPlace(y, packRows(inputs.slice(1 + n), total, 1, c.recording).data);
    c.saved = keep ? W : null;
    return y;
  },
  backward: (c, g, inputs, { widths, bias }) => {
    const n = widths.length;
    const x = inputs[0];
    const need = c.needsInputGrad;
    const gx = need[0] && c.saved ? matmulArray(g, c.saved, { transA: false, transB: false }) : null;
    const needW = need.slice(1, 1 + n), needB = need.slice(1 + n);
    const gw = needW.some(Boolean)
      ? splitRows(matmulArray(g, x, { transA: true, transB: false }), inputs.slice(1, 1 + n), needW)
      : [];
    const gb = bias && needB.some(Boolean) ? splitRows(reduce('sum', g, 0), inputs.slice(1 + n), needB) : [];
    // Missing entries (parts needing no gradient) read as null.
    const out: Array<NDArray | null> = new Array<NDArray | null>(inputs.length).fill(null);
    out[0] = gx;
    gw.forEach((v, i) => (out[1 + i] = v));
    gb.forEach((v, i) => (out[1 + n + i] = v));
    return out;
  },
});

/**
 * x [B, F] through n Linear layers at once: weights[i] [O_i, F] (PyTorch's [out, in]), biases
 * (none, or one [O_i] per weight); returns [B, ΣO_i], layer i's output in columns
 * O_0 + … + O_{i-1} onward. Equal to concat(x·W_iᵀ + b_i, 1), as one GEMM instead of n.
 */
export function linearConcat(x: Tensor, weights: readonly Tensor[], biases: readonly Tensor[] | null = null): Tensor {
  if (x.ndim !== 2) throw new Error(`linearConcat: x must be [B, F], got ${formatShape(x.shape)}`);
  if (weights.length === 0) throw new RangeError('linearConcat: needs at least one weight');
  const F = x.shape[1];
  const widths = weights.map((w, i) => {
    if (w.ndim !== 2 || w.shape[1] !== F) throw new Error(`linearConcat: weights[${i}] must be [out, ${F}] for x ${formatShape(x.shape)}, got ${formatShape(w.shape)}`);
    return w.shape[0];
  });
  if (biases !== null) {
    if (biases.length !== weights.length) throw new RangeError(`linearConcat: ${weights.length} weights need ${weights.length} biases, got ${biases.length}`);
    biases.forEach((b, i) => {
      if (b.ndim !== 1 || b.shape[0] !== widths[i]) throw new Error(`linearConcat: biases[${i}] must be [${widths[i]}] for weights[${i}] ${formatShape(weights[i].shape)}, got ${formatShape(b.shape)}`);
    });
  }
  return linearConcatOp([x, ...weights, ...(biases ?? [])], { widths, bias: biases !== null });
}
