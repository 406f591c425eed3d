import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureCli } from './capture.js';
import { Generator } from '../../src/tensor/index.js';
import { loadModel } from '../../src/models/model-file-node.js';

const dir = mkdtempSync(join(tmpdir(), 'mmoe-ts-multiclass-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (...args: string[]): ReturnType<typeof captureCli> => captureCli(args);

const GENRES = ['news', 'sports', 'music'];

function writeCsv(file: string, n: number, seed: number): void {
  const g = new Generator(seed);
  const lines = ['city,age,clicked,genre'];
  for (let i = 0; i < n; i++) {
    const c = g.randint(3);
    const age = 20 + 10 * c + g.randint(10);
    lines.push(`${['paris', 'rome', 'oslo'][c]},${age},${g.random() < 0.3 + 0.2 * c ? 1 : 0},${GENRES[g.random() < 0.8 ? c : g.randint(3)]}`);
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
}

function config(name: string, genre: Record<string, unknown>): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify({
    csv: 'genres.csv',
    labels: [{ column: 'clicked', type: 'binary' }, { column: 'genre', ...genre }],
    sparse: [{ column: 'city', embeddingDim: 3 }],
    dense: ['age'],
    model: { name: 'MMoE', options: { numExperts: 2, expertHiddenUnits: [8], towerHiddenUnits: [4], initStd: 0.1 } },
    training: { epochs: 3, batchSize: 16, lr: 0.02, validationSplit: 0.2, testSplit: 0.2, seed: 3 },
  }));
  return file;
}

describe('train and predict with a multiclass label', () => {
  writeCsv(join(dir, 'genres.csv'), 200, 1);
  writeCsv(join(dir, 'new.csv'), 5, 2);

  it('train --config with classes writes accuracy / logloss / macro-AUC; predict writes one probability column per class', async () => {
    const out = join(dir, 'out');
    const r = await run('train', '--config', config('good.json', { type: 'multiclass', classes: GENRES }), '--out', out, '--quiet');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const m = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    for (const k of ['auc', 'logloss', 'accuracy']) expect(Number.isFinite(m.test.tasks.genre[k]), k).toBe(true);
    expect(Number.isFinite(m.history.epochs[0].logs.val_genre_accuracy)).toBe(true);
    // The model file alone rebuilds the multiclass head: numClasses and the label's classes are in it.
    const loaded = await loadModel(join(out, 'model.safetensors'));
    expect(loaded.spec.options.numClasses).toEqual([1, 3]);
    expect(loaded.model.numClasses).toEqual([1, 3]);
    expect((loaded.extra!.cli as { labels: Array<{ classes?: string[] }> }).labels[1].classes).toEqual(GENRES);
    const p = await run('predict', '--model', out, '--data', join(dir, 'new.csv'));
    expect(p.status).toBe(0);
    const [header, ...rows] = p.stdout.trim().split('\n');
    expect(header).toBe('clicked,genre:news,genre:sports,genre:music');
    expect(rows).toHaveLength(5);
    for (const row of rows) {
      const v = row.split(',').map(Number);
      expect(v[1] + v[2] + v[3]).toBeCloseTo(1, 5);
    }
  });

  it('classes are checked: required, distinct, only for multiclass; an unknown value names the row', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ type: 'multiclass' }, /labels\[1\]\.classes' is required for a multiclass label/],
      [{ type: 'multiclass', classes: ['news', 'news'] }, /labels\[1\]\.classes' must list at least 2 distinct values/],
      [{ type: 'binary', classes: GENRES }, /labels\[1\]\.classes' only applies to multiclass labels/],
      [{ type: 'multi' }, /labels\[1\]\.type' must be "binary", "regression" or "multiclass", got "multi"/],
    ];
    for (const [genre, pattern] of cases) {
      const r = await run('train', '--config', config('bad.json', genre), '--out', join(dir, 'unused'), '--quiet');
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(pattern);
    }
    const r = await run('train', '--config', config('few.json', { type: 'multiclass', classes: ['news', 'sports'] }), '--out', join(dir, 'unused'), '--quiet');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/data row \d+: multiclass label 'genre' must be one of \["news","sports"\] \(labels\[1\]\.classes\), got "music"/);
  });
});
