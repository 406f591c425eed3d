import { describe, expect, it } from 'vitest';
import { Generator, manualSeed } from '../../src/tensor/index.js';
import { csvDataset, scanCsv, type CsvBatch } from '../../src/data/csv-dataset.js';
import { MMoE, SparseFeat, DenseFeat, hashBucket } from '../../src/models/index.js';
import { evaluate, evaluateAsync, fit, fitAsync } from '../../src/train/trainer.js';

/*
 * Streams with what real logs have: partial labels (an empty cell), a multiclass task, a hashed
 * column and user ids for GAUC. Streamed training and evaluation must equal the same rows in
 * memory, in the same batch order, bit for bit.
 */

const B = 17;
function csvText(n = 90): string {
  const g = new Generator(4);
  const lines = ['user,city,age,click,genre,spend'];
  for (let i = 0; i < n; i++) {
    const city = i % 9 === 0 ? '' : ['paris', 'oslo', 'rome', 'lima', 'kyiv'][g.randint(5)];
    const age = 20 + g.randint(40);
    const click = i % 4 === 1 ? '' : String(g.random() < age / 70 ? 1 : 0);
    lines.push(`u${g.randint(9)},${city},${age},${click},${['news', 'sports', 'music'][g.randint(3)]},${(age / 10 + g.normal()).toFixed(2)}`);
  }
  return lines.join('\n') + '\n';
}
const text = csvText();
const chunks = (): string[] => text.match(/[\s\S]{1,41}/g)!;
const spec = {
  labels: [
    { column: 'click', type: 'binary' as const, allowMissing: true },
    { column: 'genre', type: 'multiclass' as const, classes: ['news', 'sports', 'music'] },
    { column: 'spend', type: 'regression' as const },
  ],
  sparse: ['city'], dense: ['age'], hashBuckets: { city: B },
};
const TRAIN = 66;

async function collect(it: AsyncIterable<CsvBatch>): Promise<CsvBatch[]> {
  const out: CsvBatch[] = [];
  for await (const b of it) out.push(b);
  return out;
}

function model(): MMoE {
  manualSeed(0);
  return new MMoE({
    features: [SparseFeat('city', B, { embeddingDim: 3, useHash: true }), DenseFeat('age', 1)], numExperts: 2, expertHiddenUnits: [6], towerHiddenUnits: [],
    taskTypes: ['binary', 'multiclass', 'regression'], taskNames: ['click', 'genre', 'spend'], numClasses: [1, 3, 1], seed: 2,
  });
}

