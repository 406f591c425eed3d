import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tensor } from '../../src/autograd/index.js';
import { manualSeed } from '../../src/tensor/index.js';
import { fit, fitAsync, type Batch, type FitOptions } from '../../src/train/trainer.js';
import { decodeCheckpoint, encodeCheckpoint, type TrainingCheckpoint } from '../../src/train/checkpoint.js';
import { ModelCheckpoint, loadCheckpoint } from '../../src/train/checkpoint-node.js';
import type { History } from '../../src/train/history.js';
import type { MultiTaskModel } from '../../src/models/index.js';
import { checkpointRun } from './fixtures/checkpoint-run.js';

/*
 * Checkpoints of learned task weights (their parameters and their own Adam) and checkpoints
 * taken inside an epoch (ModelCheckpoint's everySteps): each resumed fit must end bit-identical
 * to the fit that was never interrupted.
 */

const stateOf = (m: MultiTaskModel): Record<string, number[]> =>
  Object.fromEntries(Object.entries(m.stateDict()).map(([k, t]) => [k, Array.from(t.data)]));
const logsOf = (h: History): unknown => ({ logs: h.epochs.map((e) => [e.epoch, e.logs]), best: h.bestEpoch, stopped: h.stoppedEarly });
const tmp = (): string => mkdtempSync(join(tmpdir(), 'mmoe-ckpt-steps-'));

function uncut(extra: FitOptions): { model: MultiTaskModel; history: History } {
  const { model, data, opts } = checkpointRun(1);
  return { model, history: fit(model, data, { ...opts, ...extra }) };
}

/** A fresh model, other initial weights and global seed: only the checkpoint can make it match. */
function resumed(extra: FitOptions, from: TrainingCheckpoint | Uint8Array): { model: MultiTaskModel; history: History } {
  const { model, data, opts } = checkpointRun(2);
  manualSeed(999);
  return { model, history: fit(model, data, { ...opts, ...extra, resumeFrom: from }) };
}

/** Interrupts a fit right after its `total`-th step (an abort), returning what ModelCheckpoint left. */
function interruptedAt(extra: FitOptions, total: number, everySteps: number): TrainingCheckpoint {
  const dir = tmp();
  const { model, data, opts } = checkpointRun(1);
  const abort = new AbortController();
  expect(() => fit(model, data, {
    ...opts, ...extra, signal: abort.signal,
    callbacks: [new ModelCheckpoint({ dir, monitor: 'val_click_auc', everySteps }), { onBatchEnd: (_s, _l, c) => { if (c.totalSteps === total) abort.abort(); } }],
  })).toThrow(/aborted/);
  return loadCheckpoint(join(dir, 'last.ckpt'));
}

describe('checkpoints of learned task weights', () => {
  for (const method of ['uncertainty', 'gradnorm'] as const) {
    it(`${method}: resumed from an epoch-3 checkpoint's bytes, weights, task weights and history are bit-identical`, () => {
      const extra: FitOptions = { taskWeighting: method };
      const ref = uncut(extra);
      const { model, data, opts } = checkpointRun(1);
      let saved: TrainingCheckpoint | null = null;
      fit(model, data, { ...opts, ...extra, callbacks: { onEpochEnd: (log, c) => { if (log.epoch === 3) { saved = c.checkpoint(); c.stop(); } } } });
      const st = saved!.taskWeighting as { method: string; values: number[] };
      expect(st.method).toBe(method);
      const bytes = encodeCheckpoint(saved!);
      expect(decodeCheckpoint(bytes).taskWeighting).toEqual(saved!.taskWeighting);
      const res = resumed(extra, bytes);
      expect(stateOf(res.model)).toEqual(stateOf(ref.model));
      expect(logsOf(res.history)).toEqual(logsOf(ref.history));
      // The learned weights moved (so restoring them was needed: a fresh scheme starts elsewhere).
      expect(ref.history.series('click_weight').at(-1)).not.toBe(1);
      // A checkpoint without the weights' state cannot make the same run.
      const wrong = { ...saved!, taskWeighting: { ...st, method: method === 'uncertainty' ? 'gradnorm' : 'uncertainty' } };
      expect(() => resumed(extra, wrong)).toThrow(`fit: resumeFrom: the checkpoint does not fit this model and optimizer: taskWeighting: the checkpoint's state is not ${method} weighting`);
      expect(() => resumed({}, saved!)).toThrow('fit: resumeFrom: the checkpoint was taken with a learned taskWeighting, this fit has none');
    });
  }
});

