import { describe, expect, it } from 'vitest';
import {
  add, concat, crossLayer, div, indexSelect, matmul, mul, narrow, reshape, stack, sub, sum, tensor, zeros, ones,
  full, where, arange,
} from '../../src/index.js';

/* Each bad input gets an error whose message starts with the op and states what was expected and what came. */

describe('bad input messages', () => {
  it('binary op shape mismatch names the op and both shapes', () => {
    const a = zeros([2, 3]), b = zeros([4]);
    expect(() => add(a, b)).toThrow(/^add: shapes \[2,3\] and \[4\] cannot be broadcast together/);
    expect(() => sub(a, b)).toThrow(/^sub: shapes \[2,3\] and \[4\]/);
    expect(() => mul(b, a)).toThrow(/^mul: shapes \[4\] and \[2,3\]/);
    expect(() => div(zeros([2, 3]), zeros([3, 2]))).toThrow(/^div: shapes \[2,3\] and \[3,2\]/);
    expect(() => a.add(b)).toThrow(/^add: shapes \[2,3\] and \[4\]/);
  });

  it('matmul mismatch names both shapes', () => {
    expect(() => matmul(zeros([2, 3]), zeros([4, 5]))).toThrow(/^matmul: inner dimensions differ: \[2,3\] @ \[4,5\] \(3 vs 4\)/);
    expect(() => matmul(zeros([2, 3]), zeros([2, 5]), { transA: true })).not.toThrow();
    expect(() => matmul(zeros([2, 3]), zeros([4, 3]), { transB: false })).toThrow(/^matmul: inner dimensions differ: \[2,3\] @ \[4,3\]/);
    expect(() => matmul(zeros([2, 2, 3]), zeros([3, 3, 1]))).toThrow(/^matmul: batch dimensions differ: \[2,2,3\] @ \[3,3,1\]/);
    expect(() => matmul(zeros([3]), zeros([3, 1]))).toThrow(/^matmul: expected 2-D or 3-D operands, got \[3\] @ \[3,1\]/);
  });

  it('a bad axis is a RangeError naming the op, the axis and the rank', () => {
    const x = zeros([2, 3]);
    expect(() => sum(x, 2)).toThrow(RangeError);
    expect(() => sum(x, 2)).toThrow(/^sum: axis 2 is out of range for a tensor of rank 2 \(valid: \[-2, 1\]\)/);
    expect(() => x.mean(-3)).toThrow(/^mean: axis -3 is out of range/);
    expect(() => x.max([0, 5])).toThrow(/^max: axis 5 is out of range/);
    expect(() => x.softmax(2)).toThrow(/^softmax: axis 2/);
    expect(() => x.logSoftmax(-3)).toThrow(/^logSoftmax: axis -3/);
    expect(() => x.transpose(0, 2)).toThrow(/^transpose: axis 2/);
    expect(() => x.unsqueeze(3)).toThrow(/^unsqueeze: axis 3 is out of range for a tensor of rank 3/);
    expect(() => x.squeeze(0)).toThrow(/^squeeze: axis 0 has size 2, not 1, in \[2,3\]/);
    expect(() => concat([x, x], 2)).toThrow(/^concat: axis 2/);
    expect(() => x.indexSelect(2, [0])).toThrow(/^indexSelect: axis 2/);
    expect(() => x.permute(0, 0)).toThrow(/^permute: \[0,0\] is not a permutation/);
    expect(() => x.permute(0)).toThrow(/^permute: permutation \[0\] does not match rank 2 of \[2,3\]/);
    expect(() => sum(x, [1, -1])).toThrow(/^sum: repeated axis/);
  });

  it('reshape to a different size', () => {
    const x = zeros([2, 3]);
    expect(() => reshape(x, [4, 2])).toThrow(RangeError);
    expect(() => reshape(x, [4, 2])).toThrow(/^reshape: cannot reshape \[2,3\] \(6 elements\) to \[4,2\] \(8 elements\)/);
    expect(() => x.reshape(4, -1)).toThrow(/^reshape: cannot reshape \[2,3\] \(6 elements\) to \[4,-1\]/);
    expect(() => x.view(-1, -1)).toThrow(/^reshape: only one dimension can be -1/);
    expect(() => x.expand(3, 3)).toThrow(/^expand: /);
  });

  it('an out-of-range index is a RangeError naming the index and the size', () => {
    const x = zeros([4, 2]);
    expect(() => indexSelect(x, 0, [0, 7])).toThrow(RangeError);
    expect(() => indexSelect(x, 0, [0, 7])).toThrow(/^indexSelect: index 7 at position 1 is out of range for an axis of size 4/);
    expect(() => x.indexSelect(1, Int32Array.from([-1]))).toThrow(/^indexSelect: index -1 at position 0 is out of range for an axis of size 2/);
    expect(() => narrow(x, 0, 3, 2)).toThrow(RangeError);
    expect(() => narrow(x, 0, 3, 2)).toThrow(/^narrow: start 3 \+ length 2 exceeds axis 0 of size 4/);
  });

  it('mixing float32 and float64 without a cast', () => {
    const a = ones([2]), b = ones([2], { dtype: 'float64' });
    expect(() => add(a, b)).toThrow(TypeError);
    expect(() => add(a, b)).toThrow(/^add: dtype mismatch float32 vs float64/);
    expect(() => b.mul(a)).toThrow(/^mul: dtype mismatch float64 vs float32/);
    expect(() => matmul(ones([2, 2]), ones([2, 2], { dtype: 'float64' }))).toThrow(/^matmul: dtype mismatch float32 vs float64/);
    expect(() => concat([a, b])).toThrow(/^concat: dtype mismatch/);
    expect(() => where(tensor([1, 0]), a, b)).toThrow(/^where: dtype mismatch/);
    // With a cast it works, and a plain number takes the tensor's dtype.
    expect(add(a.to('float64'), b).dtype).toBe('float64');
    expect(b.mul(2).dtype).toBe('float64');
  });

  it('tensor() from a ragged array, or values that do not fill the shape', () => {
    expect(() => tensor([[1, 2], [3]])).toThrow(RangeError);
    expect(() => tensor([[1, 2], [3]])).toThrow(/^tensor: ragged nested array at \[1\]: expected length 2, got 1/);
    expect(() => tensor([[1, 2], 3] as never)).toThrow(/^tensor: ragged nested array at \[1\]/);
    expect(() => tensor([1, [2, 3]] as never)).toThrow(/^tensor: expected a number at \[1\], got an array/);
    expect(() => tensor([1, 2, 3], { shape: [2, 2] })).toThrow(/^tensor: shape \[2,2\] needs 4 values, got 3/);
    expect(() => full([2, -1], 0)).toThrow(/^full: invalid shape \[2,-1\]/);
    expect(() => arange(0, 3, 0)).toThrow(/^arange: step must be a finite non-zero number, got 0/);
  });

  it('other shape and value checks', () => {
    expect(() => stack([zeros([2]), zeros([3])])).toThrow(/^stack: all tensors must have the same shape, got \[2\] and \[3\]/);
    expect(() => concat([])).toThrow(/^concat: needs at least one tensor/);
    expect(() => zeros([2]).clamp(1, 0)).toThrow(/^clamp: min 1 is greater than max 0/);
    expect(() => zeros([2]).item()).toThrow(/^item: only one-element tensors can be converted to a number, got shape \[2\]/);
    expect(() => crossLayer(zeros([2, 3]), zeros([2, 4]), zeros([3]), zeros([3]))).toThrow(/^crossLayer: x0 and xl must both be \[B, D\], got \[2,3\] and \[2,4\]/);
    expect(() => crossLayer(zeros([2, 3]), zeros([2, 3]), zeros([4]), zeros([3]))).toThrow(/^crossLayer: w and b must be \[3\] or \[3,1\]/);
    expect(() => zeros([2]).requiresGrad_(true).mul(2).requiresGrad_(false)).toThrow(/^requiresGrad_: only leaf tensors/);
  });
});
