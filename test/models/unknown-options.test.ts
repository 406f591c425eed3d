import { describe, expect, it } from 'vitest';
import {
  DCN, MMoE, OMoE, PLE, SharedBottom, SingleTask, SparseFeat, nn, optim, tensor, zeros,
} from '../../src/index.js';
import { parseTrainConfig } from '../../src/cli/config.js';
import { createModel } from '../../src/models/index.js';

const dense = { inputDim: 4, taskTypes: ['binary', 'regression'] as const };

describe('unknown option keys are errors with a did-you-mean', () => {
  it.each([
    ['MMoE', () => new MMoE({ ...dense, numExperts: 2, expertHiddenUnits: [3], towerHiddenUnit: [2] } as never), 'towerHiddenUnit', 'towerHiddenUnits'],
    ['OMoE', () => new OMoE({ ...dense, numExpert: 2, expertHiddenUnits: [3] } as never), 'numExpert', 'numExperts'],
    ['SharedBottom', () => new SharedBottom({ ...dense, bottomHiddenUnits: [3], l2RegDNN: 0 } as never), 'l2RegDNN', 'l2RegDnn'],
    ['SingleTask', () => new SingleTask({ ...dense, hidenUnits: [3] } as never), 'hidenUnits', 'hiddenUnits'],
    ['PLE', () => new PLE({ ...dense, expertHiddenUnits: [3], sharedExpertNums: 1 } as never), 'sharedExpertNums', 'sharedExpertNum'],
    ['DCN', () => new DCN({ inputDim: 4, crosNum: 2 } as never), 'crosNum', 'crossNum'],
    ['Linear', () => new nn.Linear(2, 3, { bais: false } as never), 'bais', 'bias'],
    ['DNN', () => new nn.DNN(2, [3], { use_bn: true } as never), 'use_bn', 'useBn'],
    ['CrossNet', () => new nn.CrossNet(3, { layerNums: 2 } as never), 'layerNums', 'layerNum'],
    ['BatchNorm1d', () => new nn.BatchNorm1d(3, { momentun: 0.1 } as never), 'momentun', 'momentum'],
    ['Embedding', () => new nn.Embedding(5, 2, { padding_idx: 0 } as never), 'padding_idx', 'paddingIdx'],
    ['SparseFeat', () => SparseFeat('a', 5, { embeddingDims: 4 } as never), 'embeddingDims', 'embeddingDim'],
    ['mseLoss', () => nn.mseLoss(zeros([2]), zeros([2]), { reductio: 'sum' } as never), 'reductio', 'reduction'],
    ['BCEWithLogitsLoss', () => new nn.BCEWithLogitsLoss({ pos_weight: tensor([1]) } as never), 'pos_weight', 'posWeight'],
    ['Adam', () => new optim.Adam([zeros([2], { requiresGrad: true })], { weight_decay: 0.1 } as never), 'weight_decay', 'weightDecay'],
    ['SGD', () => new optim.SGD([zeros([2], { requiresGrad: true })], { momentm: 0.9 } as never), 'momentm', 'momentum'],
  ])('%s', (fn, make, key, near) => {
    expect(make).toThrow(TypeError);
    expect(make).toThrow(new RegExp(`^${fn}: unknown option '${key}' \\(did you mean '${near}'\\?\\); allowed: `));
  });

  it('a parameter group with an unknown key is an error too', () => {
    const p = zeros([2], { requiresGrad: true });
    expect(() => new optim.Adam([{ params: [p], learningRate: 0.1 } as never])).toThrow(/^Adam: parameter group 0: unknown option 'learningRate'/);
  });

  it('valid options still pass, including every common model option', () => {
    expect(() => new MMoE({
      ...dense, numExperts: 2, expertHiddenUnits: [3], gateHiddenUnits: [], towerHiddenUnits: [2], taskNames: ['a', 'b'],
      l2RegEmbedding: 0, l2RegDnn: 0, initStd: 0.1, seed: 1, dnnDropout: 0, dnnActivation: 'relu', dnnUseBn: false,
    })).not.toThrow();
    expect(() => new optim.AdamW([zeros([2], { requiresGrad: true })], { lr: 1e-3, weightDecay: 0.1, amsgrad: true })).not.toThrow();
  });

  it('a config file names the misspelt model option and the close one', () => {
    const cfg = parseTrainConfig({
      csv: 'x.csv', labels: [{ column: 'y', type: 'binary' }], dense: ['a'],
      model: { name: 'MMoE', options: { numExpert: 2, expertHiddenUnits: [4] } },
    }, '/tmp');
    expect(() => createModel(cfg.model.name, { ...cfg.model.options, inputDim: 1, taskTypes: ['binary'] } as never))
      .toThrow(/^MMoE: unknown option 'numExpert' \(did you mean 'numExperts'\?\)/);
    expect(() => parseTrainConfig({ csv: 'x.csv', labels: [{ column: 'y', type: 'binary' }], dense: ['a'], model: { name: 'MMoE' }, trainig: {} }, '/tmp'))
      .toThrow(/^config: unknown key 'trainig' \(did you mean 'training'\?\)/);
    expect(() => parseTrainConfig({ csv: 'x.csv', labels: [{ column: 'y', type: 'binary' }], dense: ['a'], model: { name: 'MMoE' }, training: { epoch: 3 } }, '/tmp'))
      .toThrow(/^config: unknown key 'training\.epoch' \(did you mean 'training\.epochs'\?\)/);
  });
});
