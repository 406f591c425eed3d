import { loadCensusIncome } from './src/data/census.ts';
import { censusFeatures, censusDataset } from './src/experiments/census.ts';
import { MMoE, OMoE, SharedBottom, SingleTask, PLE } from './src/models/index.ts';
import { fit, evaluate } from './src/train/trainer.ts';
const data = await loadCensusIncome({ seed: 0 });
const features = censusFeatures(data, 4);
const train = censusDataset(data, data.train), test = censusDataset(data, data.test);
const common = { features, taskTypes: ['binary','binary'] as const, taskNames: ['income','never_married'], seed: 1, initStd: 0.05, l2RegEmbedding: 1e-6 };
const E = Number(process.env.E ?? 16);
const mk: Record<string, () => any> = {
  mmoe: () => new MMoE({ ...common, numExperts: 4, expertHiddenUnits: [E], towerHiddenUnits: [8] }),
  omoe: () => new OMoE({ ...common, numExperts: 4, expertHiddenUnits: [E], towerHiddenUnits: [8] }),
  sb: () => new SharedBottom({ ...common, bottomHiddenUnits: [4*E], towerHiddenUnits: [8] }),
  st: () => new SingleTask({ ...common, hiddenUnits: [2*E, 8] }),
  ple: () => new PLE({ ...common, numLevels: 1, sharedExpertNum: 2, specificExpertNum: 1, expertHiddenUnits: [E], towerHiddenUnits: [8] }),
};
for (const [k, f] of Object.entries(mk)) {
  const t = performance.now(); const m = f();
  fit(m, train, { epochs: 1, batchSize: Number(process.env.B ?? 512), optimizer: 'adam', lr: Number(process.env.LR ?? 4e-3), seed: 2, verbose: 0 });
  const t1 = performance.now();
  const ev = evaluate(m, test, { batchSize: 4096 });
  console.log(k, m.numParameters(), ((t1-t)/1000).toFixed(2), ((performance.now()-t1)/1000).toFixed(2), ev.tasks.income.auc.toFixed(4), ev.tasks.never_married.auc.toFixed(4));
}
