import { describe, expect, it } from 'vitest';
import { Tensor, add, matmul, randn, relu, slice, tensor } from '../../../src/autograd/index.js';
import { Generator } from '../../../src/tensor/index.js';
import { Module } from '../../../src/nn/module.js';
import { bceWithLogits, mseLoss } from '../../../src/nn/losses.js';
import { l2Penalty } from '../../../src/nn/regularization.js';
import { Adagrad, Adam, AdamW, RMSprop, SGD, clipGradNorm, type Optimizer } from '../../../src/nn/optim/index.js';

/** Shared hidden layer, one head per task; weights [in, out] so forward is x·W + b. */
class TwoTaskMLP extends Module {
  readonly w1: Tensor; readonly b1: Tensor;
  readonly wA: Tensor; readonly bA: Tensor;
  readonly wB: Tensor; readonly bB: Tensor;

  constructor(inDim: number, hidden: number, gen: Generator) {
    super();
    const init = (shape: number[], std: number): Tensor => {
      const t = randn(shape, { generator: gen });
      for (let i = 0; i < t.data.length; i++) t.data[i] *= std;
      return t;
    };
    this.w1 = this.registerParameter('w1', init([inDim, hidden], 1 / Math.sqrt(inDim)));
    this.b1 = this.registerParameter('b1', init([hidden], 0));
    this.wA = this.registerParameter('wA', init([hidden, 1], 1 / Math.sqrt(hidden)));
    this.bA = this.registerParameter('bA', init([1], 0));
    this.wB = this.registerParameter('wB', init([hidden, 1], 1 / Math.sqrt(hidden)));
    this.bB = this.registerParameter('bB', init([1], 0));
  }

  forward(x: Tensor): [Tensor, Tensor] {
    const h = relu(add(matmul(x, this.w1), this.b1));
    return [add(matmul(h, this.wA), this.bA), add(matmul(h, this.wB), this.bB)];
  }
}

/** Task A: click = [x0 + x1 > 0]; task B: y = x2 - 0.5·x3 (a fixed, seeded problem). */
function problem(n: number): { x: Tensor; yA: Tensor; yB: Tensor } {
  const x = randn([n, 4], { generator: new Generator(7) });
  const d = x.data;
  const yA = tensor(Array.from({ length: n }, (_, i) => [d[i * 4] + d[i * 4 + 1] > 0 ? 1 : 0]));
  const yB = tensor(Array.from({ length: n }, (_, i) => [d[i * 4 + 2] - 0.5 * d[i * 4 + 3]]));
  return { x, yA, yB };
}

const cases: Array<[string, (ps: Tensor[]) => Optimizer<object>]> = [
  ['SGD', (ps) => new SGD(ps, { lr: 0.1, momentum: 0.9 })],
  ['Adam', (ps) => new Adam(ps, { lr: 0.02 })],
  ['AdamW', (ps) => new AdamW(ps, { lr: 0.02 })],
  ['Adagrad', (ps) => new Adagrad(ps, { lr: 0.1 })],
  ['RMSprop', (ps) => new RMSprop(ps, { lr: 0.01 })],
];

describe('a 2-task MLP trained with each optimizer', () => {
  const { x, yA, yB } = problem(64);

  it.each(cases)('%s lowers the joint loss', (_name, make) => {
    const model = new TwoTaskMLP(4, 16, new Generator(1));
    const opt = make(model.parameters());
    const objective = (): Tensor => {
      const [a, b] = model.forward(x);
      return add(add(bceWithLogits(a, yA), mseLoss(b, yB)), l2Penalty([model.w1], 1e-4));
    };
    const initial = objective().item();
    let last = initial;
    for (let step = 0; step < 60; step++) {
      opt.zeroGrad();
      const loss = objective();
      loss.backward();
      clipGradNorm(model.parameters(), 5);
      opt.step();
      last = loss.item();
    }
    const final = objective().item();
    expect(Number.isFinite(final)).toBe(true);
    expect(final, `initial ${initial}, last ${last}, final ${final}`).toBeLessThan(0.25 * initial);
  });

  it('parameter groups with different learning rates both train', () => {
    const model = new TwoTaskMLP(4, 16, new Generator(2));
    const opt = new Adam([
      { params: [model.w1, model.b1], lr: 0.02 },
      { params: [model.wA, model.bA, model.wB, model.bB], lr: 0.005 },
    ]);
    const before = model.wA.data.slice();
    const objective = (): Tensor => {
      const [a, b] = model.forward(slice(x, 0, 0, 32));
      return add(bceWithLogits(a, slice(yA, 0, 0, 32)), mseLoss(b, slice(yB, 0, 0, 32)));
    };
    const initial = objective().item();
    for (let step = 0; step < 40; step++) {
      opt.zeroGrad();
      objective().backward();
      opt.step();
    }
    expect(objective().item()).toBeLessThan(0.8 * initial);
    expect(model.wA.data).not.toEqual(before);
  });
});
