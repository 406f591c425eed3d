import { describe, expect, it } from 'vitest';
import { Generator, manualSeed } from '../../src/tensor/index.js';
import { csvDataset, scanCsv, type CsvBatch } from '../../src/data/csv-dataset.js';
import { MMoE, SparseFeat, DenseFeat } from '../../src/models/index.js';
import { fit, fitAsync } from '../../src/train/trainer.js';

/** 60 rows: a category (some missing), a number (some missing), a binary and a regression label. */
function csvText(n = 60): string {
  const g = new Generator(9);
  const lines = ['id,city,age,click,spend'];
  for (let i = 0; i < n; i++) {
    const city = i % 11 === 0 ? '' : ['paris', 'oslo', 'rome', 'lima'][g.randint(4)];
    const age = i % 13 === 0 ? '?' : String(20 + g.randint(40));
    lines.push(`${i},${city},${age},${g.randint(2)},${(g.random() * 10).toFixed(3)}`);
  }
  return lines.join('\n') + '\n';
}
const spec = { labels: [{ column: 'click', type: 'binary' as const }, { column: 'spend', type: 'regression' as const }], sparse: ['city'], dense: ['age'] };
/** The text in pieces that split lines, as a file stream would. */
const chunks = (t: string): string[] => t.match(/[\s\S]{1,37}/g)!;

async function collect(it: AsyncIterable<CsvBatch>): Promise<CsvBatch[]> {
  const out: CsvBatch[] = [];
  for await (const b of it) out.push(b);
  return out;
}

describe('scanCsv', () => {
  it('counts rows, sorts vocabularies and takes mean/std in one pass (missing values skipped)', async () => {
    const t = csvText();
    const s = await scanCsv(chunks(t), spec);
    expect(s.rows).toBe(60);
    expect(s.vocabularies).toEqual({ city: ['lima', 'oslo', 'paris', 'rome'] });
    const ages = t.trim().split('\n').slice(1).map((l) => l.split(',')[2]).filter((a) => a !== '?').map(Number);
    const mean = ages.reduce((a, b) => a + b, 0) / ages.length;
    const std = Math.sqrt(ages.reduce((a, b) => a + (b - mean) ** 2, 0) / ages.length);
    expect(s.dense[0].mean).toBeCloseTo(mean, 10);
    expect(s.dense[0].std).toBeCloseTo(std, 10);
    expect((await scanCsv(chunks(t), { ...spec, filter: (r) => r < 10 })).rows).toBe(10);
  });

  it('names the file, row and column of bad data', async () => {
    await expect(scanCsv(['a,click,spend\nx,2,1\n'], { labels: spec.labels, source: 'f.csv' })).rejects.toThrow("scanCsv: f.csv: data row 1: binary label 'click' must be 0/1 or true/false, got \"2\"");
    await expect(scanCsv(['a,b\n1,2\n'], { labels: spec.labels, source: 'f.csv' })).rejects.toThrow("scanCsv: label column 'click' is not in f.csv (columns: a, b)");
    await expect(scanCsv([''], { labels: [] })).rejects.toThrow('scanCsv: labels must be a non-empty array');
  });
});

