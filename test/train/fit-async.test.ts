import { afterEach, describe, expect, it, vi } from 'vitest';
import { Tensor } from '../../src/autograd/index.js';
import { fit, fitAsync } from '../../src/train/trainer.js';
import { ProgressBar } from '../../src/train/progress.js';
import { createYielder } from '../../src/train/yield.js';
import { copyWeights, sink, smallMMoE, teacherData } from './helpers.js';

const rows = (d: { x: Tensor; y: Tensor }, a: number, b: number): { x: Tensor; y: Tensor } => ({ x: d.x.slice(0, a, b), y: d.y.slice(0, a, b) });

/** Waits 3 ms without yielding, so that a 0 ms timer set before is due. */
const busy = (): void => { const t0 = performance.now(); while (performance.now() - t0 < 3) { /* wait */ } };

describe('fitAsync', () => {
  it('trains exactly as fit does (same losses, same weights, same callbacks)', async () => {
    const data = teacherData(96, 6, 0);
    const calls = (): { log: string[]; cb: object } => {
      const log: string[] = [];
      return { log, cb: { onTrainBegin: () => log.push('begin'), onBatchEnd: (s: number) => log.push(`b${s}`), onEpochEnd: (e: { epoch: number }) => log.push(`e${e.epoch}`), onTrainEnd: () => log.push('end') } };
    };
    const a = smallMMoE(3), b = smallMMoE(3);
    const ca = calls(), cb = calls();
    const ha = fit(a, data, { epochs: 3, batchSize: 16, lr: 0.01, seed: 4, validationSplit: 0.25, verbose: 0, callbacks: ca.cb });
    const promise = fitAsync(b, data, { epochs: 3, batchSize: 16, lr: 0.01, seed: 4, validationSplit: 0.25, verbose: 0, callbacks: cb.cb, yieldEvery: 'batch' });
    expect(promise).toBeInstanceOf(Promise);
    const hb = await promise;
    expect(hb.series('loss')).toEqual(ha.series('loss'));
    expect(hb.series('val_loss')).toEqual(ha.series('val_loss'));
    expect(copyWeights(b)).toEqual(copyWeights(a));
    expect(cb.log).toEqual(ca.log);
    expect(ca.log.slice(0, 3)).toEqual(['begin', 'b1', 'b2']);
    expect(ca.log.at(-1)).toBe('end');
  });

  it("hands the event loop a turn between batches ('batch'), and never with 'never'", async () => {
    const data = teacherData(200, 6, 1);
    const run = async (yieldEvery: 'batch' | 'never' | number): Promise<{ firedAt: number; steps: number }> => {
      let steps = 0;
      let firedAt = -1;
      setTimeout(() => { firedAt = steps; }, 0);
      await fitAsync(smallMMoE(), data, { epochs: 2, batchSize: 4, verbose: 0, yieldEvery, callbacks: { onTrainBegin: busy, onBatchEnd: () => { steps++; } } });
      await new Promise((r) => setTimeout(r, 5));
      return { firedAt, steps };
    };
    // The timer is due before the first batch (onTrainBegin waits 3 ms), so it runs within the first
    // two turns (a setImmediate turn comes before the next timers phase).
    const y = await run('batch');
    expect(y.steps).toBe(100);
    expect(y.firedAt).toBeGreaterThanOrEqual(1);
    expect(y.firedAt).toBeLessThanOrEqual(2);
    const n = await run('never');
    expect(n.firedAt).toBe(100);
    // 0 ms: every batch end is at least 0 ms after the last turn.
    expect((await run(0)).firedAt).toBeLessThanOrEqual(2);
    // A long interval: no turn within these 100 short batches (they take far less than 60 s).
    expect((await run(60_000)).firedAt).toBe(100);
  });

  it("with 'epoch' it yields only at epoch ends", async () => {
    const data = teacherData(40, 6, 1);
    let steps = 0;
    let firedAt = -1;
    setTimeout(() => { firedAt = steps; }, 0);
    await fitAsync(smallMMoE(), data, { epochs: 3, batchSize: 4, verbose: 0, yieldEvery: 'epoch', callbacks: { onTrainBegin: busy, onBatchEnd: () => { steps++; } } });
    expect(steps).toBe(30);
    expect([10, 20]).toContain(firedAt);
  });

  it('an abort from a callback rejects with signal.reason after that batch; the weights are those of the finished steps', async () => {
    const data = teacherData(64, 6, 2);
    const ctrl = new AbortController();
    const model = smallMMoE(4);
    let ended = false;
    let steps = 0;
    const p = fitAsync(model, data, {
      epochs: 2, batchSize: 8, shuffle: false, verbose: 0, signal: ctrl.signal,
      callbacks: { onBatchEnd: (s) => { steps = s; if (s === 3) ctrl.abort(); }, onTrainEnd: () => { ended = true; } },
    });
    const err = await p.catch((e: unknown) => e);
    expect(err).toBe(ctrl.signal.reason);
    expect((err as Error).name).toBe('AbortError');
    expect(steps).toBe(3);
    expect(ended).toBe(false);
    // The same three steps on their own (unshuffled batches 1..3 are rows 0..23).
    const ref = smallMMoE(4);
    fit(ref, rows(data, 0, 24), { epochs: 1, batchSize: 8, shuffle: false, verbose: 0 });
    expect(copyWeights(model)).toEqual(copyWeights(ref));
  });

  it('an abort from a timer stops a running fitAsync with the given reason', async () => {
    const data = teacherData(400, 6, 3);
    const ctrl = new AbortController();
    let steps = 0;
    const reason = new Error('stopped by the user');
    setTimeout(() => ctrl.abort(reason), 0);
    await expect(fitAsync(smallMMoE(), data, {
      epochs: 50, batchSize: 4, verbose: 0, signal: ctrl.signal, yieldEvery: 'batch', callbacks: { onBatchEnd: () => { steps++; } },
    })).rejects.toBe(reason);
    expect(steps).toBeGreaterThan(0);
    expect(steps).toBeLessThan(5000);
  });

  it('an already aborted signal rejects before anything runs', async () => {
    const data = teacherData(16, 6, 4);
    const model = smallMMoE();
    const before = copyWeights(model);
    let began = false;
    await expect(fitAsync(model, data, { verbose: 0, signal: AbortSignal.abort(), callbacks: { onTrainBegin: () => { began = true; } } }))
      .rejects.toMatchObject({ name: 'AbortError' });
    expect(began).toBe(false);
    expect(copyWeights(model)).toEqual(before);
  });

  it('bad options reject with the function named', async () => {
    const data = teacherData(16, 6, 4);
    await expect(fitAsync(smallMMoE(), data, { verbose: 0, yieldEvery: -1 }))
      .rejects.toThrow("fitAsync: yieldEvery must be 'auto', 'batch', 'epoch', 'never' or a number of milliseconds >= 0, got -1");
    await expect(fitAsync(smallMMoE(), data, { verbose: 0, yieldEvery: 'frame' as 'batch' })).rejects.toThrow(/got frame/);
    await expect(fitAsync(smallMMoE(), data, { verbose: 0, signal: {} as AbortSignal }))
      .rejects.toThrow('fitAsync: signal must be an AbortSignal (from new AbortController().signal)');
    await expect(fitAsync(smallMMoE(), data, { verbose: 0, epoch: 2 } as object))
      .rejects.toThrow("fitAsync: unknown option 'epoch' (did you mean 'epochs'?)");
    await expect(fitAsync(smallMMoE(), data, { batchSize: 0, verbose: 0 })).rejects.toThrow('fitAsync: batchSize must be a positive integer, got 0');
  });
});

