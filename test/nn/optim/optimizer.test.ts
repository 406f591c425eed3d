import { describe, expect, it } from 'vitest';
import { Tensor, mul, sum, tensor } from '../../../src/autograd/index.js';
import { Adagrad, Adam, AdamW, RMSprop, SGD, type Optimizer } from '../../../src/nn/optim/index.js';
import { G1, G2, THETA0, expectValues, param, stepWith } from './helpers.js';

describe('Optimizer base', () => {
  it('rejects empty lists, non-tensors, non-leaves and a parameter given twice', () => {
    const p = param(THETA0);
    expect(() => new SGD([])).toThrow('SGD: got an empty parameter list');
    expect(() => new Adam([{ params: [p] }, { params: [param(THETA0), 3 as unknown as Tensor] }])).toThrow('Adam: group 1 params[1] is not a Tensor (got number)');
    expect(() => new Adam([mul(p, 2)])).toThrow('Adam: group 0 params[0] is not a leaf tensor');
    expect(() => new RMSprop([{ params: [p] }, { params: [p] }])).toThrow('RMSprop: group 1 params[0] appears more than once across parameter groups');
    expect(() => new Adagrad(undefined as unknown as Tensor[])).toThrow('Adagrad: params must be an array of Tensors or of parameter groups, got undefined');
  });

  it('skips parameters without a gradient (their state stays empty) and zeroGrad drops gradients', () => {
    const a = param(THETA0), b = param(THETA0);
    const opt = new Adam([a, b], { lr: 0.1 });
    a.grad = param(G1);
    opt.step();
    expectValues(b, THETA0, 15);
    expect(opt.state.has(b)).toBe(false);
    expect(a.data[0]).not.toBe(1);
    opt.zeroGrad();
    expect(a.grad).toBeNull();
  });

  it('steps without recording a graph and evaluates a closure', () => {
    const p = param(THETA0);
    const opt = new SGD([p], { lr: 0.1 });
    const loss = opt.step(() => {
      opt.zeroGrad();
      const l = sum(mul(p, p));
      l.backward();
      return l;
    });
    expect(loss).toBe(5);
    // ∇ = 2θ = [2, -4]
    expectValues(p, [0.8, -1.6]);
    expect(p.isLeaf).toBe(true);
  });

  it('lets group options change between steps (learning-rate schedules)', () => {
    const p = param(THETA0);
    const opt = new SGD([p], { lr: 0.1 });
    stepWith(opt, p, G1);
    opt.paramGroups[0].lr = 1;
    stepWith(opt, p, G2);
    expectValues(p, [0.95 - 0.3, -1.9 - 0.2]);
  });

  it('stateDict / loadStateDict resume the same trajectory (through JSON)', () => {
    const makers: Array<(ps: Tensor[]) => Optimizer<{ lr: number }>> = [
      (ps) => new SGD(ps, { lr: 0.1, momentum: 0.9 }),
      (ps) => new Adam(ps, { lr: 0.1, amsgrad: true }),
      (ps) => new AdamW(ps, { lr: 0.1 }),
      (ps) => new Adagrad(ps, { lr: 0.1, lrDecay: 0.1 }),
      (ps) => new RMSprop(ps, { lr: 0.1, centered: true, momentum: 0.5 }),
    ];
    const grads = [G1, G2, [-0.4, 0.7]];
    for (const make of makers) {
      const a = param(THETA0);
      const optA = make([a]);
      stepWith(optA, a, grads[0]);
      stepWith(optA, a, grads[1]);
      const saved = JSON.parse(JSON.stringify(optA.stateDict()));
      const b = tensor(Array.from(a.data), { dtype: 'float64', requiresGrad: true });
      const optB = make([b]);
      optB.paramGroups[0].lr = 123;
      optB.loadStateDict(saved);
      expect(optB.paramGroups[0].lr).toBe(0.1);
      stepWith(optA, a, grads[2]);
      stepWith(optB, b, grads[2]);
      expect(Array.from(b.data), optA.name).toEqual(Array.from(a.data));
    }
  });

  it('loadStateDict rejects a dict for other parameters, changing nothing', () => {
    const a = param(THETA0);
    const opt = new Adam([a], { lr: 0.1 });
    stepWith(opt, a, G1);
    const sd = opt.stateDict();
    const other = new Adam([param([1, 2, 3])]);
    expect(() => other.loadStateDict(sd)).toThrow("Adam.loadStateDict: state 'expAvg' of parameter 0 has 2 values, the parameter has 3");
    expect(other.state.size).toBe(0);
    expect(() => new Adam([{ params: [param([1])] }, { params: [param([2])] }]).loadStateDict(sd)).toThrow('Adam.loadStateDict: expected 2 parameter groups, got 1');
    expect(() => new Adam([a]).loadStateDict({ ...sd, paramGroups: [{ ...sd.paramGroups[0], lr: -1 }] })).toThrow('Adam: invalid learning rate lr = -1');
  });
});
