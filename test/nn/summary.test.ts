import { describe, expect, it } from 'vitest';
import { DenseFeat, MMoE, SharedBottom, SparseFeat, VarLenSparseFeat, nn, randn, tensor, zeros } from '../../src/index.js';

describe('Module.summary', () => {
  it('lists every layer with its output shape for a batch of one and the totals', () => {
    const m = new MMoE({ inputDim: 10, taskTypes: ['regression', 'binary'], numExperts: 3, expertHiddenUnits: [4], towerHiddenUnits: [2] });
    const s = m.summary();
    const lines = s.split('\n');
    expect(lines[0]).toBe('MMoE (output shapes for a sample batch of 1)');
    expect(s).toMatch(/^\(root\) \(MMoE\) +\[1,2\] +\S+$/m);
    expect(s).toMatch(/^ {2}expert_dnn \(ModuleList\) +— +132$/m); // 3 × (10·4 + 4)
    expect(s).toMatch(/^ {8}0 \(Linear\) +\[1,4\] +44$/m);
    expect(s).toMatch(/^ {4}0 \(Linear\) +\[1,3\] +30$/m); // a gate: 10 → 3 experts, no bias
    expect(s).toContain(`Total params: ${m.numParameters().toLocaleString('en-US')}`);
    expect(s).toContain('Buffers (not trained): 0');
  });

  it('leaves the model as it was: training flags, running statistics, no graph, forward restored', () => {
    const m = new SharedBottom({ inputDim: 4, taskTypes: ['binary'], bottomHiddenUnits: [3], dnnUseBn: true });
    const bn = m.modules().find((x) => x instanceof nn.BatchNorm1d) as nn.BatchNorm1d;
    const before = Float32Array.from(bn.runningMean.data);
    m.summary({ input: randn([4, 4]) }); // 4 rows: a training-mode forward would move the statistics
    expect(m.training).toBe(true);
    expect(m.modules().every((x) => x.training)).toBe(true);
    expect(Array.from(bn.runningMean.data)).toEqual(Array.from(before));
    expect(Object.prototype.hasOwnProperty.call(m, 'forward')).toBe(false);
    expect(m.forward(zeros([2, 4])).shape).toEqual([2, 1]);
  });

  it('makes a sample batch for feature-column models and respects depth', () => {
    const m = new MMoE({
      features: [SparseFeat('a', 10), VarLenSparseFeat(SparseFeat('b', 5), 3), DenseFeat('c', 2)],
      taskTypes: ['binary'], numExperts: 2, expertHiddenUnits: [4],
    });
    const s = m.summary({ depth: 1 });
    expect(s).toMatch(/^\(root\) \(MMoE\) +\[1,1\]/m);
    expect(s).toMatch(/^ {2}embedding_dict \(EmbeddingDict\) +— +60$/m);
    expect(s).not.toMatch(/^ {4}/m);
  });

  it('takes a sample input for any module, and lists without shapes when there is none', () => {
    const seq = new nn.Sequential(new nn.Linear(3, 5), new nn.ReLU(), new nn.Linear(5, 1));
    expect(seq.summary({ input: tensor([[1, 2, 3]]) })).toMatch(/^ {2}2 \(Linear\) +\[1,1\] +6$/m);
    const bare = seq.summary();
    expect(bare).not.toContain('Output shape');
    expect(bare).toMatch(/^ {2}0 \(Linear\) +20$/m);
  });

  it('rejects unknown options and a bad depth', () => {
    const l = new nn.Linear(2, 2);
    expect(() => l.summary({ dept: 1 } as never)).toThrow(/^summary: unknown option 'dept'/);
    expect(() => l.summary({ depth: -1 })).toThrow(/^summary: depth must be an integer ≥ 0/);
  });
});