describe('checkpoints inside an epoch (ModelCheckpoint everySteps)', () => {
  // 120 training rows, batch 32: 4 steps per epoch; 11 = epoch 3, batch 3.
  const cases: Array<[string, FitOptions]> = [
    ['a seeded shuffle', {}],
    ['the global generator shuffling and dropping out (no seed)', { seed: undefined }],
    ['gradnorm task weights', { taskWeighting: 'gradnorm' }],
  ];
  for (const [name, extra] of cases) {
    it(`resumes mid-epoch bit-identically: ${name}`, () => {
      const ref = uncut(extra);
      const ckpt = interruptedAt(extra, 11, 5);
      // Written after steps 5 and 10 (epoch 3, batch 2), and at epoch ends: the last is step 10.
      expect(ckpt.step).toBe(10);
      expect(ckpt.epoch).toBe(2);
      expect(ckpt.partial!.batch).toBe(2);
      const res = resumed(extra, ckpt);
      expect(stateOf(res.model)).toEqual(stateOf(ref.model));
      expect(logsOf(res.history)).toEqual(logsOf(ref.history));
    });
  }

  it('a mid-epoch checkpoint without the epoch\'s running sums would log another loss (the test can fail)', () => {
    const ref = uncut({});
    const ckpt = interruptedAt({}, 11, 5);
    const res = resumed({}, { ...ckpt, partial: { ...ckpt.partial!, lossSum: 0 } });
    expect(logsOf(res.history)).not.toEqual(logsOf(ref.history));
  });

  it('resumes a stream mid-epoch, skipping the batches done', async () => {
    const { data } = checkpointRun(1);
    const n = 120, bs = 32;
    const batches: Batch[] = [];
    for (let a = 0; a < n; a += bs) {
      const b = Math.min(n, a + bs);
      batches.push({ x: new Tensor(data.x.data.slice(a * 6, b * 6), [b - a, 6]), y: (data.y.data as Float32Array).slice(a * 2, b * 2) });
    }
    const streamOpts = (): FitOptions => ({ epochs: 4, lr: 0.02, seed: 3, verbose: 0 });
    const run = async (resumeFrom?: TrainingCheckpoint, signal?: AbortSignal, cb?: FitOptions['callbacks']): Promise<MultiTaskModel> => {
      const { model } = checkpointRun(resumeFrom ? 2 : 1);
      await fitAsync(model, { async *[Symbol.asyncIterator]() { yield* batches; } }, { ...streamOpts(), resumeFrom, signal, callbacks: cb });
      return model;
    };
    const ref = await run();
    const dir = tmp();
    const abort = new AbortController();
    await expect(run(undefined, abort.signal, [new ModelCheckpoint({ dir, monitor: 'loss', everySteps: 3 }), { onBatchEnd: (_s, _l, c) => { if (c.totalSteps === 7) abort.abort(); } }])).rejects.toThrow(/aborted/);
    const ckpt = loadCheckpoint(join(dir, 'last.ckpt'));
    expect([ckpt.step, ckpt.epoch, ckpt.partial!.batch]).toEqual([6, 1, 2]);
    expect(stateOf(await run(ckpt))).toEqual(stateOf(ref));
  });

  it('checks everySteps', () => {
    expect(() => new ModelCheckpoint({ dir: tmp(), everySteps: 0 })).toThrow('ModelCheckpoint: everySteps must be a positive integer, got 0');
    expect(() => new ModelCheckpoint({ dir: tmp(), everySteps: 2, saveLast: false })).toThrow('ModelCheckpoint: everySteps writes last.ckpt, but saveLast is false');
  });
});
