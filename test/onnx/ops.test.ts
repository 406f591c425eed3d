import { describe, expect, it } from 'vitest';
import {
  SingleTask, Tensor, clone, concat, crossLayer, exportOnnx, matmul, tensor, where, type ModelInput,
} from '../../src/index.js';
import { denseSample, maxScaledDiff, randomizeParameters, runBoth } from './helpers.js';

/**
 * A one-task model whose logits are a Linear on `body(h)` [B, 3], h the input [B, 3]: a SingleTask
 * (whose one layer is that Linear) with its forward replaced.
 */
class Body extends SingleTask {
  constructor(private readonly body: (h: Tensor) => Tensor) {
    super({ inputDim: 3, taskTypes: ['regression'] });
  }
  override logits(x: ModelInput): Tensor {
    return this.tower_dnn_final_layer.get(0).forward(this.body(this.input(x)));
  }
}

const w = tensor([0.3, -0.2, 0.5]);
const b = tensor([[0.1], [0.0], [-0.4]]);

/* Each lowering in src/onnx/lower.ts that the models do not reach, checked in ONNX Runtime. */
const bodies: Record<string, (h: Tensor) => Tensor> = {
  'clamp (both bounds, max only, min only)': (h) => h.clamp(-0.5, 0.7).add(h.clamp(null, 0.2)).add(h.clamp(-0.1)),
  'log1p, abs, sqrt, pow, log': (h) => h.abs().log1p().add(h.abs().sqrt().pow(3)).add(h.abs().add(1).log()),
  'leakyRelu, tanh, exp, neg, div, sub': (h) => h.leakyRelu(0.1).tanh().exp().neg().div(h.abs().add(1)).sub(h),
  'softmax, logSoftmax': (h) => h.softmax(1).add(h.logSoftmax(-1)),
  'sum, mean, max (keepdim and not), expand': (h) =>
    h.mean(1, true).expand([-1, 3]).add(h.max(1, true)).add(h.sum(1).reshape([-1, 1])).add(h.sum([0, 1])),
  'batched matmul with transA and transB, permute': (h) => {
    const col = h.unsqueeze(1); // [B, 1, 3]
    const outer = matmul(col, col, { transA: true }); // [B, 3, 3]
    return matmul(outer.permute(0, 2, 1), col, { transB: true }).reshape([-1, 3]).add(matmul(h, h.transpose(0, 1).matmul(h), { transB: true }).tanh());
  },
  'slice, narrow, concat, indexSelect': (h) => concat([h.slice(1, 1, 3), h.narrow(1, 0, 1)], 1).mul(h.indexSelect(1, [2, 0, 1])),
  'where with a constant condition, clone, cast there and back': (h) => where([true, false, true], h, clone(h).neg()).add(h.to('float64').mul(2).to('float32')),
  'crossLayer (w as [D], b as [D, 1])': (h) => crossLayer(h, h.tanh(), w, b),
};

describe('exportOnnx: every op lowering agrees with ONNX Runtime', () => {
  let seed = 1;
  for (const [name, body] of Object.entries(bodies)) {
    it(name, async () => {
      const m = new Body(body);
      randomizeParameters(m, seed++);
      const bytes = exportOnnx(m);
      for (const B of [1, 5]) {
        const { ours, theirs } = await runBoth(m, bytes, denseSample(B, 3, seed + B));
        expect(theirs.dims).toEqual([B, 1]);
        expect(maxScaledDiff(theirs.data as Float32Array, ours.data)).toBeLessThan(1e-5);
      }
    });
  }
});
