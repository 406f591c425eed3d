import { describe, expect, it } from 'vitest';
import { ones, randn, tensor, zeros, type Tensor } from '../../src/autograd/index.js';
import { Linear } from '../../src/nn/linear.js';
import { BatchNorm1d } from '../../src/nn/batchnorm.js';
import { ReLU } from '../../src/nn/activation.js';
import { Module, ModuleList, Sequential } from '../../src/nn/module.js';

class Block extends Module {
  readonly fc: Linear;
  readonly scale: Tensor;
  constructor() {
    super();
    this.scale = this.registerParameter('scale', ones([2]));
    this.registerBuffer('steps', zeros([]));
    this.fc = this.registerModule('fc', new Linear(2, 2));
  }
}

class Net extends Module {
  readonly blocks = this.registerModule('blocks', new ModuleList([new Block(), new Block()]));
  readonly head = this.registerModule('head', new Linear(2, 1));
}

describe('Module', () => {
  it('names parameters with dotted paths in registration order', () => {
    const net = new Net();
    expect(net.namedParameters().map(([n]) => n)).toEqual([
      'blocks.0.scale', 'blocks.0.fc.weight', 'blocks.0.fc.bias',
      'blocks.1.scale', 'blocks.1.fc.weight', 'blocks.1.fc.bias',
      'head.weight', 'head.bias',
    ]);
    expect(net.parameters().every((p) => p.requiresGrad)).toBe(true);
    expect(net.numParameters()).toBe(2 * (2 + 4 + 2) + 3);
    expect(net.namedBuffers().map(([n]) => n)).toEqual(['blocks.0.steps', 'blocks.1.steps']);
    expect(net.children()).toEqual([net.blocks, net.head]);
    expect(net.modules().length).toBe(1 + 1 + 2 * 2 + 1);
  });

  it('stateDict orders each module as PyTorch: parameters, buffers, then children', () => {
    const keys = Object.keys(new Block().stateDict());
    expect(keys).toEqual(['scale', 'steps', 'fc.weight', 'fc.bias']);
  });

  it('lists a shared parameter once', () => {
    const shared = new Linear(2, 2);
    const m = new Sequential(shared, new ReLU(), shared);
    expect(m.parameters().length).toBe(2);
  });

  it('train()/eval() recurse into every descendant', () => {
    const net = new Net();
    net.eval();
    expect(net.modules().map((m) => m.training)).toEqual(new Array(7).fill(false));
    net.blocks.get(1).train();
    expect(net.blocks.get(0).training).toBe(false);
    expect(net.blocks.get(1).fc.training).toBe(true);
    net.train();
    expect(net.modules().every((m) => m.training)).toBe(true);
  });

  it('zeroGrad drops every gradient', () => {
    const net = new Net();
    net.head.forward(randn([3, 2])).sum().backward();
    expect(net.head.weight.grad).not.toBeNull();
    net.zeroGrad();
    expect(net.parameters().every((p) => p.grad === null)).toBe(true);
  });

  it('loadStateDict copies values and round-trips exactly', () => {
    const a = new Net();
    const b = new Net();
    b.loadStateDict(a.stateDict());
    for (const [k, t] of Object.entries(b.stateDict())) expect(Array.from(t.data)).toEqual(Array.from(a.stateDict()[k].data));
    expect(b.head.weight).not.toBe(a.head.weight);
  });

  it('loadStateDict (strict) reports every problem at once and writes nothing on failure', () => {
    const m = new Block();
    const before = Array.from(m.scale.data);
    const dict = { ...m.stateDict() } as Record<string, Tensor>;
    delete dict['fc.bias'];
    dict.scale = tensor([5, 5, 5]);
    dict.extra = ones([1]);
    dict['fc.weight'] = tensor([[9, 9], [9, 9]]);
    expect(() => m.loadStateDict(dict)).toThrow(
      'loadStateDict: missing keys: fc.bias; unexpected keys: extra; wrong shape for scale: expected [2], got [3]',
    );
    expect(Array.from(m.scale.data)).toEqual(before);
    expect(m.fc.weight.data[0]).not.toBe(9);
    const ok = { ...m.stateDict(), extra: ones([1]) };
    expect(() => m.loadStateDict(ok)).toThrow('loadStateDict: unexpected keys: extra');
    const missing = { ...m.stateDict() } as Record<string, Tensor>;
    delete missing.steps;
    delete missing['fc.weight'];
    expect(() => m.loadStateDict(missing)).toThrow(/^loadStateDict: missing keys: steps, fc.weight$/);
    expect(m.loadStateDict(m.stateDict())).toEqual({ missingKeys: [], unexpectedKeys: [] });
  });

  it('loadStateDict with strict: false loads the shared keys and returns the others', () => {
    const m = new Block();
    const dict: Record<string, Tensor> = { scale: tensor([3, 4]), 'fc.bias': tensor([7, 8]), extra: ones([1]), 'fc.other': ones([2]) };
    const weightBefore = Array.from(m.fc.weight.data);
    expect(m.loadStateDict(dict, { strict: false })).toEqual({ missingKeys: ['steps', 'fc.weight'], unexpectedKeys: ['extra', 'fc.other'] });
    expect(Array.from(m.scale.data)).toEqual([3, 4]);
    expect(Array.from(m.fc.bias!.data)).toEqual([7, 8]);
    expect(Array.from(m.fc.weight.data)).toEqual(weightBefore);
    // A shape mismatch is an error even when not strict, and nothing is written.
    expect(() => m.loadStateDict({ scale: tensor([1, 1]), 'fc.bias': tensor([1, 2, 3]) }, { strict: false }))
      .toThrow(/^loadStateDict: wrong shape for fc.bias: expected \[2\], got \[3\]$/);
    expect(Array.from(m.scale.data)).toEqual([3, 4]);
  });

  it('loadStateDict casts values to the tensor dtype, rounding like torch copy_', () => {
    const m = new Block();
    const dict = { ...m.stateDict() } as Record<string, Tensor>;
    // 1 + 2^-24 is a tie between two float32 neighbours: round half to even gives 1; 1 + 3·2^-24 rounds up.
    dict.scale = tensor([1 + 2 ** -24, 1 + 3 * 2 ** -24], { dtype: 'float64' });
    dict.steps = tensor(12, { dtype: 'float64' });
    m.loadStateDict(dict);
    expect(m.scale.dtype).toBe('float32');
    expect(Array.from(m.scale.data)).toEqual([1, 1 + 2 ** -22]);
    expect(m.stateDict().steps.item()).toBe(12);
    const m64 = new Block().to('float64');
    m64.loadStateDict(new Block().stateDict());
    expect(m64.scale.dtype).toBe('float64');
    expect(Array.from(m64.scale.data)).toEqual([1, 1]);
  });

  it('loadStateDict rejects a value that is not a Tensor, a bad dict and unknown options, naming them', () => {
    const m = new Block();
    const bad = { ...m.stateDict(), 'fc.bias': [1, 2] } as unknown as Record<string, Tensor>;
    expect(() => m.loadStateDict(bad)).toThrow(TypeError);
    expect(() => m.loadStateDict(bad)).toThrow("loadStateDict: the value of 'fc.bias' is not a Tensor (got Array)");
    expect(() => m.loadStateDict({ ...m.stateDict(), x: 3 } as never, { strict: false })).toThrow("loadStateDict: the value of 'x' is not a Tensor (got number)");
    expect(() => m.loadStateDict(null as never)).toThrow('loadStateDict: expected a state dict (an object of name → Tensor), got null');
    expect(() => m.loadStateDict(ones([1]) as never)).toThrow('loadStateDict: expected a state dict (an object of name → Tensor), got a Tensor');
    expect(() => m.loadStateDict(m.stateDict(), { strickt: false } as never)).toThrow("loadStateDict: unknown option 'strickt' (did you mean 'strict'?); allowed: strict");
    expect(() => m.loadStateDict(m.stateDict(), { strict: 'no' } as never)).toThrow('loadStateDict: strict must be a boolean, got "no"');
    // Keys are own properties only: a plain object's inherited 'constructor' is not a tensor named so.
    const odd = new Module();
    odd.registerParameter('constructor', ones([1]));
    expect(() => odd.loadStateDict({})).toThrow('loadStateDict: missing keys: constructor');
  });

  it('to(dtype) converts parameters and buffers in place, keeping the tensor objects', () => {
    const bn = new BatchNorm1d(2);
    const w = bn.weight!;
    bn.to('float64');
    expect(bn.weight).toBe(w);
    expect(w.dtype).toBe('float64');
    expect(bn.runningVar.dtype).toBe('float64');
    expect(Object.values(bn.stateDict()).every((t) => t.dtype === 'float64')).toBe(true);
  });

  it('rejects bad registrations, naming the method', () => {
    const m = new Module();
    m.registerParameter('w', ones([1]));
    expect(() => m.registerParameter('w', ones([1]))).toThrow("registerParameter: 'w' is already registered on Module");
    expect(() => m.registerBuffer('a.b', ones([1]))).toThrow("registerBuffer: invalid name 'a.b' (non-empty, no dots)");
    const x = ones([1], { requiresGrad: true });
    expect(() => m.registerParameter('y', x.mul(2))).toThrow("registerParameter: 'y' must be a leaf tensor");
    expect(() => m.registerModule('c', {} as Module)).toThrow("registerModule: 'c' is not a Module");
  });
});

describe('ModuleList and Sequential', () => {
  it('ModuleList indexes (negative from the end) and iterates', () => {
    const l = new ModuleList([new ReLU(), new Linear(1, 1)]);
    expect(l.length).toBe(2);
    expect(l.get(-1)).toBeInstanceOf(Linear);
    expect([...l].length).toBe(2);
    expect(() => l.get(2)).toThrow('ModuleList: index 2 out of range for length 2');
    expect(Object.keys(l.stateDict())).toEqual(['1.weight', '1.bias']);
  });

  it('Sequential chains forward', () => {
    const a = new Linear(2, 3);
    const b = new Linear(3, 1);
    const s = new Sequential(a, new ReLU(), b);
    const x = randn([4, 2]);
    expect(Array.from(s.forward(x).data)).toEqual(Array.from(b.forward(a.forward(x).relu()).data));
  });
});
