import { binary, reluBackward, sigmoidBackward, tanhBackward, unary, type NDArray } from '../../tensor/index.js';
import { defineOp } from '../function.js';
import type { Tensor, TensorLike } from '../tensor.js';
import { liftPair } from './scalar.js';

/*
 * Elementwise ops: forward kernel and backward rule side by side. Binary rules return gradients
 * of the output's (broadcast) shape; the engine sums them back to each operand's shape.
 */

const addOp = defineOp({
  name: 'add',
  forward: (_c, [a, b]) => binary('add', a, b, 'add'),
  backward: (_c, g) => [g, g],
});

const subOp = defineOp({
  name: 'sub',
  forward: (_c, [a, b]) => binary('sub', a, b, 'sub'),
  backward: (c, g) => [g, c.needsInputGrad[1] ? unary('neg', g) : null],
});

const mulOp = defineOp({
  name: 'mul',
  forward: (_c, [a, b]) => binary('mul', a, b, 'mul'),
  backward: (c, g, [a, b]) => [
    c.needsInputGrad[0] ? binary('mul', g, b) : null,
    c.needsInputGrad[1] ? binary('mul', g, a) : null,
  ],
});

const divOp = defineOp<undefined, NDArray>({
  name: 'div',
  forward: (c, [a, b]) => {
    const out = binary('div', a, b, 'div');
    c.saved = out;
    return out;
  },
  backward: (c, g, [, b]) => {
    const ga = c.needsInputGrad[0] || c.needsInputGrad[1] ? binary('div', g, b) : null;
    // d(a/b)/db = -(a/b)/b, so gb = -ga * out.
    return [ga, c.needsInputGrad[1] && ga ? unary('neg', binary('mul', ga, c.saved)) : null];
  },
});

export const add = (a: TensorLike, b: TensorLike): Tensor => addOp(liftPair(a, b), undefined);
export const sub = (a: TensorLike, b: TensorLike): Tensor => subOp(liftPair(a, b), undefined);
export const mul = (a: TensorLike, b: TensorLike): Tensor => mulOp(liftPair(a, b), undefined);
export const div = (a: TensorLike, b: TensorLike): Tensor => divOp(liftPair(a, b), undefined);

const negOp = defineOp({
  name: 'neg',
  forward: (_c, [x]) => unary('neg', x),
  backward: (_c, g) => [unary('neg', g)],
});

const expOp = defineOp<undefined, NDArray>({
  name: 'exp',
  forward: (c, [x]) => (c.saved = unary('exp', x)),
  backward: (c, g) => [binary('mul', g, c.saved)],
});

const logOp = defineOp({
  name: 'log',
  forward: (_c, [x]) => unary('log', x),
  backward: (_c, g, [x]) => [binary('div', g, x)],
});

const log1pOp = defineOp({
  name: 'log1p',
  forward: (_c, [x]) => unary('log1p', x),
  backward: (_c, g, [x]) => [binary('div', g, unary('addScalar', x, 1))],
});

const sqrtOp = defineOp<undefined, NDArray>({
  name: 'sqrt',
  forward: (c, [x]) => (c.saved = unary('sqrt', x)),
  backward: (c, g) => [binary('div', unary('scale', g, 0.5), c.saved)],
});

const absOp = defineOp({
  name: 'abs',
  forward: (_c, [x]) => unary('abs', x),
  backward: (_c, g, [x]) => [binary('mul', g, unary('sign', x))],
});

const tanhOp = defineOp<undefined, NDArray>({
  name: 'tanh',
  forward: (c, [x]) => (c.saved = unary('tanh', x)),
  backward: (c, g) => [tanhBackward(c.saved, g)],
});

const sigmoidOp = defineOp<undefined, NDArray>({
  name: 'sigmoid',
  forward: (c, [x]) => (c.saved = unary('sigmoid', x)),
  backward: (c, g) => [sigmoidBackward(c.saved, g)],
});

const reluOp = defineOp({
  name: 'relu',
  forward: (_c, [x]) => unary('relu', x),
  backward: (_c, g, [x]) => [reluBackward(x, g)],
});

const leakyReluOp = defineOp<number>({
  name: 'leakyRelu',
  forward: (_c, [x], slope) => unary('leakyRelu', x, slope),
  backward: (_c, g, [x], slope) => [binary('mul', g, unary('leakyReluGrad', x, slope))],
});

const clampOp = defineOp<[number, number]>({
  name: 'clamp',
  forward: (_c, [x], [lo, hi]) => unary('clamp', x, lo, hi),
  backward: (_c, g, [x], [lo, hi]) => [binary('mul', g, unary('clampMask', x, lo, hi))],
});

const powOp = defineOp<number>({
  name: 'pow',
  forward: (_c, [x], p) => unary('powScalar', x, p),
  // x^0 is constant: 0·x^-1 would give NaN at x = 0, so the gradient is zero outright (as in PyTorch).
  backward: (_c, g, [x], p) => [p === 0 ? unary('scale', unary('step', x), 0) : binary('mul', g, unary('scale', unary('powScalar', x, p - 1), p))],
});

export const neg = (x: Tensor): Tensor => negOp([x], undefined);
export const exp = (x: Tensor): Tensor => expOp([x], undefined);
export const log = (x: Tensor): Tensor => logOp([x], undefined);
export const log1p = (x: Tensor): Tensor => log1pOp([x], undefined);
export const sqrt = (x: Tensor): Tensor => sqrtOp([x], undefined);
export const abs = (x: Tensor): Tensor => absOp([x], undefined);
export const tanh = (x: Tensor): Tensor => tanhOp([x], undefined);
export const sigmoid = (x: Tensor): Tensor => sigmoidOp([x], undefined);
export const relu = (x: Tensor): Tensor => reluOp([x], undefined);
export const leakyRelu = (x: Tensor, negativeSlope = 0.01): Tensor => leakyReluOp([x], negativeSlope);

/** Clamps into [min, max]; either bound may be omitted. */
export function clamp(x: Tensor, min?: number | null, max?: number | null): Tensor {
  const lo = min ?? -Infinity;
  const hi = max ?? Infinity;
  if (lo > hi) throw new RangeError(`clamp: min ${lo} is greater than max ${hi}`);
  return clampOp([x], [lo, hi]);
}

/** x ** exponent for a scalar exponent. */
export function pow(x: Tensor, exponent: number): Tensor {
  if (typeof exponent !== 'number') throw new TypeError('pow: the exponent must be a number');
  return powOp([x], exponent);
}