describe('fit with a signal', () => {
  it('a callback can abort a synchronous fit; it throws signal.reason', () => {
    const data = teacherData(64, 6, 5);
    const ctrl = new AbortController();
    let steps = 0;
    expect(() => fit(smallMMoE(), data, {
      epochs: 3, batchSize: 8, verbose: 0, signal: ctrl.signal, callbacks: { onBatchEnd: (s) => { steps++; if (s === 2) ctrl.abort(new RangeError('enough')); } },
    })).toThrow(new RangeError('enough'));
    expect(steps).toBe(2);
  });

  it('yieldEvery is a fitAsync option', () => {
    const data = teacherData(16, 6, 4);
    expect(() => fit(smallMMoE(), data, { verbose: 0, yieldEvery: 'batch' } as object))
      .toThrow(new TypeError('fit: yieldEvery is an option of fitAsync (fit runs to the end without yielding)'));
  });

  it('a bar left mid-line by an abort gets its newline', () => {
    const data = teacherData(64, 6, 5);
    const ctrl = new AbortController();
    const tty = sink(true);
    expect(() => fit(smallMMoE(), data, {
      epochs: 1, batchSize: 8, progressStream: tty, signal: ctrl.signal, callbacks: { onBatchEnd: (s) => { if (s === 2) ctrl.abort(); } },
    })).toThrow(/aborted/);
    expect(tty.text).toContain('\r');
    expect(tty.text.endsWith('\n')).toBe(true);
  });
});

