import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureCli, writeTinyCsv } from './capture.js';
import { deserializeModel } from '../../src/models/model-file.js';
import { Generator } from '../../src/tensor/index.js';

const dir = mkdtempSync(join(tmpdir(), 'mmoe-ts-cli-stream-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (...args: string[]): ReturnType<typeof captureCli> => captureCli(args);


const config = (training: object): string => {
  const file = join(dir, `cfg-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify({
    csv: 'rows.csv',
    labels: [{ column: 'clicked', type: 'binary' }, { column: 'spend', type: 'regression' }],
    sparse: [{ column: 'city', embeddingDim: 3 }], dense: ['age'],
    model: { name: 'MMoE', options: { numExperts: 2, expertHiddenUnits: [8], towerHiddenUnits: [4], initStd: 0.1 } },
    training: { epochs: 8, batchSize: 16, lr: 0.01, validationSplit: 0.2, testSplit: 0.2, seed: 3, ...training },
  }));
  return file;
};

describe('train --config with training.stream', () => {
  it('streams the CSV: every row lands in one split, vocabularies come from the training split, the model learns', async () => {
    writeTinyCsv(join(dir, 'rows.csv'), 400);
    const out = join(dir, 'out');
    const r = await run('train', '--config', config({ stream: true, shuffleBuffer: 64 }), '--out', out, '--quiet');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const m = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(m.rows.total).toBe(400);
    expect(m.rows.train + m.rows.validation + m.rows.test).toBe(400);
    // A hash split: close to the fractions, not exact.
    expect(Math.abs(m.rows.train - 240)).toBeLessThan(40);
    // The model file records the training split's vocabulary, as the in-memory path's does.
    const { encoding } = deserializeModel(new Uint8Array(readFileSync(join(out, 'model.safetensors'))));
    expect(encoding!.sparse.find((s) => s.column === 'city')!.vocabulary).toEqual(['oslo', 'paris', 'rome']);
    const loss = m.history.epochs.map((e: { logs: { loss: number } }) => e.logs.loss);
    expect(loss).toHaveLength(8);
    expect(loss[7]).toBeLessThan(0.5 * loss[0]);
    expect(m.test.tasks.clicked.auc).toBeGreaterThan(0.6);
    // Expert health: the load figure, and the loads in the history.
    expect(readFileSync(join(out, 'expert-load.svg'), 'utf8')).toContain('expert 1');
    expect(m.history.epochs[0].logs.clicked_expert_0_load).toBeTypeOf('number');
    // Same config, same result: the per-epoch shuffle is seeded.
    const out2 = join(dir, 'out2');
    await run('train', '--config', config({ stream: true, shuffleBuffer: 64 }), '--out', out2, '--quiet');
    expect(JSON.parse(readFileSync(join(out2, 'metrics.json'), 'utf8')).history.epochs.map((e: { logs: unknown }) => e.logs))
      .toEqual(m.history.epochs.map((e: { logs: unknown }) => e.logs));
  });

  it('a bad stream option is a config error naming it', async () => {
    writeTinyCsv(join(dir, 'rows.csv'), 20);
    const r = await run('train', '--config', config({ stream: 'yes' }), '--quiet');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("'training.stream' must be true or false");
    const r2 = await run('train', '--config', config({ stream: true, shuffleBuffer: -2 }), '--quiet');
    expect(r2.status).toBe(2);
    expect(r2.stderr).toContain("'training.shuffleBuffer' must be an integer >= 0");
  });

  it('streams partial labels, a multiclass task, a hashed column and GAUC by user, as in memory', async () => {
    const g = new Generator(8);
    const lines = ['user,city,age,clicked,genre,spend'];
    for (let i = 0; i < 360; i++) {
      const age = 20 + g.randint(40);
      const genre = ['news', 'sports', 'music'][age < 33 ? 0 : age < 46 ? 1 : 2];
      const clicked = i % 5 === 2 ? '' : String(g.random() < age / 70 ? 1 : 0);
      lines.push(`u${g.randint(15)},${['paris', 'rome', 'oslo', ''][g.randint(4)]},${age},${clicked},${g.random() < 0.8 ? genre : 'news'},${(age / 10 + g.normal()).toFixed(2)}`);
    }
    writeFileSync(join(dir, 'log.csv'), `${lines.join('\n')}\n`);
    const cfg = (training: object, extra: object = {}): string => {
      const file = join(dir, `log-${Math.random().toString(36).slice(2)}.json`);
      writeFileSync(file, JSON.stringify({
        csv: 'log.csv', groupBy: 'user',
        labels: [
          { column: 'clicked', type: 'binary', allowMissing: true },
          { column: 'genre', type: 'multiclass', classes: ['news', 'sports', 'music'] },
          { column: 'spend', type: 'regression' },
        ],
        sparse: [{ column: 'city', embeddingDim: 3, hashBuckets: 11 }], dense: ['age'],
        model: { name: 'MMoE', options: { numExperts: 2, expertHiddenUnits: [8], towerHiddenUnits: [], initStd: 0.1 } },
        training: { epochs: 6, batchSize: 16, lr: 0.02, validationSplit: 0.2, testSplit: 0.2, seed: 1, ...training },
        ...extra,
      }));
      return file;
    };
    const results: Record<string, { test: Record<string, Record<string, number>>; history: { epochs: Array<{ logs: Record<string, number> }> } }> = {};
    for (const mode of ['memory', 'stream'] as const) {
      const out = join(dir, `log-${mode}`);
      const r = await run('train', '--config', cfg(mode === 'stream' ? { stream: true, shuffleBuffer: 64 } : {}), '--out', out, '--quiet');
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      results[mode] = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
      const { encoding } = deserializeModel(new Uint8Array(readFileSync(join(out, 'model.safetensors'))));
      expect(encoding!.sparse[0]).toEqual({ column: 'city', vocabulary: [], hashBuckets: 11 });
    }
    const s = results.stream, m = results.memory;
    const last = s.history.epochs.at(-1)!.logs;
    // Every kind of metric is logged while streaming: GAUC of the binary task, accuracy of the multiclass one.
    for (const k of ['val_clicked_gauc', 'val_clicked_auc', 'val_genre_accuracy', 'val_genre_logloss', 'val_spend_mse']) expect(Number.isFinite(last[k])).toBe(true);
    expect(s.test.tasks.clicked.gauc).toBeGreaterThan(0);
    // The splits differ (a hash of the row number when streamed), so the two paths agree in quality, not in bits.
    expect(s.test.tasks.genre.accuracy).toBeGreaterThan(0.5);
    expect(Math.abs(s.test.tasks.genre.accuracy - m.test.tasks.genre.accuracy)).toBeLessThan(0.2);
    expect(s.history.epochs.at(-1)!.logs.loss).toBeLessThan(s.history.epochs[0].logs.loss);
    // A partial-label cell is still an error where the config does not allow it, and a wrong groupBy a config error.
    const strict = await run('train', '--config', cfg({ stream: true }, { labels: [{ column: 'clicked', type: 'binary' }, { column: 'spend', type: 'regression' }] }), '--out', join(dir, 'unused'), '--quiet');
    expect(strict.status).toBe(1);
    expect(strict.stderr).toMatch(/data row \d+: label column 'clicked' is missing \(empty\); set labels\[0\]\.allowMissing/);
    const wrong = await run('train', '--config', cfg({ stream: true }, { groupBy: 'users' }), '--out', join(dir, 'unused'), '--quiet');
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toMatch(/config: groupBy column 'users' is not in .*log\.csv/);
  });
});
