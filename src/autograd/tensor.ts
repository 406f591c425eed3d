import { NDArray, RowSparse, addRowSparse, addRowSparseInto, checkDType, type DType, type Storage, type Shape, formatShape } from '../tensor/index.js';
import { formatTensor } from './format.js';
import type { GraphNode } from './graph.js';

/** Node's util.inspect hook, by its registered name: no `node:util` import, so browsers bundle this. */
const inspectCustom = Symbol.for('nodejs.util.inspect.custom');

export type NestedArray = number | NestedArray[];

/** Marks an in-place change of `t`'s values (a no-op for a plain NDArray, which has no graph). */
export function bumpVersion(t: NDArray): void {
  if (t instanceof Tensor) t._version++;
}

/**
 * The differentiable tensor: an NDArray (typed storage + shape) plus gradient bookkeeping.
 * Operations are attached as methods in `methods.ts`, so this file stays free of the op table and
 * the import graph stays acyclic.
 */
export class Tensor extends NDArray {
  /** True for leaves the user asked gradients for, and for every output recorded from them. */
  requiresGrad: boolean;
  private denseGrad: Tensor | null = null;
  /**
   * A row-sparse gradient not yet densified (sparse embeddings): optimizers read it here and update
   * only its rows. Reading `grad` turns it into the dense gradient, so code that knows nothing of
   * sparse gradients still sees the right values.
   */
  sparseGrad: RowSparse | null = null;
  /** The recorded operation that produced this tensor; null for leaves. */
  gradFn: GraphNode<Tensor> | null = null;
  /** Keep the gradient of a non-leaf after backward, like torch's retain_grad(). */
  retainsGrad = false;
  /**
   * PyTorch's version counter: bumped (bumpVersion) by every in-place change of the values (an
   * optimizer step, loadStateDict, nn.init). A graph node records its inputs' versions, and
   * backward refuses a node whose input changed since: its gradient would be of the new values.
   * Per tensor object: a view (reshape, detach) made before the change does not see it.
   */
  _version = 0;

  constructor(data: Storage, shape: Shape, requiresGrad = false) {
    super(data, shape);
    this.requiresGrad = requiresGrad;
  }

  static fromArray(a: NDArray, requiresGrad = false): Tensor {
    return a instanceof Tensor && !requiresGrad && a.gradFn === null && !a.requiresGrad
      ? a
      : new Tensor(a.data, a.shape, requiresGrad);
  }

  /** Accumulated gradient (leaves, and non-leaves that called retainGrad()); setting it drops a sparse one. */
  get grad(): Tensor | null {
    const s = this.sparseGrad;
    if (s !== null) {
      this.sparseGrad = null;
      if (this.denseGrad === null) this.denseGrad = new Tensor(s.toDense().data, this.shape);
      else addRowSparseInto(this.denseGrad.data, s);
    }
    return this.denseGrad;
  }

  set grad(g: Tensor | null) {
    this.denseGrad = g;
    this.sparseGrad = null;
  }

  /** Accumulates a row-sparse gradient: kept sparse unless a dense one is already there. */
  addSparseGrad(s: RowSparse): void {
    if (s.numRows * s.dim !== this.size) {
      throw new RangeError(`backward: a row-sparse gradient [${s.numRows},${s.dim}] for a tensor of shape ${formatShape(this.shape)}`);
    }
    if (this.denseGrad !== null) addRowSparseInto(this.denseGrad.data, s);
    else this.sparseGrad = this.sparseGrad === null ? s : addRowSparse(this.sparseGrad, s);
  }

  get isLeaf(): boolean {
    return this.gradFn === null;
  }

  /** Sets requiresGrad in place (leaves only) and returns this, like torch's requires_grad_(). */
  requiresGrad_(on = true): this {
    if (!this.isLeaf) throw new Error('requiresGrad_: only leaf tensors can change requiresGrad; use detach() first');
    this.requiresGrad = on;
    return this;
  }

  retainGrad(): this {
    this.retainsGrad = true;
    return this;
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new RangeError(`item: only one-element tensors can be converted to a number, got shape ${formatShape(this.shape)}`);
    return this.data[0];
  }

  /** The values as nested arrays (a number for a scalar). */
  toArray(): NestedArray {
    const d = this.data;
    const shape = this.shape;
    if (shape.length === 0) return d[0];
    const build = (axis: number, offset: number): NestedArray[] => {
      const n = shape[axis];
      const out: NestedArray[] = new Array(n);
      if (axis === shape.length - 1) {
        for (let i = 0; i < n; i++) out[i] = d[offset + i];
        return out;
      }
      let stride = 1;
      for (let i = axis + 1; i < shape.length; i++) stride *= shape[i];
      for (let i = 0; i < n; i++) out[i] = build(axis + 1, offset + i * stride);
      return out;
    };
    return build(0, 0);
  }

  /** A tensor sharing this one's storage, cut from the graph. */
  detach(): Tensor {
    return new Tensor(this.data, this.shape, false);
  }

  /** Zeroes (drops) the accumulated gradient. */
  zeroGrad(): void {
    this.grad = null;
  }

  /** The values, PyTorch-style (summarised past 1000 elements; see setPrintOptions). */
  override toString(): string {
    return formatTensor(this, { requiresGrad: this.requiresGrad, gradFn: this.gradFn?.spec.name ?? null });
  }

  /** console.log(t) in Node prints the same as toString(), not the object's internals. */
  [inspectCustom](): string {
    return this.toString();
  }

  get [Symbol.toStringTag](): string {
    return 'Tensor';
  }
}

export type TensorLike = Tensor | number;

/**
 * Replaces a tensor's storage with a copy in another dtype, keeping the object (modules use this
 * so that references to their parameters stay valid across `module.to(dtype)`).
 */
export function castStorage(t: Tensor, dtype: DType): void {
  if (checkDType('castStorage', dtype) === t.dtype) return;
  const data = dtype === 'float64' ? Float64Array.from(t.data) : Float32Array.from(t.data);
  (t as { data: Storage }).data = data;
}

export function isTensor(x: unknown): x is Tensor {
  return x instanceof Tensor;
}

export type { DType };
