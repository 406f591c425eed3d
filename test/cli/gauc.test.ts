import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureCli } from './capture.js';
import { Generator } from '../../src/tensor/index.js';

const dir = mkdtempSync(join(tmpdir(), 'mmoe-ts-gauc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (...args: string[]): ReturnType<typeof captureCli> => captureCli(args);

function config(name: string, extra: Record<string, unknown>): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify({
    csv: 'log.csv',
    labels: [{ column: 'clicked', type: 'binary' }, { column: 'spend', type: 'regression' }],
    sparse: [{ column: 'city', embeddingDim: 3 }, { column: 'user', embeddingDim: 2 }],
    dense: ['age'],
    model: { name: 'SharedBottom', options: { bottomHiddenUnits: [6], initStd: 0.1 } },
    training: { epochs: 2, batchSize: 16, lr: 0.01, validationSplit: 0.25, testSplit: 0.25, seed: 3 },
    ...extra,
  }));
  return file;
}

describe('train --config with groupBy', () => {
  const g = new Generator(5);
  const lines = ['user,city,age,clicked,spend'];
  for (let i = 0; i < 240; i++) {
    const age = 20 + g.randint(40);
    lines.push(`u${g.randint(12)},${['paris', 'rome', 'oslo'][g.randint(3)]},${age},${g.random() < age / 70 ? 1 : 0},${(age / 10 + g.normal()).toFixed(2)}`);
  }
  writeFileSync(join(dir, 'log.csv'), `${lines.join('\n')}\n`);

  it('logs val_<task>_gauc per epoch and reports test GAUC for binary tasks', async () => {
    const out = join(dir, 'out');
    const r = await run('train', '--config', config('good.json', { groupBy: 'user' }), '--out', out, '--quiet');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/\| task +\| +type \| +auc \| +gauc \|/);
    const m = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(m.test.tasks.clicked.gauc).toBeGreaterThan(0);
    expect(m.test.tasks.spend.gauc).toBeUndefined();
    for (const e of m.history.epochs) expect(Number.isFinite(e.logs.val_clicked_gauc)).toBe(true);
  });

  it('a groupBy that is not a column, or is a label, is a config error', async () => {
    const a = await run('train', '--config', config('bad1.json', { groupBy: 'users' }), '--out', join(dir, 'unused'), '--quiet');
    expect(a.status).toBe(2);
    expect(a.stderr).toMatch(/groupBy column 'users' is not in .*log\.csv/);
    const b = await run('train', '--config', config('bad2.json', { groupBy: 'clicked' }), '--out', join(dir, 'unused'), '--quiet');
    expect(b.status).toBe(2);
    expect(b.stderr).toMatch(/'groupBy' column 'clicked' is a label column/);
    const c = await run('train', '--config', config('bad3.json', { groupBy: 7 }), '--out', join(dir, 'unused'), '--quiet');
    expect(c.status).toBe(2);
    expect(c.stderr).toMatch(/'groupBy' must be a non-empty string, got 7/);
  });
});
