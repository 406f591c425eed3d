import { describe, expect, it } from 'vitest';
import { MMoE, SparseFeat, DenseFeat, exportOnnx, hashIds } from '../../src/index.js';
import { featureSample, maxScaledDiff, randomizeParameters, runBoth } from './helpers.js';

describe('exportOnnx of large-vocabulary models', () => {
  it('sparseEmbedding and useHash change nothing in the graph: ids in (bucket ids for a hashed column), the same predictions', async () => {
    const features = [SparseFeat('user', 50, { embeddingDim: 3, useHash: true }), SparseFeat('item', 11, { embeddingDim: 2 }), DenseFeat('price')];
    const m = new MMoE({ features, taskTypes: ['binary', 'regression'], numExperts: 2, expertHiddenUnits: [4], sparseEmbedding: true });
    randomizeParameters(m, 4);
    const sample = featureSample(m.inputLayer!.features, 5, 6);
    const { ours, theirs } = await runBoth(m, exportOnnx(m), sample);
    expect(maxScaledDiff(theirs.data as Float32Array, ours.data)).toBeLessThan(1e-5);
    // Raw strings through our input layer equal their hashIds fed as ids.
    const raw = ['a', 'b', 'c', 'a', 'zz'];
    const viaText = m.forward({ ...sample.ours as Record<string, never>, user: raw });
    const viaIds = m.forward({ ...sample.ours as Record<string, never>, user: hashIds(raw, 50) });
    expect(Array.from(viaText.data)).toEqual(Array.from(viaIds.data));
  });
});
