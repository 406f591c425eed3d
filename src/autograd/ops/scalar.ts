import { NDArray } from '../../tensor/index.js';
import { Tensor, type TensorLike } from '../tensor.js';

/** Turns a plain number into a 0-d tensor of the other operand's dtype. */
export function lift(x: TensorLike, like: Tensor | undefined): Tensor {
  if (x instanceof Tensor) return x;
  if (typeof x !== 'number') throw new TypeError(`expected a Tensor or a number, got ${typeof x}`);
  const data = like?.dtype === 'float64' ? new Float64Array([x]) : new Float32Array([x]);
  return new Tensor(data, []);
}

/** Both operands as tensors, numbers taking the dtype of the tensor operand. */
export function liftPair(a: TensorLike, b: TensorLike): [Tensor, Tensor] {
  const like = a instanceof Tensor ? a : b instanceof Tensor ? b : undefined;
  return [lift(a, like), lift(b, like)];
}

export function scalarLike(v: number, like: NDArray): NDArray {
  return new NDArray(like.dtype === 'float64' ? new Float64Array([v]) : new Float32Array([v]), []);
}
