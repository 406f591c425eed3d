import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { noGrad } from '../../src/autograd/index.js';
import {
  AITM, DCNMix, ESMM, MMoE, MultiTaskBase, hashBucket, modelClasses, modelNames, deserializeModel, encodeRows, encodingFeatures, fitRowEncoding, serializeModel,
  MODEL_FORMAT_VERSION, type ModelInput, type MultiTaskModel,
} from '../../src/models/index.js';
import { FormatError, deserializeSafetensorsWithMetadata, serializeSafetensors } from '../../src/nn/safetensors.js';
import { loadModel, saveModel } from '../../src/models/model-file-node.js';
import { predict } from '../../src/train/evaluate.js';
import { ReLU } from '../../src/nn/activation.js';
import { moduleTypeName } from '../../src/nn/type-name.js';
import { buildModels, denseBatch, featureBatch, features } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'mmoe-ts-model-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function scores(m: MultiTaskModel, x: ModelInput): Float32Array | Float64Array {
  m.eval();
  return noGrad(() => m.forward(x)).data;
}

/** Replaces the JSON spec in a model file's metadata (to make old / bad files). */
function withSpec(bytes: Uint8Array, edit: (meta: Record<string, string>) => void): Uint8Array {
  const { tensors, metadata } = deserializeSafetensorsWithMetadata(bytes);
  edit(metadata);
  return serializeSafetensors(tensors, metadata);
}

