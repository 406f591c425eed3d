import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureCli, writeTinyCsv } from './capture.js';
import { deserializeModel } from '../../src/models/model-file.js';

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
});