describe('without process (a browser page or a Web Worker)', () => {
  const desc = Object.getOwnPropertyDescriptor(globalThis, 'process')!;
  afterEach(() => {
    Object.defineProperty(globalThis, 'process', desc);
    vi.restoreAllMocks();
  });

  it('the default progress stream writes whole lines to console.log', () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    Object.defineProperty(globalThis, 'process', { value: undefined, configurable: true, writable: true });
    const bar = new ProgressBar();
    bar.epochBegin(1, 2, 4);
    bar.step(4, 0.5, 32);
    bar.epochEnd({ loss: 0.5 }, 1, 32);
    bar.message('early stopping');
    Object.defineProperty(globalThis, 'process', desc);
    expect(log.mock.calls).toEqual([['epoch 1/2 - 1.0s - 32 samples/s - loss 0.5000'], ['early stopping']]);
  });

  it('a whole fit with the default progress output runs without process', () => {
    const data = teacherData(32, 6, 9);
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    Object.defineProperty(globalThis, 'process', { value: undefined, configurable: true, writable: true });
    let h;
    try {
      h = fit(smallMMoE(), data, { epochs: 2, batchSize: 8, verbose: 1, validationSplit: 0.25 });
    } finally {
      Object.defineProperty(globalThis, 'process', desc);
    }
    expect(h.epochs).toHaveLength(2);
    expect(log.mock.calls.map((c) => String(c[0]).replace(/ - .*/, ''))).toEqual(['epoch 1/2', 'epoch 2/2']);
  });

  it('the yielder takes setImmediate, else a MessageChannel, else setTimeout; each lets a due timer run', async () => {
    const host = globalThis as unknown as Record<string, unknown>;
    const saved = { setImmediate: host.setImmediate, MessageChannel: host.MessageChannel };
    const turns = async (): Promise<boolean> => {
      const y = createYielder();
      let fired = false;
      setTimeout(() => { fired = true; }, 0);
      // Long enough for the 1 ms timer to be due, then a few turns.
      const t0 = Date.now();
      while (Date.now() - t0 < 3) { /* busy */ }
      for (let i = 0; i < 3; i++) await y.next();
      y.close();
      return fired;
    };
    try {
      expect(await turns()).toBe(true);
      host.setImmediate = undefined;
      // Node's MessagePort drains its queue before timers run, so only check that it resolves here.
      const y = createYielder();
      await y.next();
      await y.next();
      y.close();
      host.MessageChannel = undefined;
      expect(await turns()).toBe(true);
    } finally {
      host.setImmediate = saved.setImmediate;
      host.MessageChannel = saved.MessageChannel;
    }
  });
});
