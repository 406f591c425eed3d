import { OnnxExportError } from '../../src/onnx/index.js';
import { describe, expect, it } from 'vitest';
import {
  MMoE, MultiTaskBase, SingleTask, SparseFeat, Tensor, defineOp, exportOnnx, tensor, zeros, type ModelInput,
} from '../../src/index.js';

/**
 * A one-task model whose logits are a Linear on `body(h)` [B, 3], h the input [B, 3]: a SingleTask
 * (whose one layer is that Linear) with its forward replaced.
 */
class Custom extends SingleTask {
  constructor(private readonly body: (h: Tensor) => Tensor) {
    super({ inputDim: 3, taskTypes: ['regression'] });
  }
  override logits(x: ModelInput): Tensor {
    return this.tower_dnn_final_layer.get(0).forward(this.body(this.input(x)));
  }
}

const mystery = defineOp({
  name: 'mystery',
  forward: (_c, [x]) => x,
  backward: (_c, g) => [g],
});

describe('exportOnnx: errors name the function and what is wrong', () => {
  it('rejects what is not a model, unknown options and a bad output name', () => {
    expect(() => exportOnnx({} as MultiTaskBase)).toThrow(/^exportOnnx: expected one of the models .* got Object/);
    const m = new MMoE({ inputDim: 3, taskTypes: ['binary'], numExperts: 2, expertHiddenUnits: [2] });
    expect(() => exportOnnx(m, { outputs: 'logits' } as never)).toThrow("exportOnnx: unknown option 'outputs' (did you mean 'output'?); allowed: output, idType, gates, encoding");
    expect(() => exportOnnx(m, 'logits' as never)).toThrow('exportOnnx: options must be an object, got string');
    expect(() => exportOnnx(new Custom((h) => h), { gates: true })).toThrow('exportOnnx: gates: true needs a model with gates (MMoE, OMoE, PLE), got SingleTask');
    expect(() => exportOnnx(m, { gates: 1 } as never)).toThrow('exportOnnx: gates must be a boolean, got 1');
    expect(() => exportOnnx(m, { idType: 'int16' } as never)).toThrow(`exportOnnx: idType must be 'int64' or 'int32', got "int16"`);
    expect(() => exportOnnx(m, { output: 'probs' } as never)).toThrow(`exportOnnx: output must be 'predictions' or 'logits', got "probs"`);
  });

  it('rejects a feature named like the graph output', () => {
    const m = new MMoE({ features: [SparseFeat('predictions', 3)], taskTypes: ['binary'], numExperts: 2, expertHiddenUnits: [2] });
    expect(() => exportOnnx(m)).toThrow(/^exportOnnx: feature 'predictions' has the name of a graph output/);
    expect(() => exportOnnx(m, { output: 'logits' })).not.toThrow();
  });

  it('names an op that has no lowering (a custom defineOp)', () => {
    expect(() => exportOnnx(new Custom((h) => mystery([h], undefined)))).toThrow(/^exportOnnx: op 'mystery' \(#1 of 2\) has no ONNX lowering/);
    expect(() => exportOnnx(new Custom((h) => mystery([h], undefined)))).toThrow(OnnxExportError);
  });

  it('refuses a forward that computes a constant from the input values outside the ops', () => {
    // A mask made in JavaScript from the batch: right for the traced sample only.
    const m = new Custom((h) => h.mul(tensor(h.data.map((v) => (v > 0 ? 1 : 0)), { shape: h.shape.slice() })));
    expect(() => exportOnnx(m)).toThrow(/^exportOnnx: op 'mul' \(#1 of 2\): input 1 is a constant of shape \[2,3\] with one batch and \[3,3\] with another/);
    // The same, with a shape that does not show it: only the values differ.
    const m2 = new Custom((h) => h.add(tensor([h.data[0], 0, 0])));
    expect(() => exportOnnx(m2)).toThrow(/^exportOnnx: op 'add' \(#1 of 2\): its constant values differ between two sample batches/);
  });

  it('refuses a batch size kept in a constant', () => {
    const m = new Custom((h) => h.add(zeros([h.shape[0], 3])));
    expect(() => exportOnnx(m)).toThrow(/input 1 is a constant of shape \[2,3\] with one batch and \[3,3\] with another/);
  });

  it('refuses a forward whose ops change with the batch size', () => {
    const m = new Custom((h) => (h.shape[0] === 2 ? h.relu() : h));
    expect(() => exportOnnx(m)).toThrow(/^exportOnnx: the forward runs 2 ops at one batch size and 1 at another/);
  });

  it('refuses id lookups whose ids come from the batch (ops that take ids as attributes)', () => {
    const m = new Custom((h) => h.indexSelect(1, [h.shape[0] - 2, 1, 2]));
    expect(() => exportOnnx(m)).toThrow(/^exportOnnx: op 'indexSelect' \(#1 of 2\): its (constant values|ONNX nodes) differ between two sample batches/);
  });
});