describe('csvDataset with partial labels, multiclass, hashing and groups', () => {
  it('encodes them: NaN for a missing label, class indices, hashed ids, group ids by first appearance in the file', async () => {
    const s = await scanCsv(chunks(), spec);
    expect(s.vocabularies.city).toEqual([]); // hashed: no vocabulary is learned
    const [b] = await collect(csvDataset({ ...spec, open: chunks, vocabularies: s.vocabularies, denseStats: s.dense, batchSize: 1000, shuffleBuffer: 0, groupBy: 'user' }).iterator(1));
    const rows = text.trim().split('\n').slice(1).map((l) => l.split(','));
    expect(Array.from(b.x.city)).toEqual(rows.map((r) => hashBucket(r[1], B)));
    expect(Number.isNaN(b.y[1 * 3])).toBe(true);
    expect(Array.from(b.y.filter((_, k) => k % 3 === 1))).toEqual(rows.map((r) => ['news', 'sports', 'music'].indexOf(r[4])));
    const first = [...new Set(rows.map((r) => r[0]))];
    expect(Array.from(b.groups!)).toEqual(rows.map((r) => first.indexOf(r[0])));
  });

  it('fitAsync over the stream (validation streamed too, with groups) equals fit over the same rows in memory, bit for bit', async () => {
    const s = await scanCsv(chunks(), { ...spec, filter: (r) => r < TRAIN });
    const common = { ...spec, open: chunks, vocabularies: s.vocabularies, denseStats: s.dense, shuffleBuffer: 0, groupBy: 'user' };
    const trainStream = csvDataset({ ...common, batchSize: 16, filter: (r) => r < TRAIN });
    const valStream = csvDataset({ ...common, batchSize: 7, filter: (r) => r >= TRAIN });
    const [trainRows] = await collect(csvDataset({ ...common, batchSize: 1000, filter: (r) => r < TRAIN }).iterator(1));
    const [valRows] = await collect(csvDataset({ ...common, batchSize: 1000, filter: (r) => r >= TRAIN }).iterator(1));
    const a = model(), b = model();
    const opts = { epochs: 3, verbose: 0 as const, lr: 0.02, expertHealth: false, missingLabels: ['click'] };
    const ha = await fitAsync(a, trainStream, { ...opts, validationData: valStream });
    const hb = fit(b, { x: trainRows.x, y: trainRows.y }, { ...opts, batchSize: 16, shuffle: false, validationData: { x: valRows.x, y: valRows.y, groups: valRows.groups } });
    expect(a.parameters().map((p) => Array.from(p.data))).toEqual(b.parameters().map((p) => Array.from(p.data)));
    expect(ha.epochs.map((e) => e.logs)).toEqual(hb.epochs.map((e) => e.logs));
    // Every kind of metric is there (so the equality covers them).
    expect(Object.keys(ha.last!.logs)).toEqual(expect.arrayContaining(['val_click_gauc', 'val_click_auc', 'val_genre_accuracy', 'val_spend_mse']));
    expect(ha.last!.logs.val_click_gauc).toBeGreaterThan(0);

    // fit's groupBy naming a feature column reads it from each validation batch of a stream.
    const c = model(), d = model();
    const noGroups = csvDataset({ ...common, groupBy: undefined, batchSize: 7, filter: (r) => r >= TRAIN });
    const hc = await fitAsync(c, trainStream, { ...opts, epochs: 1, groupBy: 'city', validationData: noGroups });
    const hd = fit(d, { x: trainRows.x, y: trainRows.y }, { ...opts, epochs: 1, batchSize: 16, shuffle: false, groupBy: 'city', validationData: { x: valRows.x, y: valRows.y } });
    expect(hc.epochs.map((e) => e.logs)).toEqual(hd.epochs.map((e) => e.logs));
    expect(hc.last!.logs.val_click_gauc).toBeTypeOf('number');
    await expect(fitAsync(model(), trainStream, { ...opts, groupBy: [1, 2], validationData: noGroups })).rejects.toThrow('fitAsync: groupBy: ids (one per row) follow in-memory rows');

    // evaluateAsync over the stream equals evaluate in memory; a groupBy column by name too.
    const evs = await evaluateAsync(a, valStream, { missingLabels: ['click'] });
    expect(evs).toEqual(evaluate(a, { x: valRows.x, y: valRows.y, groups: valRows.groups }, { missingLabels: ['click'] }));
    const byCity = await evaluateAsync(a, { async *[Symbol.asyncIterator]() { for await (const v of valStream.iterator(1)) yield { x: v.x, y: v.y }; } }, { missingLabels: 'mask', groupBy: 'city' });
    expect(byCity).toEqual(evaluate(a, { x: valRows.x, y: valRows.y }, { missingLabels: 'mask', groupBy: 'city' }));
  });

  it('refuses what it cannot do, naming the option', async () => {
    const base = { ...spec, open: chunks, vocabularies: {} };
    expect(() => csvDataset({ ...base, hashBuckets: { town: 3 } })).toThrow("csvDataset: hashBuckets names 'town', which is not a sparse column");
    expect(() => csvDataset({ ...base, hashBuckets: { city: 0 } })).toThrow("csvDataset: hashBuckets of 'city' must be an integer in [1, 2^31 − 1], got 0");
    expect(() => csvDataset({ ...base, labels: [{ column: 'genre', type: 'multiclass' }] })).toThrow("csvDataset: labels[0].classes (two or more strings) goes with type 'multiclass'");
    await expect(collect(csvDataset({ ...base, groupBy: 'nobody' }).iterator(1))).rejects.toThrow("csvDataset: groupBy column 'nobody' is not in <stream>");
    const strict = csvDataset({ ...base, labels: [{ column: 'click', type: 'binary' }], batchSize: 1000 });
    await expect(collect(strict.iterator(1))).rejects.toThrow("csvDataset: <stream>: data row 2: label column 'click' is missing (empty); set labels[0].allowMissing");
    // A stream with NaN labels and no missingLabels is still an error in fit.
    const s = await scanCsv(chunks(), spec);
    const ds = csvDataset({ ...spec, open: chunks, vocabularies: s.vocabularies, batchSize: 16 });
    await expect(fitAsync(model(), ds, { verbose: 0 })).rejects.toThrow("fitAsync: batch 1 of the stream: task 'click' has a missing (NaN) label");
    await expect(evaluateAsync(model(), ds, { groupBy: [1, 2] })).rejects.toThrow('evaluateAsync: groupBy over a stream must name a feature column');
  });
});
