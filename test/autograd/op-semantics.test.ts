import { describe, expect, it } from 'vitest';
import { concat, max, stack, tensor, where, sum, mean } from '../../src/index.js';

/* Values and gradients at the points where PyTorch makes a choice (ties, kinks, constants). */

const leaf = (v: number[]) => tensor(v, { dtype: 'float64', requiresGrad: true });

describe('op semantics at the edges', () => {
  it('max splits the gradient evenly among ties (torch.amax)', () => {
    const x = leaf([1, 3, 3, 2]);
    max(x).backward();
    expect(x.grad!.toArray()).toEqual([0, 0.5, 0.5, 0]);
    const y = tensor([[1, 5], [5, 5]], { dtype: 'float64', requiresGrad: true });
    y.max(1).sum().backward();
    expect(y.grad!.toArray()).toEqual([[0, 1], [0.5, 0.5]]);
  });

  it('pow(0) has a zero gradient, also at x = 0', () => {
    const x = leaf([0, 2, -3]);
    x.pow(0).sum().backward();
    expect(x.grad!.toArray()).toEqual([0, 0, 0]);
    const y = leaf([0, 2]);
    y.pow(1).sum().backward();
    expect(y.grad!.toArray()).toEqual([1, 1]);
  });

  it('abs, relu at 0 and clamp at its bounds follow PyTorch', () => {
    const a = leaf([0, -2]);
    a.abs().sum().backward();
    expect(a.grad!.toArray()).toEqual([0, -1]);
    const r = leaf([0, 1]);
    r.relu().sum().backward();
    expect(r.grad!.toArray()).toEqual([0, 1]);
    const c = leaf([-1, 1, 2]);
    c.clamp(-1, 1).sum().backward();
    expect(c.grad!.toArray()).toEqual([1, 1, 0]);
  });

  it('relu, leakyRelu and clamp pass NaN through (a NaN must reach the loss, not become 0)', () => {
    const x = tensor([NaN, -1, 0, 2], { dtype: 'float64' });
    expect(x.relu().toArray()).toEqual([NaN, 0, 0, 2]);
    expect(Object.is(x.relu().data[2], 0)).toBe(true);
    expect(x.leakyRelu(0.1).toArray()).toEqual([NaN, -0.1, 0, 2]);
    expect(x.clamp(-0.5, 1).toArray()).toEqual([NaN, -0.5, 0, 1]);
  });

  it('concat and stack give no gradient to constant inputs, the right slice to the others', () => {
    const a = leaf([1, 2]);
    const k = tensor([5], { dtype: 'float64' });
    const w = tensor([10, 20, 30], { dtype: 'float64' });
    concat([k, a]).mul(w).sum().backward();
    expect(a.grad!.toArray()).toEqual([20, 30]);
    expect(k.grad).toBeNull();
    const b = leaf([1, 2]);
    stack([k.expand(2), b], 1).mul(tensor([[1, 2], [3, 4]], { dtype: 'float64' })).sum().backward();
    expect(b.grad!.toArray()).toEqual([2, 4]);
  });

  it('where with boolean conditions and number branches', () => {
    const x = leaf([1, 2, 3]);
    const y = where([true, false, true], x, -1);
    expect(y.toArray()).toEqual([1, -1, 3]);
    y.sum().backward();
    expect(x.grad!.toArray()).toEqual([1, 0, 1]);
  });

  it('keepdim and negative axes give PyTorch shapes', () => {
    const x = tensor([[[1, 2], [3, 4]], [[5, 6], [7, 8]]]);
    expect(sum(x, -1).shape).toEqual([2, 2]);
    expect(sum(x, [0, -1], true).shape).toEqual([1, 2, 1]);
    expect(sum(x, [0, -1], true).toArray()).toEqual([[[1 + 2 + 5 + 6], [3 + 4 + 7 + 8]]]);
    expect(mean(x).shape).toEqual([]);
    expect(mean(x).item()).toBe(4.5);
    expect(mean(x, undefined, true).shape).toEqual([1, 1, 1]);
    expect(max(x, 1).toArray()).toEqual([[3, 4], [7, 8]]);
  });

  it('softmax and logSoftmax stay finite with logits of ±1000, and so do their gradients', () => {
    const x = tensor([[1000, -1000, 999], [-1000, -1000, -1000]], { dtype: 'float64', requiresGrad: true });
    const p = x.softmax(-1);
    expect(Array.from(p.data).every(Number.isFinite)).toBe(true);
    expect(p.sum(-1).toArray()).toEqual([1, 1]);
    const lp = x.logSoftmax(1);
    expect(Array.from(lp.data).every(Number.isFinite)).toBe(true);
    expect(lp.data[3]).toBeCloseTo(-Math.log(3), 12);
    lp.mul(tensor([[1, 0, 0], [0, 1, 0]], { dtype: 'float64' })).sum().backward();
    expect(Array.from(x.grad!.data).every(Number.isFinite)).toBe(true);
  });

  it('cast is differentiable: the gradient comes back in the input dtype', () => {
    const x = tensor([1, 2, 3], { requiresGrad: true });
    const y = x.to('float64');
    expect(y.dtype).toBe('float64');
    y.mul(tensor([1, 2, 3], { dtype: 'float64' })).sum().backward();
    expect(x.grad!.dtype).toBe('float32');
    expect(x.grad!.toArray()).toEqual([1, 2, 3]);
  });
});
