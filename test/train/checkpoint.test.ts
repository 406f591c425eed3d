import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { manualSeed } from '../../src/tensor/index.js';
import { fit } from '../../src/train/trainer.js';
import { decodeCheckpoint, encodeCheckpoint, type TrainingCheckpoint } from '../../src/train/checkpoint.js';
import { ModelCheckpoint, loadCheckpoint } from '../../src/train/checkpoint-node.js';
import type { History } from '../../src/train/history.js';
import type { MultiTaskModel } from '../../src/models/index.js';
import { checkpointRun } from './fixtures/checkpoint-run.js';

const stateOf = (m: MultiTaskModel): Record<string, number[]> =>
  Object.fromEntries(Object.entries(m.stateDict()).map(([k, t]) => [k, Array.from(t.data)]));
/** Everything in a history but the wall-clock fields. */
const logsOf = (h: History): unknown => ({ logs: h.epochs.map((e) => [e.epoch, e.logs]), best: h.bestEpoch, stopped: h.stoppedEarly });
const tmp = (): string => mkdtempSync(join(tmpdir(), 'mmoe-ckpt-'));

function uncut(): { model: MultiTaskModel; history: History } {
  const { model, data, opts } = checkpointRun(1);
  return { model, history: fit(model, data, opts) };
}

/** A fresh model with other initial weights and another global seed: only the checkpoint can make it match. */
function resumed(from: TrainingCheckpoint | Uint8Array): { model: MultiTaskModel; history: History } {
  const { model, data, opts } = checkpointRun(2);
  manualSeed(999);
  return { model, history: fit(model, data, { ...opts, resumeFrom: from }) };
}