describe('serializeModel / deserializeModel', () => {
  for (const input of ['dense', 'features'] as const) {
    it(`every architecture (${input} input) comes back with no options and predicts the same`, () => {
      const x = input === 'dense' ? denseBatch(5) : featureBatch(5, 3);
      for (const [name, model] of Object.entries(buildModels(input, { seed: 7, initStd: 0.3 }))) {
        const { model: back, spec } = deserializeModel(serializeModel(model as MultiTaskBase));
        expect(back.constructor, name).toBe(model.constructor);
        expect(spec.architecture).toBe((model as MultiTaskBase).architecture);
        expect(back.taskNames).toEqual(model.taskNames);
        expect(back.training).toBe(false);
        expect(Array.from(scores(back, x)), name).toEqual(Array.from(scores(model, x)));
      }
    });
  }

  it('keeps float64, ESMM defaults and BatchNorm running statistics', () => {
    const m = new MMoE({ features, taskTypes: ['binary', 'regression'], taskNames: ['ctr', 'time'], numExperts: 2, expertHiddenUnits: [4], towerHiddenUnits: [2], dnnUseBn: true, seed: 3 }).to('float64');
    m.train();
    noGrad(() => m.forward(featureBatch(6, 1))); // moves the running statistics
    const back = deserializeModel(serializeModel(m)).model;
    expect(back.parameters()[0].dtype).toBe('float64');
    expect(Array.from(scores(back, featureBatch(4, 2)))).toEqual(Array.from(scores(m, featureBatch(4, 2))));
    const e = new ESMM({ inputDim: 3, towerHiddenUnits: [2] });
    expect(deserializeModel(serializeModel(e)).model.taskNames).toEqual(['ctr', 'ctcvr']);
  });

  it('stores the row encoding and extra; raw rows encode the same way after the round trip', () => {
    const rows = [{ city: 'paris', age: 30 }, { city: 'rome', age: '50' }, { city: null, age: 41 }, { city: 'oslo', age: NaN }];
    const encoding = fitRowEncoding(rows, { sparse: ['city'], dense: ['age'] });
    expect(encoding.sparse[0].vocabulary).toEqual(['oslo', 'paris', 'rome']);
    expect(encoding.dense[0].mean).toBeCloseTo(40.333333, 5);
    const m = new MMoE({ features: encodingFeatures(encoding, { city: { embeddingDim: 2 } }), taskTypes: ['binary'], numExperts: 2, expertHiddenUnits: [3], towerHiddenUnits: [2] });
    const loaded = deserializeModel(serializeModel(m, { encoding, extra: { note: 'x' } }));
    expect(loaded.encoding).toEqual(encoding);
    expect(loaded.extra).toEqual({ note: 'x' });
    const x = encodeRows(loaded.encoding!, [{ city: 'rome', age: 40.333333333333336 }, { city: 'atlantis' }]);
    expect(Array.from(x.city as Int32Array)).toEqual([3, 0]);
    expect(Array.from(x.age as Float32Array)).toEqual([0, 0]);
    expect(predict(loaded.model, x).shape).toEqual([2, 1]);
    expect(() => encodeRows(encoding, [{ city: 'rome', age: 'old' }])).toThrow(/^encodeRows: row 0: numeric column 'age' must be a number, got "old"/);
    expect(() => serializeModel(m, { encoding: { sparse: [{ column: 'town', vocabulary: [] }], dense: [] } })).toThrow(/^serializeModel: encoding column 'town' is not a feature of the model/);
  });

  it('refuses options JSON cannot hold, and unknown options', () => {
    const m = new MMoE({ inputDim: 3, taskTypes: ['binary'], numExperts: 2, expertHiddenUnits: [3], towerHiddenUnits: [2], dnnActivation: () => new ReLU() });
    expect(() => serializeModel(m)).toThrow(/^serializeModel: option dnnActivation is a function; a model file holds JSON values only/);
    expect(() => serializeModel(new ESMM({ inputDim: 3 }), { encodng: {} } as never)).toThrow(/^serializeModel: unknown option 'encodng' \(did you mean 'encoding'\?\)/);
  });

  it('names what is wrong with plain, newer, broken and mismatched files, as FormatErrors', () => {
    const m = new MMoE({ inputDim: 3, taskTypes: ['binary'], numExperts: 2, expertHiddenUnits: [3], towerHiddenUnits: [2] });
    const good = serializeModel(m);
    const cases: Array<[Uint8Array, RegExp]> = [
      [serializeSafetensors(m.stateDict()), /^deserializeModel: not an mmoe-ts model file .* plain safetensors state dict/],
      [serializeSafetensors(m.stateDict(), { model: 'MMoE' }), /older mmoe-ts \(model 'MMoE', no options saved\)/],
      [withSpec(good, (md) => { md.format_version = String(MODEL_FORMAT_VERSION + 1); }), /format version 2 is newer than this mmoe-ts reads \(1\); upgrade mmoe-ts/],
      [withSpec(good, (md) => { md.mmoe_ts_model = '{'; }), /metadata 'mmoe_ts_model' is not valid JSON/],
      [withSpec(good, (md) => { md.mmoe_ts_model = md.mmoe_ts_model.replace('"MMoE"', '"XGBoost"'); }), /architecture "XGBoost" is not one this mmoe-ts knows/],
      [withSpec(good, (md) => { md.mmoe_ts_model = md.mmoe_ts_model.replace('"numExperts":2', '"numExperts":3'); }), /the weights do not fit the saved MMoE/],
      [withSpec(good, (md) => { md.mmoe_ts_model = md.mmoe_ts_model.replace('"numExperts":2', '"numExpert":3'); }), /the saved options do not build a MMoE: MMoE: unknown option/],
      [good.slice(0, 20), /^deserializeModel: /],
    ];
    for (const [bytes, pattern] of cases) {
      let err: unknown;
      try { deserializeModel(bytes); } catch (e) { err = e; }
      expect(err, String(pattern)).toBeInstanceOf(FormatError);
      expect((err as Error).message).toMatch(pattern);
    }
  });
});

