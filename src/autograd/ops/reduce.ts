import {
  NDArray, binary, expandArray, keptShape, logSoftmaxArray, normalizeAxes, normalizeAxis, reduce,
  softmaxArray, softmaxBackward, logSoftmaxBackward, unary,
} from '../../tensor/index.js';
import { defineOp } from '../function.js';
import type { Tensor } from '../tensor.js';

type Axis = number | readonly number[] | undefined;
interface ReduceAttrs { axes: number[]; keepdim: boolean }

/** g of the reduced shape, broadcast back to the input's shape (and multiplied by `scale`, in place). */
function expandBack(g: NDArray, x: NDArray, axes: number[], scale = 1): NDArray {
  const out = expandArray(new NDArray(g.data, keptShape(x.shape, axes)), x.shape);
  if (scale !== 1) {
    const o = out.data;
    for (let i = 0; i < o.length; i++) o[i] *= scale;
  }
  return out;
}

function count(x: NDArray, axes: number[]): number {
  let n = 1;
  for (const a of axes) n *= x.shape[a];
  return n;
}

const sumOp = defineOp<ReduceAttrs>({
  name: 'sum',
  forward: (_c, [x], { axes, keepdim }) => reduce('sum', x, axes, keepdim),
  backward: (_c, g, [x], { axes }) => [expandBack(g, x, axes)],
});

const meanOp = defineOp<ReduceAttrs>({
  name: 'mean',
  forward: (_c, [x], { axes, keepdim }) => unary('scale', reduce('sum', x, axes, keepdim), 1 / count(x, axes)),
  backward: (_c, g, [x], { axes }) => [expandBack(g, x, axes, 1 / count(x, axes))],
});

const maxOp = defineOp<ReduceAttrs, NDArray>({
  name: 'max',
  forward: (c, [x], { axes, keepdim }) => {
    const kept = reduce('max', x, axes, true);
    c.saved = kept;
    return keepdim ? kept : new NDArray(kept.data, x.shape.filter((_, i) => !axes.includes(i)));
  },
  // Ties share the gradient evenly, as torch.amax does.
  backward: (c, g, [x], { axes }) => {
    const mask = binary('eq', x, c.saved);
    const ties = reduce('sum', mask, axes, true);
    const share = binary('div', new NDArray(g.data, keptShape(x.shape, axes)), ties);
    return [binary('mul', mask, share)];
  },
});

function attrs(op: string, x: Tensor, axis: Axis, keepdim: boolean): ReduceAttrs {
  return { axes: normalizeAxes(op, axis, x.ndim), keepdim };
}

/** Sum over `axis` (number, list, or all when omitted), PyTorch's keepdim. */
export const sum = (x: Tensor, axis?: Axis, keepdim = false): Tensor => sumOp([x], attrs('sum', x, axis, keepdim));
export const mean = (x: Tensor, axis?: Axis, keepdim = false): Tensor => {
  const a = attrs('mean', x, axis, keepdim);
  if (count(x, a.axes) === 0) throw new RangeError('mean: cannot average over an empty axis');
  return meanOp([x], a);
};
/** Maximum values over `axis` (torch.amax semantics). */
export const max = (x: Tensor, axis?: Axis, keepdim = false): Tensor => {
  const a = attrs('max', x, axis, keepdim);
  if (count(x, a.axes) === 0) throw new RangeError('max: cannot reduce an empty axis');
  return maxOp([x], a);
};

const softmaxOp = defineOp<number, NDArray>({
  name: 'softmax',
  forward: (c, [x], axis) => (c.saved = softmaxArray(x, axis, false)),
  backward: (c, g, _i, axis) => [softmaxBackward(c.saved, g, axis)],
});

const logSoftmaxOp = defineOp<number, NDArray>({
  name: 'logSoftmax',
  forward: (c, [x], axis) => (c.saved = logSoftmaxArray(x, axis)),
  backward: (c, g, _i, axis) => [logSoftmaxBackward(c.saved, g, axis)],
});

export const softmax = (x: Tensor, axis = -1): Tensor => softmaxOp([x], normalizeAxis('softmax', axis, x.ndim));
export const logSoftmax = (x: Tensor, axis = -1): Tensor => logSoftmaxOp([x], normalizeAxis('logSoftmax', axis, x.ndim));
