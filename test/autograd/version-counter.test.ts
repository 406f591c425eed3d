import { describe, expect, it } from 'vitest';
import { randn, tensor } from '../../src/autograd/index.js';
import * as nn from '../../src/nn/index.js';
import { SGD } from '../../src/nn/optim/index.js';

/*
 * PyTorch's version counters: a weight changed in place between the forward and the backward
 * would give gradients of the new values; backward refuses, naming the op, shape and versions.
 */
const MESSAGE = /^backward: one of the variables needed for gradient computation has been modified by an inplace operation: input \d of (matmul|add|linear)\w*, a float32 tensor of shape \[[\d,]+\], is at version \d+; expected version \d+ instead/;

const LOSS_W = tensor([[1, 2], [3, 4], [5, 6], [7, 8]]);

function forward(): { layer: nn.Linear; loss: ReturnType<typeof randn> } {
  const layer = new nn.Linear(3, 2);
  const loss = layer.forward(randn([4, 3])).tanh().mul(LOSS_W).sum();
  return { layer, loss };
}

describe('version counters', () => {
  it('an optimizer step between forward and backward fails the backward', () => {
    const { layer, loss } = forward();
    for (const p of layer.parameters()) p.grad = tensor(new Array(p.size).fill(1)).reshape(p.shape);
    new SGD(layer.parameters(), { lr: 0.1 }).step();
    expect(layer.weight._version).toBe(2); // 1: its init in the constructor
    expect(() => loss.backward()).toThrow(MESSAGE);
  });

  it('loadStateDict between forward and backward fails the backward', () => {
    const { layer, loss } = forward();
    layer.loadStateDict(new nn.Linear(3, 2).stateDict());
    expect(() => loss.backward()).toThrow(MESSAGE);
  });

  it('nn.init between forward and backward fails the backward', () => {
    const { layer, loss } = forward();
    nn.init.normal(layer.weight);
    expect(() => loss.backward()).toThrow(MESSAGE);
  });

  it('backward then step (the usual order) is fine, and a fresh forward after the step is fine', () => {
    const { layer, loss } = forward();
    loss.backward();
    const opt = new SGD(layer.parameters(), { lr: 0.1 });
    opt.step();
    opt.zeroGrad();
    const again = layer.forward(randn([4, 3])).tanh().mul(LOSS_W).sum();
    again.backward();
    expect(layer.weight.grad).not.toBeNull();
  });

  it('a retained graph used again after a step fails the second backward', () => {
    const { layer, loss } = forward();
    loss.backward(undefined, { retainGraph: true });
    new SGD(layer.parameters(), { lr: 0.1 }).step();
    expect(() => loss.backward()).toThrow(MESSAGE);
  });
});
