import type { NDArray, RowSparse } from '../tensor/index.js';

/** What an op's forward and backward share: which inputs need gradients, and what was saved. */
export interface OpContext<S> {
  readonly opName: string;
  /** needsInputGrad[i] is true when input i (transitively) requires a gradient. */
  readonly needsInputGrad: readonly boolean[];
  /** Whether this call is being recorded; when false, forward may skip saving anything. */
  readonly recording: boolean;
  /** Whatever forward keeps for backward (PyTorch's save_for_backward); dropped after backward. */
  saved: S;
}

/**
 * An op's forward (a kernel call over NDArrays) and its backward rule side by side.
 * backward returns one gradient per input, of the input's shape or of any shape that broadcasts
 * to the output: the engine sums broadcast gradients back to the input's shape in one place.
 * Entries for inputs that need no gradient may be null. A RowSparse gradient (a row lookup's) is
 * kept sparse when it reaches a leaf, and densified when it reaches anything else.
 */
export interface OpSpec<A, S> {
  readonly name: string;
  forward(ctx: OpContext<S>, inputs: readonly NDArray[], attrs: A): NDArray;
  backward(ctx: OpContext<S>, grad: NDArray, inputs: readonly NDArray[], attrs: A): ReadonlyArray<NDArray | RowSparse | null | undefined>;
}

/**
 * A recorded application of an op: the graph node behind a non-leaf tensor. Generic in the tensor
 * type so that this file need not import tensor.ts, which imports it (no import circle).
 */
export interface GraphNode<T = unknown> {
  readonly spec: OpSpec<any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  readonly ctx: OpContext<unknown> & { saved: unknown };
  readonly inputs: readonly T[];
  /** Each input's version when the op ran; backward checks that none has changed since. */
  readonly versions: readonly number[];
  readonly attrs: unknown;
  released: boolean;
}
