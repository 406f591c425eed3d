import { describe, expect, it } from 'vitest';
import { Tensor } from '../../src/autograd/index.js';
import { manualSeed } from '../../src/tensor/index.js';
import { evaluate, fit } from '../../src/train/trainer.js';
import type { TrainingCheckpoint } from '../../src/train/checkpoint.js';
import { smallMMoE, teacherData } from './helpers.js';

const rows = (d: { x: Tensor; y: Tensor }, a: number, b: number): { x: Tensor; y: Tensor } => ({
  x: new Tensor(d.x.data.slice(a * 6, b * 6), [b - a, 6]), y: new Tensor(d.y.data.slice(a * 2, b * 2), [b - a, 2]),
});

function run(extra: object = {}): ReturnType<typeof fit> {
  manualSeed(0);
  const d = teacherData(240, 6, 5);
  return fit(smallMMoE(3), rows(d, 0, 160), {
    epochs: 12, batchSize: 16, lr: 0.05, seed: 1, verbose: 0, validationData: rows(d, 160, 240),
    earlyStopping: { perTask: true, patience: 1, restoreBestWeights: true }, ...extra,
  });
}

describe('per-task early stopping', () => {
  it('stops each task on its own validation loss, drops a stopped task from the training loss, and keeps each task\'s best weights', () => {
    const h = run();
    const per = h.taskEarlyStopping!;
    const d = teacherData(240, 6, 5);
    const val = rows(d, 160, 240);
    const stoppedEarly = Object.entries(per).filter(([, s]) => s.stoppedAt !== 0 && s.stoppedAt < h.epochs.length);
    expect(stoppedEarly.length).toBeGreaterThan(0); // the set-up must exercise a task stopping before the other
    for (const [task, s] of Object.entries(per)) {
      const key = `val_${task}_${task === 'click' ? 'logloss' : 'mse'}`;
      const series = h.series(key).slice(0, s.stoppedAt || h.epochs.length);
      expect(s.bestEpoch).toBe(series.indexOf(Math.min(...series)) + 1);
      // The best weights give back the best epoch's validation value.
      const m = smallMMoE(99);
      m.loadStateDict(h.taskBestWeights![task]);
      const ev = evaluate(m, val, { batchSize: 1024 });
      expect(ev.tasks[task][task === 'click' ? 'logloss' : 'mse']).toBeCloseTo(series[s.bestEpoch - 1], 6);
    }
    for (const [task, s] of stoppedEarly) {
      const other = task === 'click' ? 'value' : 'click';
      // After it stopped, the training loss is the other task's loss alone.
      for (const e of h.epochs.slice(s.stoppedAt)) expect(e.logs.loss).toBeCloseTo(e.logs[`${other}_loss`], 5);
      expect(h.epochs[s.stoppedAt - 1].logs.loss).not.toBeCloseTo(h.epochs[s.stoppedAt - 1].logs[`${other}_loss`], 3);
    }
  });

  it('resumes bit-identically, stopped tasks included', () => {
    const ref = run();
    let saved: TrainingCheckpoint | null = null;
    const first = Math.min(...Object.values(ref.taskEarlyStopping!).map((s) => s.stoppedAt).filter((e) => e > 0));
    run({ callbacks: { onEpochEnd: (l: { epoch: number }, c: { checkpoint(): TrainingCheckpoint; stop(): void }) => { if (l.epoch === first) { saved = c.checkpoint(); c.stop(); } } } });
    const h = run({ resumeFrom: saved! });
    expect(h.epochs.map((e) => e.logs)).toEqual(ref.epochs.map((e) => e.logs));
    expect(h.taskEarlyStopping).toEqual(ref.taskEarlyStopping);
  });

  it('checks its options', () => {
    expect(() => run({ earlyStopping: { perTask: true, monitor: 'val_loss' } })).toThrow("fit: earlyStopping.monitor with perTask must contain '{task}'");
    expect(() => run({ earlyStopping: { perTask: 'yes' } })).toThrow('fit: earlyStopping.perTask must be true or false');
    expect(() => run({ earlyStopping: { perTask: true, monitor: 'val_{task}_nope' } })).toThrow("fit: earlyStopping monitors 'val_value_nope', which is not logged");
    expect(() => run({ earlyStopping: { perTask: true }, taskWeighting: 'uncertainty' })).toThrow('fit: earlyStopping.perTask stops a task by zeroing its fixed loss weight');
    expect(() => run({ earlyStopping: { perTsk: true } })).toThrow(/fit: earlyStopping: unknown option 'perTsk'/);
  });
});
