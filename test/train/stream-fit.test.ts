import { describe, expect, it } from 'vitest';
import { Tensor } from '../../src/autograd/index.js';
import { manualSeed } from '../../src/tensor/index.js';
import { evaluate, evaluateAsync, fit, fitAsync, type Batch } from '../../src/train/trainer.js';
import { smallMMoE, teacherData, copyWeights } from './helpers.js';

const data = teacherData(100, 6, 2);
const val = teacherData(40, 6, 3);
/** Rows [a, b) as one batch. */
const cut = (d: { x: Tensor; y: Tensor }, a: number, b: number): Batch => ({
  x: new Tensor(d.x.data.slice(a * 6, b * 6), [b - a, 6]), y: d.y.data.slice(a * 2, b * 2) as Float32Array,
});
const batchesOf = (d: { x: Tensor; y: Tensor }, n: number, bs: number): Batch[] =>
  Array.from({ length: Math.ceil(n / bs) }, (_, i) => cut(d, i * bs, Math.min(n, (i + 1) * bs)));

function reference(): { w: Float32Array[]; logs: unknown } {
  manualSeed(0);
  const m = smallMMoE(4);
  const h = fit(m, data, { epochs: 3, batchSize: 32, shuffle: false, lr: 0.02, verbose: 0, validationData: val });
  return { w: copyWeights(m), logs: h.epochs.map((e) => e.logs) };
}

describe('fit on a stream of batches', () => {
  it('an array of batches trains exactly as the same rows in memory (no shuffle), validation stream included', () => {
    const ref = reference();
    manualSeed(0);
    const m = smallMMoE(4);
    const h = fit(m, batchesOf(data, 100, 32), { epochs: 3, lr: 0.02, verbose: 0, validationData: batchesOf(val, 40, 40) });
    expect(copyWeights(m)).toEqual(ref.w);
    // Gate statistics are read on other rows (a stream's first training batch, not the validation rows).
    const noGates = (logs: unknown): unknown => (logs as Record<string, number>[]).map((l) => Object.fromEntries(Object.entries(l).filter(([k]) => !/_gate_entropy$|_expert_\d+_load$/.test(k))));
    expect(noGates(h.epochs.map((e) => e.logs))).toEqual(noGates(ref.logs));
    expect(h.last!.logs.click_gate_entropy).toBeGreaterThan(0);
  });

  it('fitAsync reads an async iterable and a TF.js-style dataset whose iterator and next() return Promises', async () => {
    const ref = reference();
    const asyncIterable = {
      async *[Symbol.asyncIterator]() {
        for (const b of batchesOf(data, 100, 32)) { await new Promise((r) => setTimeout(r, 0)); yield b; }
      },
    };
    const epochsSeen: number[] = [];
    const tfjsLike = {
      iterator: async (epoch: number) => {
        epochsSeen.push(epoch);
        const bs = batchesOf(data, 100, 32);
        let i = 0;
        return { next: async () => (i < bs.length ? { done: false as const, value: bs[i++] } : { done: true as const, value: undefined }) };
      },
    };
    for (const src of [asyncIterable, tfjsLike]) {
      manualSeed(0);
      const m = smallMMoE(4);
      const h = await fitAsync(m, src, { epochs: 3, lr: 0.02, verbose: 0, validationData: val });
      expect(copyWeights(m)).toEqual(ref.w);
      expect(h.epochs.map((e) => e.logs)).toEqual(ref.logs);
    }
    expect(epochsSeen).toEqual([1, 2, 3]);
  });

  it('evaluate and evaluateAsync over batches agree with evaluate over the rows', async () => {
    const m = smallMMoE(4);
    // Same batch cuts as evaluate's own, so the kernels see the same shapes.
    const ref = evaluate(m, val, { batchSize: 8 });
    expect(evaluate(m, batchesOf(val, 40, 8))).toEqual(ref);
    expect(await evaluateAsync(m, { async *[Symbol.asyncIterator]() { yield* batchesOf(val, 40, 8); } })).toEqual(ref);
    expect(() => evaluate(m, { async *[Symbol.asyncIterator]() { yield* batchesOf(val, 40, 9); } })).toThrow('evaluate: the data source is asynchronous');
    expect(() => evaluate(m, batchesOf(val, 40, 9), { batchSize: 3 } as never)).toThrow(/evaluate: unknown option 'batchSize'/);
  });

  it('closes the source when training stops early with an error', async () => {
    let closed = 0;
    const src = {
      *[Symbol.iterator]() {
        try {
          yield cut(data, 0, 10);
          yield { x: cut(data, 0, 10).x, y: new Float32Array(20).fill(NaN) };
        } finally { closed++; }
      },
    };
    expect(() => fit(smallMMoE(), src, { verbose: 0 })).toThrow("fit: batch 2 of the stream: task 'value' has a missing (NaN) label at row 0");
    expect(closed).toBe(1);
  });

  it('refuses what a stream cannot do, with errors naming the option', async () => {
    const m = smallMMoE();
    const b = batchesOf(data, 100, 32);
    function* oneShot(): Generator<Batch> { yield* b; }
    expect(() => fit(m, oneShot(), { epochs: 2, verbose: 0 })).toThrow('fit: the data source gave no batches in epoch 2 (a generator or iterator is spent after one pass');
    expect(() => fit(m, [], { verbose: 0 })).toThrow('fit: the data source gave no batches in epoch 1');
    expect(() => fit(m, b, { batchSize: 8 })).toThrow('fit: batchSize: a stream is cut into batches by its source');
    expect(() => fit(m, b, { shuffle: true })).toThrow("fit: shuffle: a stream is shuffled by its source");
    expect(() => fit(m, b, { validationSplit: 0.2 })).toThrow('fit: validationSplit: a stream cannot be split');
    expect(() => fit(m, b, { sampleWeight: new Float32Array(100) })).toThrow("fit: sampleWeight: a stream's weights come with its batches");
    expect(() => fit(m, { async *[Symbol.asyncIterator]() { yield* b; } }, { verbose: 0 })).toThrow('fit: data: an async iterable is read with fitAsync');
    expect(() => fit(m, [{ x: b[0].x, y: b[0].y, weight: 1 } as never], { verbose: 0 })).toThrow("fit: batch 1 of the stream has an unknown key 'weight'");
    expect(() => fit(m, [null as never], { verbose: 0 })).toThrow('fit: batch 1 of the stream is null');
    expect(() => fit(m, b, { verbose: 0, validationData: [{ ...b[0], sampleWeight: new Float32Array(32) }] })).toThrow('fit (validationData): batch 1 of the stream has sampleWeight');
    await expect(fitAsync(m, { iterator: async () => { throw new Error('disk gone'); } }, { verbose: 0 })).rejects.toThrow('disk gone');
    // Per-batch sample weights reach the loss: zero weights leave the model unchanged.
    const before = copyWeights(m);
    fit(m, b.map((x) => ({ ...x, sampleWeight: new Float32Array((x.y as Float32Array).length / 2) })), { optimizer: 'sgd', verbose: 0 });
    expect(copyWeights(m)).toEqual(before);
  });
});
