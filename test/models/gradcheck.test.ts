import { describe, expect, it } from 'vitest';
import { gradcheck, type Tensor } from '../../src/autograd/index.js';
import type { MultiTaskModel } from '../../src/models/index.js';
import { buildModels, denseBatch, featureBatch } from './helpers.js';

/*
 * End-to-end float64 gradient checks at PyTorch's tolerances: the input and every parameter are
 * passed to gradcheck, which perturbs them in place, so each gradient is checked through the whole
 * model. initStd 0.5 and tanh keep every layer in its non-linear, well-conditioned range (the
 * default 1e-4 would make the check nearly trivial), and dropout is 0.
 */
const opts = { eps: 1e-6, atol: 1e-5, rtol: 1e-3 };

function check(model: MultiTaskModel, x: Tensor | null, run: () => Tensor): void {
  const inputs = [...(x ? [x] : []), ...model.parameters()];
  const r = gradcheck(() => run(), inputs, opts);
  expect(r.ok, r.message).toBe(true);
}

describe('gradcheck, float64, end to end', () => {
  const models = buildModels('dense', { initStd: 0.5, dnnActivation: 'tanh', dnnDropout: 0 });
  for (const [name, model] of Object.entries(models)) {
    it(`${name}: forward (sigmoid + regression) w.r.t. input and all ${model.parameters().length} parameter tensors`, () => {
      model.to('float64').train();
      const x = denseBatch(3).to('float64').detach().requiresGrad_();
      check(model, x, () => model.forward(x));
    });
  }

  it('MMoE with BatchNorm in training mode (batch statistics inside the graph)', () => {
    const { MMoE: m } = buildModels('dense', { initStd: 0.5, dnnActivation: 'tanh', dnnUseBn: true });
    m.to('float64').train();
    const x = denseBatch(4).to('float64').detach().requiresGrad_();
    check(m, x, () => m.forward(x));
  });

  it('MMoE gate weights w.r.t. input and parameters', () => {
    const { MMoE: m } = buildModels('dense', { initStd: 0.5, dnnActivation: 'tanh' });
    m.to('float64');
    const x = denseBatch(2).to('float64').detach().requiresGrad_();
    const r = gradcheck(() => (m as unknown as { gateWeights(x: Tensor): Tensor }).gateWeights(x), [x, ...m.parameters()], opts);
    expect(r.ok, r.message).toBe(true);
  });

  it('feature-column MMoE and PLE: through embeddings (sparse, var-len mean) and dense values', () => {
    const models = buildModels('features', { initStd: 0.5, dnnActivation: 'tanh' });
    for (const m of [models.MMoE, models.PLE, models.DCN]) {
      m.to('float64');
      const batch = featureBatch(4);
      const age = (batch.age as Tensor).to('float64').detach().requiresGrad_();
      const vec = (batch.vec as Tensor).to('float64').detach().requiresGrad_();
      check(m, null, () => m.forward({ ...batch, age, vec }));
      const r = gradcheck(() => m.forward({ ...batch, age, vec }), [age, vec], opts);
      expect(r.ok, r.message).toBe(true);
    }
  });

  it('regularizationLoss w.r.t. parameters', () => {
    const { DCN: m } = buildModels('features', { initStd: 0.5, l2RegDnn: 0.1, l2RegEmbedding: 0.2 });
    m.to('float64');
    const r = gradcheck(() => m.regularizationLoss()!, m.parameters(), opts);
    expect(r.ok, r.message).toBe(true);
  });
});