describe("main's models and options in the model file", () => {
  it('DCNMix and AITM are registered, name themselves, and come back with no options', () => {
    for (const name of modelNames) expect(modelClasses[name], name).toBeDefined();
    const x = featureBatch(5, 4);
    const ms = [
      new DCNMix({ features, taskTypes: ['binary', 'regression'], crossNum: 2, lowRank: 2, numExperts: 2, dnnHiddenUnits: [3], seed: 1 }),
      new AITM({ features, taskTypes: ['binary', 'binary'], towerHiddenUnits: [3], seed: 2 }),
    ];
    for (const m of ms) {
      expect(moduleTypeName(m)).toBe(m.architecture);
      const back = deserializeModel(serializeModel(m)).model;
      expect(back.constructor).toBe(m.constructor);
      expect(Array.from(scores(back, x))).toEqual(Array.from(scores(m, x)));
    }
  });

  it('a multiclass model with a hashed column and sparse embeddings round-trips with its encoding', () => {
    const rows = [{ user: 'u1', city: 'rome', age: 30 }, { user: 'u2', city: 'oslo', age: 50 }, { user: null, city: 'rome', age: 41 }];
    const encoding = fitRowEncoding(rows, { sparse: ['user', 'city'], dense: ['age'], hashBuckets: { user: 13 } });
    expect(encoding.sparse[0]).toEqual({ column: 'user', vocabulary: [], hashBuckets: 13 });
    const x = encodeRows(encoding, rows);
    expect(Array.from(x.user)).toEqual([hashBucket('u1', 13), hashBucket('u2', 13), hashBucket('', 13)]);
    const m = new MMoE({
      features: encodingFeatures(encoding), taskTypes: ['multiclass', 'binary'], taskNames: ['genre', 'ctr'], numClasses: { genre: 3 },
      sparseEmbedding: true, numExperts: 2, expertHiddenUnits: [4], towerHiddenUnits: [2], seed: 5,
    });
    const { model: back, spec, encoding: enc } = deserializeModel(serializeModel(m, { encoding }));
    expect(back.numClasses).toEqual([3, 1]);
    expect(spec.options.sparseEmbedding).toBe(true);
    expect(back.inputLayer!.features[0]).toMatchObject({ name: 'user', vocabularySize: 13, useHash: true });
    m.eval();
    expect(Array.from(predict(back, encodeRows(enc!, rows)).data)).toEqual(Array.from(predict(m, x).data));
    expect(() => fitRowEncoding(rows, { sparse: ['user'], hashBuckets: { city: 4 } })).toThrow(/^fitRowEncoding: hashBuckets names 'city', which is not a sparse column/);
    expect(() => fitRowEncoding(rows, { sparse: ['user'], hashBuckets: { user: 0 } })).toThrow(/^fitRowEncoding: hashBuckets of 'user' must be an integer/);
  });
});

describe('saveModel / loadModel (Node)', () => {
  it('writes one file and reads it back, naming the file in errors', async () => {
    const m = buildModels('features', { seed: 5, initStd: 0.2 }).PLE as MultiTaskBase;
    const file = join(dir, 'ple.safetensors');
    await saveModel(file, m);
    const { model } = await loadModel(file);
    expect(Array.from(scores(model, featureBatch(3, 9)))).toEqual(Array.from(scores(m, featureBatch(3, 9))));
    writeFileSync(join(dir, 'plain.safetensors'), serializeSafetensors(m.stateDict()));
    await expect(loadModel(join(dir, 'plain.safetensors'))).rejects.toThrow(/^loadModel: .*plain\.safetensors: not an mmoe-ts model file/);
    await expect(loadModel(join(dir, 'none.safetensors'))).rejects.toThrow(/^loadModel: cannot read .*none\.safetensors: ENOENT/);
  });
});

describe('serializeModel and subclasses', () => {
  it('refuses a subclass, which loading would rebuild as its base class', () => {
    class Mine extends ESMM {}
    expect(() => serializeModel(new Mine({ inputDim: 3 }))).toThrow(/^serializeModel: the model is a subclass of ESMM/);
  });
});

describe('error classes from the package root', () => {
  it('FormatError is exported and thrown by the safetensors readers', async () => {
    const root = await import('../../src/index.js');
    expect(root.FormatError).toBe(FormatError);
    expect(() => root.deserializeSafetensors(new Uint8Array(3))).toThrow(root.FormatError);
    expect(root.OnnxExportError.prototype).toBeInstanceOf(Error);
  });
});
