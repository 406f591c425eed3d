import { checkDType, type DType, type Indices } from '../tensor/index.js';
import { runBackward, type BackwardOptions } from './engine.js';
import * as ops from './ops/index.js';
import { Tensor, type TensorLike } from './tensor.js';

/*
 * The chaining API (x.add(y).relu()). Methods are attached here rather than declared in
 * tensor.ts so that the Tensor class does not import the op table (which imports Tensor).
 */

type Axis = number | readonly number[];

declare module './tensor.js' {
  interface Tensor {
    backward(gradOutput?: Tensor, opts?: BackwardOptions): void;
    add(other: TensorLike): Tensor;
    sub(other: TensorLike): Tensor;
    mul(other: TensorLike): Tensor;
    div(other: TensorLike): Tensor;
    neg(): Tensor;
    pow(exponent: number): Tensor;
    exp(): Tensor;
    log(): Tensor;
    log1p(): Tensor;
    sqrt(): Tensor;
    abs(): Tensor;
    tanh(): Tensor;
    sigmoid(): Tensor;
    relu(): Tensor;
    leakyRelu(negativeSlope?: number): Tensor;
    clamp(min?: number | null, max?: number | null): Tensor;
    matmul(other: Tensor, flags?: ops.MatmulFlags): Tensor;
    sum(axis?: Axis, keepdim?: boolean): Tensor;
    mean(axis?: Axis, keepdim?: boolean): Tensor;
    max(axis?: Axis, keepdim?: boolean): Tensor;
    reshape(...shape: Array<number | readonly number[]>): Tensor;
    view(...shape: Array<number | readonly number[]>): Tensor;
    flatten(startAxis?: number): Tensor;
    transpose(axis0?: number, axis1?: number): Tensor;
    permute(...dims: Array<number | readonly number[]>): Tensor;
    squeeze(axis?: number): Tensor;
    unsqueeze(axis: number): Tensor;
    expand(...shape: Array<number | readonly number[]>): Tensor;
    slice(axis: number, start: number, end?: number): Tensor;
    narrow(axis: number, start: number, length: number): Tensor;
    indexSelect(axis: number, indices: Indices): Tensor;
    softmax(axis?: number): Tensor;
    logSoftmax(axis?: number): Tensor;
    to(dtype: DType): Tensor;
    clone(): Tensor;
  }
}

const P = Tensor.prototype;
P.backward = function (this: Tensor, gradOutput?: Tensor, opts?: BackwardOptions) { runBackward(this, gradOutput, opts); };
P.add = function (this: Tensor, o: TensorLike) { return ops.add(this, o); };
P.sub = function (this: Tensor, o: TensorLike) { return ops.sub(this, o); };
P.mul = function (this: Tensor, o: TensorLike) { return ops.mul(this, o); };
P.div = function (this: Tensor, o: TensorLike) { return ops.div(this, o); };
P.neg = function (this: Tensor) { return ops.neg(this); };
P.pow = function (this: Tensor, e: number) { return ops.pow(this, e); };
P.exp = function (this: Tensor) { return ops.exp(this); };
P.log = function (this: Tensor) { return ops.log(this); };
P.log1p = function (this: Tensor) { return ops.log1p(this); };
P.sqrt = function (this: Tensor) { return ops.sqrt(this); };
P.abs = function (this: Tensor) { return ops.abs(this); };
P.tanh = function (this: Tensor) { return ops.tanh(this); };
P.sigmoid = function (this: Tensor) { return ops.sigmoid(this); };
P.relu = function (this: Tensor) { return ops.relu(this); };
P.leakyRelu = function (this: Tensor, s?: number) { return ops.leakyRelu(this, s); };
P.clamp = function (this: Tensor, lo?: number | null, hi?: number | null) { return ops.clamp(this, lo, hi); };
P.matmul = function (this: Tensor, o: Tensor, f?: ops.MatmulFlags) { return ops.matmul(this, o, f); };
P.sum = function (this: Tensor, a?: Axis, k?: boolean) { return ops.sum(this, a, k); };
P.mean = function (this: Tensor, a?: Axis, k?: boolean) { return ops.mean(this, a, k); };
P.max = function (this: Tensor, a?: Axis, k?: boolean) { return ops.max(this, a, k); };
P.reshape = function (this: Tensor, ...s: Array<number | readonly number[]>) { return ops.reshape(this, ...s); };
P.view = P.reshape;
P.flatten = function (this: Tensor, startAxis = 0) {
  const a = startAxis < 0 ? startAxis + this.ndim : startAxis;
  return ops.reshape(this, [...this.shape.slice(0, a), -1]);
};
P.transpose = function (this: Tensor, a0?: number, a1?: number) { return ops.transpose(this, a0, a1); };
P.permute = function (this: Tensor, ...d: Array<number | readonly number[]>) { return ops.permute(this, ...d); };
P.squeeze = function (this: Tensor, a?: number) { return ops.squeeze(this, a); };
P.unsqueeze = function (this: Tensor, a: number) { return ops.unsqueeze(this, a); };
P.expand = function (this: Tensor, ...s: Array<number | readonly number[]>) { return ops.expand(this, ...s); };
P.slice = function (this: Tensor, a: number, s: number, e?: number) { return ops.slice(this, a, s, e); };
P.narrow = function (this: Tensor, a: number, s: number, l: number) { return ops.narrow(this, a, s, l); };
P.indexSelect = function (this: Tensor, a: number, i: Indices) { return ops.indexSelect(this, a, i); };
P.softmax = function (this: Tensor, a?: number) { return ops.softmax(this, a); };
P.logSoftmax = function (this: Tensor, a?: number) { return ops.logSoftmax(this, a); };
P.to = function (this: Tensor, d: DType) { return checkDType('Tensor.to', d) === this.dtype ? this : ops.cast(this, d); };
P.clone = function (this: Tensor) { return ops.clone(this); };

export { Tensor };
