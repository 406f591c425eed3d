import { mkdtempSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CensusSplit } from '../../src/data/census.js';
import { defaultCensusPath, loadCensusIncome, readCensusColumns } from '../../src/data/census-node.js';
import { readCsv } from '../../src/data/csv-node.js';

const namesPath = join(defaultCensusPath(), '..', 'census-income.names');

function rate(s: CensusSplit, task: number): number {
  let sum = 0;
  for (let i = 0; i < s.size; i++) sum += s.labels[2 * i + task];
  return sum / s.size;
}

/** The first `n` raw rows of the file, for checking the encoding by hand. */
async function rawRows(n: number): Promise<string[][]> {
  const out: string[][] = [];
  for await (const r of readCsv(defaultCensusPath(), { header: false, arrays: true, skipInitialSpace: true, missing: [] })) {
    out.push(r as string[]);
    if (out.length === n) break;
  }
  return out;
}

describe('loadCensusIncome', () => {
  it('reads 42 columns from the .names file, 7 continuous besides the instance weight', () => {
    const cols = readCensusColumns(namesPath);
    expect(cols.length).toBe(42);
    expect(cols[24].name).toBe('instance weight');
    expect(cols[7].name).toBe('marital stat');
    expect(cols.filter((c) => c.continuous && c.name !== 'instance weight').map((c) => c.name)).toEqual([
      'age', 'wage per hour', 'capital gains', 'capital losses', 'dividends from stocks',
      'num persons worked for employer', 'weeks worked in year',
    ]);
  });

  it('loads the full file with the expected sizes and label rates', async () => {
    const d = await loadCensusIncome({ seed: 3, splits: { train: 0.7, validation: 0.1, test: 0.2 } });
    expect(d.train.size + d.validation.size + d.test.size).toBe(99762);
    expect(d.train.size).toBe(Math.floor(0.7 * 99762));
    expect(d.validation.size).toBe(Math.floor(0.1 * 99762));
    expect(d.taskNames).toEqual(['income', 'never_married']);
    expect(d.denseFeatures.length).toBe(7);
    expect(d.sparseFeatures.length).toBe(32); // 40 attributes - 7 continuous - marital status
    expect(d.sparseFeatures.map((f) => f.name)).not.toContain('marital_stat');
    // Whole-file counts from SOURCE.txt: 6,186 income > 50K, 43,143 never married.
    const total = (t: number): number => [d.train, d.validation, d.test].reduce((s, p) => s + rate(p, t) * p.size, 0);
    expect(Math.round(total(0))).toBe(6186);
    expect(Math.round(total(1))).toBe(43143);
    expect(rate(d.train, 0)).toBeCloseTo(0.062, 2);
    expect(rate(d.train, 1)).toBeCloseTo(0.432, 2);
    for (const s of [d.train, d.validation, d.test]) {
      expect(s.sparse.length).toBe(s.size * 32);
      expect(s.dense.length).toBe(s.size * 7);
      expect(s.labels.length).toBe(s.size * 2);
    }
    // Continuous columns standardised with training statistics: mean 0, std 1 on train only.
    for (let k = 0; k < 7; k++) {
      let m = 0, v = 0;
      for (let i = 0; i < d.train.size; i++) m += d.train.dense[i * 7 + k];
      m /= d.train.size;
      for (let i = 0; i < d.train.size; i++) v += (d.train.dense[i * 7 + k] - m) ** 2;
      expect(Math.abs(m)).toBeLessThan(1e-4);
      expect(Math.sqrt(v / d.train.size)).toBeCloseTo(1, 3);
    }
    const ageIdx = d.denseFeatures.indexOf('age');
    expect(d.denseStats.mean[ageIdx]).toBeGreaterThan(30);
    expect(d.denseStats.mean[ageIdx]).toBeLessThan(40);
  });

  it('encodes rows by hand-checkable rules (ids from the sorted training vocabulary, standardised dense)', async () => {
    const d = await loadCensusIncome({ limit: 50, splits: { train: 1, validation: 0, test: 0 } });
    const raw = await rawRows(50);
    expect(d.train.size).toBe(50);
    const sex = d.sparseFeatures.findIndex((f) => f.name === 'sex');
    expect(d.sparseFeatures[sex].vocabulary).toEqual(['Female', 'Male']);
    expect(d.sparseFeatures[sex].vocabularySize).toBe(3);
    const nc = d.sparseFeatures.length;
    // With train = 1 the split keeps file order; row 0 is a Female, row 2 a Male (see the file's head).
    expect(raw[0][12]).toBe('Female');
    expect(d.train.sparse[0 * nc + sex]).toBe(1);
    expect(d.train.sparse[2 * nc + sex]).toBe(2);
    // '?' (missing) in the migration columns maps to the reserved id 0.
    const msa = d.sparseFeatures.findIndex((f) => f.name === 'migration_code_change_in_msa');
    expect(raw[0][25]).toBe('?');
    expect(d.train.sparse[0 * nc + msa]).toBe(0);
    expect(d.sparseFeatures[msa].vocabulary).not.toContain('?');
    const ages = raw.map((r) => Number(r[0]));
    const mean = ages.reduce((a, b) => a + b) / 50;
    const std = Math.sqrt(ages.reduce((a, b) => a + (b - mean) ** 2, 0) / 50);
    expect(d.denseStats.mean[0]).toBeCloseTo(mean, 10);
    expect(d.train.dense[3 * 7]).toBeCloseTo((ages[3] - mean) / std, 5);
    for (let i = 0; i < 50; i++) {
      expect(d.train.labels[2 * i]).toBe(raw[i][41] === '50000+.' ? 1 : 0);
      expect(d.train.labels[2 * i + 1]).toBe(raw[i][7] === 'Never married' ? 1 : 0);
    }
  });

  it('builds vocabularies and statistics from the training split only', async () => {
    const d = await loadCensusIncome({ limit: 2000, seed: 7, splits: { train: 0.5, validation: 0.25, test: 0.25 } });
    const nc = d.sparseFeatures.length;
    let unseen = 0;
    for (let k = 0; k < nc; k++) {
      const trainIds = new Set<number>();
      for (let i = 0; i < d.train.size; i++) trainIds.add(d.train.sparse[i * nc + k]);
      // Every non-zero id is used by some training row: the vocabulary holds nothing else.
      for (let id = 1; id < d.sparseFeatures[k].vocabularySize; id++) expect(trainIds.has(id)).toBe(true);
      for (const s of [d.validation, d.test]) {
        for (let i = 0; i < s.size; i++) {
          const id = s.sparse[i * nc + k];
          expect(id).toBeGreaterThanOrEqual(0);
          expect(id).toBeLessThan(d.sparseFeatures[k].vocabularySize);
          if (id === 0) unseen++;
        }
      }
    }
    expect(unseen).toBeGreaterThan(0); // includes '?' and values only in validation/test
    // Validation statistics are not forced to 0 / 1 (scaled with the training stats).
    let m = 0;
    for (let i = 0; i < d.validation.size; i++) m += d.validation.dense[i * 7];
    expect(Math.abs(m / d.validation.size)).toBeGreaterThan(1e-6);
  });

  it('is deterministic per seed and differs across seeds', async () => {
    const a = await loadCensusIncome({ limit: 1000, seed: 1 });
    const b = await loadCensusIncome({ limit: 1000, seed: 1 });
    const c = await loadCensusIncome({ limit: 1000, seed: 2 });
    expect(b.test.labels).toEqual(a.test.labels);
    expect(b.train.sparse).toEqual(a.train.sparse);
    expect(b.train.dense).toEqual(a.train.dense);
    expect(c.train.dense).not.toEqual(a.train.dense);
  });

  it('rejects bad split fractions and names a malformed file and row', async () => {
    await expect(loadCensusIncome({ limit: 10, splits: { train: 0.5, validation: 0.1, test: 0.1 } }))
      .rejects.toThrow(/splitIndices: fractions must add up to 1/);
    const dir = mkdtempSync(join(tmpdir(), 'mmoe-census-'));
    copyFileSync(namesPath, join(dir, 'census-income.names'));
    const raw = await rawRows(3);
    const bad = raw.map((r) => r.join(', '));
    bad[1] = bad[1].replace(/^\d+/, 'old');
    writeFileSync(join(dir, 'data.csv'), bad.join('\n') + '\n');
    await expect(loadCensusIncome({ path: join(dir, 'data.csv') })).rejects.toThrow(/data\.csv: row 2: 'age' should be a number, got "old"/);
    writeFileSync(join(dir, 'short.csv'), raw[0].slice(1).join(', ') + '\n');
    await expect(loadCensusIncome({ path: join(dir, 'short.csv') })).rejects.toThrow(/short\.csv:1: expected 42 fields, got 41/);
  });
});
