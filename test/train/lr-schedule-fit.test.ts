import { describe, expect, it } from 'vitest';
import { ExponentialLR, LinearLR, ReduceLROnPlateau, SGD, StepLR } from '../../src/nn/optim/index.js';
import { fit, fitAsync } from '../../src/train/trainer.js';
import { copyWeights, smallMMoE, teacherData } from './helpers.js';


describe('fit with a learning-rate scheduler', () => {
  it('steps it once per epoch (a function gets fit’s optimizer) and logs the lr of each epoch', async () => {
    const data = teacherData(64, 6, 0);
    const h = fit(smallMMoE(), data, { epochs: 5, batchSize: 16, optimizer: 'sgd', lr: 0.1, verbose: 0, lrScheduler: (o) => new StepLR(o, 2, { gamma: 0.5 }) });
    expect(h.series('lr')).toEqual([0.1, 0.1, 0.05, 0.05, 0.025]);
    const ha = await fitAsync(smallMMoE(), data, { epochs: 3, batchSize: 16, optimizer: 'sgd', lr: 0.1, verbose: 0, lrScheduler: (o) => new ExponentialLR(o, 0.5) });
    expect(ha.series('lr')).toEqual([0.1, 0.05, 0.025]);
  });

  it('the optimizer trains with the scheduled lr: an lr of 0 from epoch 2 leaves the weights of epoch 1', () => {
    const data = teacherData(64, 6, 1);
    const model = smallMMoE(2);
    const opt = new SGD(model.parameters(), { lr: 0.1 });
    let afterEpoch1: Float32Array[] = [];
    const h = fit(model, data, {
      epochs: 3, batchSize: 16, optimizer: opt, verbose: 0,
      lrScheduler: new LinearLR(opt, { startFactor: 1, endFactor: 0, totalIters: 1 }),
      callbacks: { onEpochEnd: (log) => { if (log.epoch === 1) afterEpoch1 = copyWeights(model); } },
    });
    expect(h.series('lr')).toEqual([0.1, 0, 0]);
    expect(afterEpoch1.length).toBeGreaterThan(0);
    expect(copyWeights(model)).toEqual(afterEpoch1);
    expect(h.series('loss')[1]).not.toBe(h.series('loss')[0]);
  });

  it("interval 'step' steps it after every batch", () => {
    const data = teacherData(64, 6, 2);
    const model = smallMMoE();
    const opt = new SGD(model.parameters(), { lr: 1 });
    const h = fit(model, data, { epochs: 2, batchSize: 16, optimizer: opt, verbose: 0, lrScheduler: { scheduler: new ExponentialLR(opt, 0.5), interval: 'step' } });
    // The lr the last of 4 steps used: 0.5^3, then 0.5^7; after 8 steps the group holds 0.5^8.
    expect(h.series('lr')).toEqual([0.5 ** 3, 0.5 ** 7]);
    expect(opt.paramGroups[0].lr).toBe(0.5 ** 8);
  });

  it('ReduceLROnPlateau watches val_loss by default, or the monitored key', () => {
    const data = teacherData(96, 6, 3);
    // In 'max' mode a falling validation loss never improves: the lr drops after every epoch but the first.
    const h = fit(smallMMoE(), data, {
      epochs: 4, batchSize: 16, lr: 0.01, validationSplit: 0.25, verbose: 0,
      lrScheduler: (o) => new ReduceLROnPlateau(o, { mode: 'max', patience: 0 }),
    });
    const val = h.series('val_loss');
    expect(val[1]).toBeLessThan(val[0]);
    expect(h.series('lr').map((v) => Number(v.toPrecision(12)))).toEqual([0.01, 0.01, 0.001, 0.0001]);
    // Monitoring the training loss in 'min' mode with no patience problem: the lr stays.
    const h2 = fit(smallMMoE(), data, {
      epochs: 3, batchSize: 16, lr: 0.01, verbose: 0,
      lrScheduler: { scheduler: (o) => new ReduceLROnPlateau(o, { patience: 5 }), monitor: 'loss' },
    });
    expect(h2.series('lr')).toEqual([0.01, 0.01, 0.01]);
  });

  it('wrong set-ups are errors that say what to do', () => {
    const data = teacherData(32, 6, 4);
    const other = new SGD(smallMMoE().parameters(), { lr: 1 });
    expect(() => fit(smallMMoE(), data, { verbose: 0, lrScheduler: new StepLR(other, 1) }))
      .toThrow("fit: lrScheduler (StepLR) schedules another optimizer than the one fit steps; build it over the optimizer you pass as `optimizer`, or give a function optimizer => scheduler");
    expect(() => fit(smallMMoE(), data, { verbose: 0, lrScheduler: { scheduler: (o) => new StepLR(o, 1), monitor: 'loss' } }))
      .toThrow('fit: lrScheduler.monitor is for ReduceLROnPlateau; StepLR does not watch a value');
    expect(() => fit(smallMMoE(), data, { verbose: 0, lrScheduler: { scheduler: (o) => new ReduceLROnPlateau(o), interval: 'step' } }))
      .toThrow("fit: ReduceLROnPlateau watches a per-epoch value; it cannot step every batch (interval 'step')");
    expect(() => fit(smallMMoE(), data, { verbose: 0, lrScheduler: { scheduler: (o) => new ReduceLROnPlateau(o), monitor: 'val_loss' } }))
      .toThrow("fit: ReduceLROnPlateau monitors 'val_loss' but there is no validation data (give validationSplit or validationData)");
    expect(() => fit(smallMMoE(), data, { verbose: 0, lrScheduler: { scheduler: (o) => new ReduceLROnPlateau(o), monitor: 'val_auc' }, validationSplit: 0.5 }))
      .toThrow(/^fit: ReduceLROnPlateau monitors 'val_auc', which is not logged; logged keys: loss, value_loss, click_loss, val_loss/);
    expect(() => fit(smallMMoE(), data, { verbose: 0, lrScheduler: { scheduler: (o) => new StepLR(o, 1), intervals: 'step' } as object }))
      .toThrow("fit: lrScheduler: unknown option 'intervals' (did you mean 'interval'?)");
    expect(() => fit(smallMMoE(), data, { verbose: 0, lrScheduler: () => 3 as unknown as StepLR }))
      .toThrow('fit: lrScheduler function returned number, not a scheduler (optim.StepLR, ExponentialLR, CosineAnnealingLR, LinearLR, ReduceLROnPlateau)');
    expect(() => fit(smallMMoE(), data, { verbose: 0, lrScheduler: { scheduler: (o) => new StepLR(o, 1), interval: 'batch' as 'step' } }))
      .toThrow("fit: lrScheduler.interval must be 'epoch' or 'step', got batch");
  });
});