describe('checkpoints and resume', () => {
  it('a fit interrupted after epoch 2 and resumed from ModelCheckpoint\'s last file is bit-identical to an uninterrupted one', () => {
    const ref = uncut();
    const dir = tmp();
    const { model, data, opts } = checkpointRun(1);
    let epoch = 0;
    const abort = new AbortController();
    expect(() => fit(model, data, {
      ...opts, signal: abort.signal,
      callbacks: [new ModelCheckpoint({ dir, monitor: 'val_click_auc' }), {
        onEpochEnd: (log) => { epoch = log.epoch; },
        onBatchEnd: (step) => { if (epoch === 2 && step === 2) abort.abort(); },
      }],
    })).toThrow(/aborted/);
    const ckpt = loadCheckpoint(join(dir, 'last.ckpt'));
    expect(ckpt.epoch).toBe(2);
    expect(ckpt.step).toBe(8); // 120 training rows, batch 32: 4 steps per epoch
    const res = resumed(ckpt);
    expect(stateOf(res.model)).toEqual(stateOf(ref.model));
    expect(logsOf(res.history)).toEqual(logsOf(ref.history));
    // Without the checkpoint the same set-up ends elsewhere (the comparison can fail).
    const { model: other, data: d2, opts: o2 } = checkpointRun(2);
    fit(other, d2, o2);
    expect(stateOf(other)).not.toEqual(stateOf(ref.model));
  });

  it('a child process SIGKILLed between checkpoints resumes to the same weights and history', async () => {
    const ref = uncut();
    const dir = tmp();
    const child = spawn(process.execPath, ['--experimental-wasm-relaxed-simd', '--import', 'tsx', join(import.meta.dirname, 'fixtures/checkpoint-child.ts'), dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stderr.on('data', (b) => { err += String(b); });
    const exit = new Promise<string | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (b) => {
        out += String(b);
        if (out.includes('mid-epoch-3')) resolve();
      });
      child.on('exit', () => reject(new Error(`child exited before epoch 3: ${out} ${err}`)));
    });
    child.kill('SIGKILL');
    expect(await exit).toBe('SIGKILL');
    // The atomic writes leave only whole files behind, no temp files.
    expect(readdirSync(dir).sort()).toEqual(['best.ckpt', 'last.ckpt']);
    const ckpt = loadCheckpoint(join(dir, 'last.ckpt'));
    expect(ckpt.epoch).toBe(2);
    const res = resumed(ckpt);
    expect(stateOf(res.model)).toEqual(stateOf(ref.model));
    expect(logsOf(res.history)).toEqual(logsOf(ref.history));
  });

  it('control.checkpoint() round-trips through bytes, and resuming from the bytes gives the same result', () => {
    const ref = uncut();
    const { model, data, opts } = checkpointRun(1);
    let saved: TrainingCheckpoint | null = null;
    fit(model, data, { ...opts, epochs: 5, callbacks: { onEpochEnd: (log, c) => { if (log.epoch === 3) { saved = c.checkpoint(); c.stop(); } } } });
    const bytes = encodeCheckpoint(saved!);
    const back = decodeCheckpoint(bytes);
    expect(back.epoch).toBe(3);
    expect(back.optimizer).toEqual(saved!.optimizer);
    expect(back.rng).toEqual(saved!.rng);
    expect(back.scheduler).toEqual(saved!.scheduler);
    // The stop was requested after the capture, so the checkpoint does not carry it.
    expect(back.stopped).toBe(false);
    const res = resumed(bytes);
    expect(stateOf(res.model)).toEqual(stateOf(ref.model));
    expect(logsOf(res.history)).toEqual(logsOf(ref.history));
  });

  it('ModelCheckpoint keeps best.ckpt at the best monitored epoch and carries its best value across a resume', () => {
    const dir = tmp();
    const { model, data, opts } = checkpointRun(1);
    const mc = new ModelCheckpoint({ dir, monitor: 'val_click_auc' });
    const h = fit(model, data, { ...opts, callbacks: mc });
    const aucs = h.series('val_click_auc');
    const bestEpoch = aucs.indexOf(Math.max(...aucs)) + 1;
    expect(mc.bestEpoch).toBe(bestEpoch);
    expect(loadCheckpoint(mc.bestPath).epoch).toBe(bestEpoch);
    expect(loadCheckpoint(mc.lastPath).epoch).toBe(5);
    expect(loadCheckpoint(mc.lastPath).callbacks).toEqual([{ best: Math.max(...aucs), bestEpoch }]);
    const mc2 = new ModelCheckpoint({ dir: tmp(), monitor: 'val_click_auc' });
    const r = checkpointRun(2);
    fit(r.model, r.data, { ...r.opts, callbacks: mc2, resumeFrom: loadCheckpoint(join(dir, 'last.ckpt')) });
    expect(mc2.best).toBe(Math.max(...aucs));
  });

  it('a checkpoint whose early stopping had stopped training resumes as stopped', () => {
    const { model, data, opts } = checkpointRun(1);
    let saved: TrainingCheckpoint | null = null;
    const h = fit(model, data, { ...opts, earlyStopping: { patience: 0, monitor: 'loss', mode: 'max' }, callbacks: { onEpochEnd: (_l, c) => { saved = c.checkpoint(); } } });
    expect(h.stoppedEarly).toBe(true);
    expect(saved!.stopped).toBe(true);
    const r = checkpointRun(2);
    const h2 = fit(r.model, r.data, { ...r.opts, earlyStopping: { patience: 0, monitor: 'loss', mode: 'max' }, resumeFrom: saved! });
    expect(h2.epochs.length).toBe(h.epochs.length);
    expect(h2.stoppedEarly).toBe(true);
  });

  it('refuses mismatched resumes and bad options with errors naming them', () => {
    const { model, data, opts } = checkpointRun(1);
    let saved: TrainingCheckpoint | null = null;
    fit(model, data, { ...opts, epochs: 1, callbacks: { onEpochEnd: (_l, c) => { saved = c.checkpoint(); } } });
    const r = checkpointRun(2);
    expect(() => fit(r.model, r.data, { ...r.opts, seed: undefined, resumeFrom: saved! })).toThrow("fit: resumeFrom: the checkpoint was taken with a seed, this fit has none");
    expect(() => fit(r.model, r.data, { ...r.opts, lrScheduler: undefined, resumeFrom: saved! })).toThrow('fit: resumeFrom: the checkpoint was taken with an lrScheduler, this fit has none');
    expect(() => fit(r.model, r.data, { ...r.opts, earlyStopping: undefined, resumeFrom: saved! })).toThrow('fit: resumeFrom: the checkpoint was taken with earlyStopping');
    expect(() => fit(r.model, r.data, { ...r.opts, resumeFrom: { epoch: 1 } as never })).toThrow('fit: resumeFrom must be a training checkpoint');
    expect(() => fit(r.model, r.data, { ...r.opts, resumeFrom: new Uint8Array(3) })).toThrow('decodeCheckpoint:');
    expect(() => fit(r.model, r.data, { ...r.opts, optimizer: 'sgd', resumeFrom: saved! })).toThrow("fit: resumeFrom: the checkpoint holds Adam state, this fit's optimizer is SGD");
    const bigger = checkpointRun(2);
    const wrongModel = { ...saved!, model: { ...saved!.model, extra: saved!.model[Object.keys(saved!.model)[0]] } };
    expect(() => fit(bigger.model, bigger.data, { ...bigger.opts, resumeFrom: wrongModel })).toThrow(/fit: resumeFrom: the checkpoint does not fit this model and optimizer: loadStateDict: unexpected keys: extra/);
    expect(() => fit(r.model, r.data, { ...r.opts, taskWeighting: 'uncertainty', resumeFrom: saved! })).toThrow('fit: resumeFrom: the checkpoint was taken without a learned taskWeighting, this fit has one');
    expect(() => fit(r.model, r.data, { ...r.opts, batchSize: 16, resumeFrom: saved! })).toThrow('fit: resumeFrom: the checkpoint took 4 steps in 1 epoch(s); this fit takes 8 per epoch');
    expect(() => new ModelCheckpoint({ dir: 'x', monitr: 'loss' } as never)).toThrow(/ModelCheckpoint: unknown option 'monitr'/);
    expect(() => new ModelCheckpoint({ dir: '' })).toThrow('ModelCheckpoint: dir must be');
    expect(() => new ModelCheckpoint({ dir: 'x', mode: 'best' as never })).toThrow("ModelCheckpoint: mode must be 'min', 'max' or 'auto'");
    expect(() => new ModelCheckpoint({ dir: 'x', everyEpochs: 0 })).toThrow('ModelCheckpoint: everyEpochs must be a positive integer');
    expect(() => new ModelCheckpoint({ dir: 'x', saveBest: false, saveLast: false })).toThrow('ModelCheckpoint: saveBest and saveLast are both false');
    const dir = tmp();
    expect(() => fit(r.model, r.data, { ...r.opts, epochs: 1, callbacks: new ModelCheckpoint({ dir, monitor: 'val_nope' }) })).toThrow("ModelCheckpoint: monitor 'val_nope' is not logged");
    expect(existsSync(join(dir, 'last.ckpt'))).toBe(false);
    expect(() => loadCheckpoint(join(dir, 'missing.ckpt'))).toThrow('loadCheckpoint: cannot read');
  });
});
