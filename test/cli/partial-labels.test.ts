import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureCli } from './capture.js';
import { Generator } from '../../src/tensor/index.js';

const dir = mkdtempSync(join(tmpdir(), 'mmoe-ts-partial-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const inProcess = (...args: string[]): ReturnType<typeof captureCli> => captureCli(args);

/** Clicks on every row; a conversion value only on clicked rows (an empty cell elsewhere), as in a real log. */
function writeCsv(file: string, n = 120): void {
  const g = new Generator(2);
  const lines = ['city,age,clicked,spend'];
  for (let i = 0; i < n; i++) {
    const city = ['paris', 'rome', 'oslo'][g.randint(3)];
    const age = 20 + g.randint(40);
    const clicked = city === 'paris' || g.random() < 0.3 ? 1 : 0;
    lines.push(`${city},${age},${clicked},${clicked ? (age / 10 + g.normal()).toFixed(3) : ''}`);
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
}

const config = (allowMissing: unknown): string => {
  const file = join(dir, `config-${String(allowMissing)}.json`);
  writeFileSync(file, JSON.stringify({
    csv: 'partial.csv',
    labels: [{ column: 'clicked', type: 'binary' }, { column: 'spend', type: 'regression', ...(allowMissing === undefined ? {} : { allowMissing }) }],
    sparse: [{ column: 'city', embeddingDim: 3 }],
    dense: ['age'],
    model: { name: 'MMoE', options: { numExperts: 2, expertHiddenUnits: [8], towerHiddenUnits: [4], initStd: 0.1 } },
    training: { epochs: 2, batchSize: 16, lr: 0.01, validationSplit: 0.2, testSplit: 0.25, seed: 3, earlyStopping: { monitor: 'val_spend_mse', patience: 3 } },
  }));
  return file;
};

describe('train --config with partial labels', () => {
  writeCsv(join(dir, 'partial.csv'));

  it('empty label cells of a task with allowMissing are masked: training, validation and test metrics stay finite', async () => {
    const out = join(dir, 'out');
    const r = await inProcess('train', '--config', config(true), '--out', out, '--quiet');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const m = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(Number.isFinite(m.test.tasks.spend.mse)).toBe(true);
    expect(Number.isFinite(m.test.tasks.clicked.auc)).toBe(true);
    for (const e of m.history.epochs) {
      for (const k of ['loss', 'spend_loss', 'val_loss', 'val_spend_mse']) expect(Number.isFinite(e.logs[k]), k).toBe(true);
    }
    expect(m.config.labels[1].allowMissing).toBe(true);
  });

  it('without allowMissing an empty label cell is an error that says how to allow it; a bad value is a config error', async () => {
    const r = await inProcess('train', '--config', config(undefined), '--out', join(dir, 'unused'), '--quiet');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/label column 'spend' is missing \(empty\); set labels\[1\]\.allowMissing/);
    const bad = await inProcess('train', '--config', config('yes'), '--out', join(dir, 'unused'), '--quiet');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/labels\[1\]\.allowMissing' must be true or false, got "yes"/);
  });
});
