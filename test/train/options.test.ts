import { describe, expect, it } from 'vitest';
import { evaluate, fit, predict } from '../../src/train/trainer.js';
import { smallMMoE, teacherData } from './helpers.js';

const data = teacherData(16, 6, 0);
const anyOpts = (o: object): object => o;

describe('unknown option keys are errors with a did-you-mean', () => {
  it('fit', () => {
    expect(() => fit(smallMMoE(), data, anyOpts({ epoch: 3 })))
      .toThrow(new TypeError("fit: unknown option 'epoch' (did you mean 'epochs'?); allowed: epochs, batchSize, optimizer, lr, lossWeights, sampleWeight, classWeight, taskWeighting, validationSplit, validationData, shuffle, earlyStopping, seed, clipGradNorm, callbacks, verbose, progressStream, lrScheduler, signal, missingLabels, groupBy, resumeFrom, expertHealth, runEagerly"));
    expect(() => fit(smallMMoE(), data, anyOpts({ batch_size: 8 }))).toThrow("fit: unknown option 'batch_size' (did you mean 'batchSize'?)");
    expect(() => fit(smallMMoE(), data, anyOpts({ learningRate: 0.1 }))).toThrow(/^fit: unknown option 'learningRate'; allowed:/);
    expect(() => fit(smallMMoE(), data, null as unknown as object)).toThrow(new TypeError('fit: options must be an object, got null'));
  });

  it('nested: earlyStopping, lrScheduler, callbacks', () => {
    expect(() => fit(smallMMoE(), data, { verbose: 0, earlyStopping: anyOpts({ patiance: 2 }) }))
      .toThrow("fit: earlyStopping: unknown option 'patiance' (did you mean 'patience'?); allowed: monitor, patience, mode, minDelta, restoreBestWeights");
    expect(() => fit(smallMMoE(), data, { verbose: 0, callbacks: anyOpts({ onEpochEnds: () => {} }) }))
      .toThrow("fit: callbacks: unknown option 'onEpochEnds' (did you mean 'onEpochEnd'?)");
    expect(() => fit(smallMMoE(), data, { verbose: 0, callbacks: [{}, anyOpts({ onBatchEnd: 3 })] }))
      .toThrow(new TypeError('fit: callbacks[1].onBatchEnd must be a function, got number'));
    // A class instance may keep its own state next to its hooks.
    class Counter { n = 0; onBatchEnd(): void { this.n++; } }
    const c = new Counter();
    fit(smallMMoE(), data, { verbose: 0, batchSize: 4, callbacks: c });
    expect(c.n).toBe(4);
  });

  it('evaluate and predict', () => {
    expect(() => evaluate(smallMMoE(), data, anyOpts({ metric: ['auc'] })))
      .toThrow(new TypeError("evaluate: unknown option 'metric' (did you mean 'metrics'?); allowed: batchSize, metrics, lossWeights, missingLabels, groupBy"));
    expect(() => predict(smallMMoE(), data.x, anyOpts({ batchsize: 4 })))
      .toThrow(new TypeError("predict: unknown option 'batchsize' (did you mean 'batchSize'?); allowed: batchSize"));
  });

  it('verbose must be 0, 1 or 2', () => {
    expect(() => fit(smallMMoE(), data, { verbose: 3 as 1 })).toThrow(new RangeError('fit: verbose must be 0, 1 or 2, got 3'));
  });
});

describe('option values of the wrong kind are errors naming the option and the value', () => {
  it('fit: a string where a boolean or number belongs (shuffle: "false" would shuffle)', () => {
    expect(() => fit(smallMMoE(), data, anyOpts({ verbose: 0, shuffle: 'false' })))
      .toThrow(new TypeError('fit: shuffle must be a boolean, got the string "false"'));
    expect(() => fit(smallMMoE(), data, anyOpts({ verbose: 0, seed: '7' }))).toThrow(new TypeError('fit: seed must be a number, got the string "7"'));
    expect(() => fit(smallMMoE(), data, anyOpts({ verbose: 0, epochs: '3' }))).toThrow(new TypeError('fit: epochs must be a number, got the string "3"'));
    expect(() => fit(smallMMoE(), data, anyOpts({ verbose: 0, earlyStopping: true }))).toThrow(new TypeError('fit: earlyStopping must be an object, got boolean true'));
  });
  it('evaluate and predict: batchSize', () => {
    expect(() => evaluate(smallMMoE(), data, anyOpts({ batchSize: '8' }))).toThrow('evaluate: batchSize must be a positive integer, got the string "8"');
    expect(() => predict(smallMMoE(), data.x, anyOpts({ batchSize: true }))).toThrow('predict: batchSize must be a positive integer, got boolean true');
  });
});

describe('History.series', () => {
  it('a key no epoch logged is an error with a did-you-mean and the logged keys', () => {
    const h = fit(smallMMoE(), data, { verbose: 0, epochs: 2, validationSplit: 0.25 });
    expect(h.series('val_loss')).toHaveLength(2);
    expect(() => h.series('val_los')).toThrow(/^History\.series: no epoch logged 'val_los' \(did you mean 'val_loss'\?\); logged: .*\bloss\b/);
    expect(() => h.series('zzz')).toThrow(/^History\.series: no epoch logged 'zzz'; logged: /);
  });
});
