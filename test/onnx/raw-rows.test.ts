import { describe, expect, it } from 'vitest';
import { MMoE, encodeRows, encodingFeatures, fitRowEncoding, type MultiTaskBase } from '../../src/models/index.js';
import { exportOnnx } from '../../src/onnx/export.js';
import { predict } from '../../src/train/evaluate.js';
import { ort, randomizeParameters } from './helpers.js';

/* exportOnnx({ encoding }): a graph on raw values that encodes them as encodeRows does. */

const train = [
  { device: 'ios', country: 'fr', price: 3.5, age: 31 }, { device: 'android', country: 'de', price: 10, age: 50 },
  { device: 'web', country: 'fr', price: 0.25, age: null }, { device: 'ios', country: 'us', price: 7, age: 22 },
];

function model(): { m: MultiTaskBase; encoding: ReturnType<typeof fitRowEncoding> } {
  const encoding = fitRowEncoding(train, { sparse: ['device', 'country'], dense: ['price', 'age'] });
  const m = new MMoE({ features: encodingFeatures(encoding, { device: { embeddingDim: 2 }, country: { embeddingDim: 3 } }), taskTypes: ['binary', 'regression'], numExperts: 2, expertHiddenUnits: [5], towerHiddenUnits: [3] });
  randomizeParameters(m, 3);
  return { m, encoding };
}

describe('exportOnnx with a row encoding', () => {
  it('ONNX Runtime on raw rows agrees with predict(encodeRows(rows)) to 1e-6, missing and unseen values included', async () => {
    const { m, encoding } = model();
    const rows = [
      { device: 'android', country: 'us', price: 4, age: 40 }, { device: 'tv', country: 'fr', price: 100, age: NaN },
      { device: 'web', country: 'it', price: -1, age: 18 }, { device: 'ios', country: 'de', price: 0, age: 65 },
    ];
    const expected = predict(m, encodeRows(encoding, rows)).data;
    const session = await ort.InferenceSession.create(exportOnnx(m, { encoding }));
    const out = await session.run({
      device: new ort.Tensor('string', rows.map((r) => r.device), [4]),
      country: new ort.Tensor('string', rows.map((r) => r.country), [4]),
      price: new ort.Tensor('float64', Float64Array.from(rows, (r) => r.price), [4, 1]),
      age: new ort.Tensor('float64', Float64Array.from(rows, (r) => r.age), [4, 1]),
    });
    const got = out.predictions.data as Float32Array;
    expect(got).toHaveLength(8);
    for (let i = 0; i < 8; i++) expect(Math.abs(got[i] - expected[i])).toBeLessThanOrEqual(1e-6);
  });

  it('names a column the model lacks and an option it does not know', () => {
    const { m, encoding } = model();
    expect(() => exportOnnx(m, { encoding: { ...encoding, dense: [...encoding.dense, { column: 'tenure', mean: 0, std: 1 }] } }))
      .toThrow(/^exportOnnx: encoding column 'tenure' is not a feature of the model \(device, country, price, age\)/);
    expect(() => exportOnnx(m, { encoding: { sparse: [{ column: 'device', vocabulary: [1] }], dense: [] } as never }))
      .toThrow(/^exportOnnx: encoding.sparse entries must be \{ column, vocabulary: string\[\], hashBuckets\? \}/);
  });
});