describe('csvDataset', () => {
  it('without a shuffle buffer yields the file in order, encoded as the CLI encodes (ids from 1, 0 missing; dense standardised, missing → mean)', async () => {
    const t = csvText();
    const s = await scanCsv(chunks(t), spec);
    const ds = csvDataset({ ...spec, open: () => chunks(t), vocabularies: s.vocabularies, denseStats: s.dense, batchSize: 7, shuffleBuffer: 0 });
    const batches = await collect(ds.iterator(1));
    expect(batches.map((b) => b.y.length / 2)).toEqual([7, 7, 7, 7, 7, 7, 7, 7, 4]);
    const rows = t.trim().split('\n').slice(1).map((l) => l.split(','));
    const city = batches.flatMap((b) => Array.from(b.x.city));
    const age = batches.flatMap((b) => Array.from(b.x.age));
    const y = batches.flatMap((b) => Array.from(b.y));
    rows.forEach((r, i) => {
      expect(city[i]).toBe(r[1] === '' ? 0 : s.vocabularies.city.indexOf(r[1]) + 1);
      expect(age[i]).toBe(r[2] === '?' ? 0 : Math.fround((Number(r[2]) - s.dense[0].mean) / s.dense[0].std));
      expect([y[2 * i], y[2 * i + 1]]).toEqual([Number(r[3]), Math.fround(Number(r[4]))]);
    });
  });

  it('a shuffle buffer gives each epoch a different, seeded permutation of all rows', async () => {
    const t = csvText();
    const s = await scanCsv(chunks(t), spec);
    const make = (seed: number) => csvDataset({ ...spec, open: () => chunks(t), vocabularies: s.vocabularies, batchSize: 8, shuffleBuffer: 16, seed });
    const order = async (seed: number, epoch: number): Promise<number[]> =>
      (await collect(make(seed).iterator(epoch))).flatMap((b) => Array.from(b.y).filter((_, i) => i % 2 === 1));
    const plain = (await collect(csvDataset({ ...spec, open: () => chunks(t), vocabularies: s.vocabularies, shuffleBuffer: 0 }).iterator(1))).flatMap((b) => Array.from(b.y).filter((_, i) => i % 2 === 1));
    const e1 = await order(5, 1), e2 = await order(5, 2);
    expect([...e1].sort()).toEqual([...plain].sort());
    expect([...e2].sort()).toEqual([...plain].sort());
    expect(e1).not.toEqual(plain);
    expect(e1).not.toEqual(e2);
    expect(await order(5, 2)).toEqual(e2);
    expect(await order(6, 1)).not.toEqual(e1);
  });

  it('trains with fitAsync exactly as fit on the same rows in memory, and refuses fit (async source)', async () => {
    const t = csvText();
    const s = await scanCsv(chunks(t), spec);
    const ds = csvDataset({ ...spec, open: () => chunks(t), vocabularies: s.vocabularies, denseStats: s.dense, batchSize: 16, shuffleBuffer: 0 });
    const all = await collect(csvDataset({ ...spec, open: () => chunks(t), vocabularies: s.vocabularies, denseStats: s.dense, batchSize: 1000, shuffleBuffer: 0 }).iterator(1));
    const model = (): MMoE => {
      manualSeed(0);
      return new MMoE({
        features: [SparseFeat('city', 5, { embeddingDim: 3 }), DenseFeat('age', 1)], numExperts: 2, expertHiddenUnits: [6], towerHiddenUnits: [],
        taskTypes: ['binary', 'regression'], taskNames: ['click', 'spend'], seed: 2,
      });
    };
    const a = model(), b = model();
    // Gate statistics would be read on other rows (the stream's first batch, the array's first 1024 rows).
    const ha = await fitAsync(a, ds, { epochs: 2, verbose: 0, lr: 0.01, expertHealth: false });
    const hb = fit(b, all[0], { epochs: 2, batchSize: 16, shuffle: false, verbose: 0, lr: 0.01, expertHealth: false });
    expect(a.parameters().map((p) => Array.from(p.data))).toEqual(b.parameters().map((p) => Array.from(p.data)));
    expect(ha.epochs.map((e) => e.logs)).toEqual(hb.epochs.map((e) => e.logs));
    expect(() => fit(model(), ds, { verbose: 0 })).toThrow('fit: the data source is asynchronous');
  });

  it('checks its options', () => {
    const base = { ...spec, open: () => [''], vocabularies: { city: ['a'] } };
    expect(() => csvDataset({ ...base, batchsize: 3 } as never)).toThrow(/csvDataset: unknown option 'batchsize'/);
    expect(() => csvDataset({ ...base, batchSize: 0 })).toThrow('csvDataset: batchSize must be an integer >= 1, got 0');
    expect(() => csvDataset({ ...base, shuffleBuffer: -1 })).toThrow('csvDataset: shuffleBuffer must be an integer >= 0');
    expect(() => csvDataset({ ...base, vocabularies: {} })).toThrow('csvDataset: vocabularies.city must be an array of strings');
    expect(() => csvDataset({ ...base, vocabularies: { city: ['a'], town: [] } })).toThrow('csvDataset: vocabularies.town is not a sparse column');
    expect(() => csvDataset({ ...base, denseStats: [{ column: 'age', mean: 0, std: 0 }] })).toThrow('csvDataset: denseStats must be one { column, mean, std > 0 }');
    expect(() => csvDataset({ ...base, labels: [{ column: 'click', type: 'multi' as never }] })).toThrow("csvDataset: labels[0] must be { column, type: 'binary' | 'regression' | 'multiclass', positive?, classes?, allowMissing? }");
    expect(() => csvDataset({ ...base, open: 'f.csv' as never })).toThrow('csvDataset: open must be a function');
  });
});
