import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureCli } from './capture.js';
import { sortVocabulary } from '../../src/models/row-encoding.js';
import { deserializeModel, serializeModel } from '../../src/models/model-file.js';
import { serializeSafetensors } from '../../src/nn/safetensors.js';
import { Generator } from '../../src/tensor/index.js';

const dir = mkdtempSync(join(tmpdir(), 'mmoe-ts-predict-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (...args: string[]): ReturnType<typeof captureCli> => captureCli(args);

/** A CSV with a text category, a numeric category (values 2, 9, 10) and a dense column. */
function writeCsv(file: string, n: number, seed: number, withLabels = true): string[][] {
  const g = new Generator(seed);
  const rows: string[][] = [];
  const lines = [withLabels ? 'uid,city,level,age,clicked,spend' : 'uid,city,level,age'];
  for (let i = 0; i < n; i++) {
    const city = ['paris', 'rome', 'oslo', ''][g.randint(4)];
    const level = ['2', '9', '10'][g.randint(3)];
    const age = (20 + g.randint(40)).toString();
    const clicked = city === 'paris' || level === '10' ? 1 : 0;
    const row = [`u${seed}-${i}`, city, level, age];
    rows.push(row);
    lines.push([...row, ...(withLabels ? [String(clicked), (Number(age) / 10 + g.normal()).toFixed(3)] : [])].join(','));
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
  return rows;
}

const out = join(dir, 'model');

beforeAll(async () => {
  writeCsv(join(dir, 'train.csv'), 120, 1);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({
    csv: 'train.csv',
    labels: [{ column: 'clicked', type: 'binary' }, { column: 'spend', type: 'regression' }],
    sparse: ['city', 'level'], dense: ['age'], embeddingDim: 3,
    model: { name: 'MMoE', options: { numExperts: 2, expertHiddenUnits: [8], towerHiddenUnits: [4], initStd: 0.1 } },
    training: { epochs: 2, batchSize: 16, lr: 0.01, validationSplit: 0.2, testSplit: 0.2, seed: 3 },
  }));
  const r = await run('train', '--config', join(dir, 'config.json'), '--out', out, '--quiet');
  if (r.status !== 0) throw new Error(r.stderr);
});

describe('mmoe-ts predict', () => {
  it('vocabularies of numbers sort numerically, of text as strings', () => {
    const { encoding } = deserializeModel(new Uint8Array(readFileSync(join(out, 'model.safetensors'))));
    expect(encoding!.sparse.map((s) => [s.column, s.vocabulary])).toEqual([['city', ['oslo', 'paris', 'rome']], ['level', ['2', '9', '10']]]);
    expect(sortVocabulary(['10', '9', '-1', '2.5'])).toEqual(['-1', '2.5', '9', '10']);
    expect(sortVocabulary(['10', '9', 'x'])).toEqual(['10', '9', 'x']);
  });

  it('scores new rows without labels, one line per row with the id, and the scores are the model’s', async () => {
    const rows = writeCsv(join(dir, 'new.csv'), 7, 2, false);
    const r = await run('predict', '--model', out, '--data', join(dir, 'new.csv'), '--id', 'uid');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('uid,clicked,spend');
    expect(lines).toHaveLength(8);
    lines.slice(1).forEach((l, i) => {
      const [id, p, s] = l.split(',');
      expect(id).toBe(rows[i][0]);
      expect(Number(p)).toBeGreaterThan(0);
      expect(Number(p)).toBeLessThan(1);
      expect(Number.isFinite(Number(s))).toBe(true);
    });
    // The same rows scored twice, once among others: the encoding does not depend on the file.
    const again = await run('predict', '--model', join(out, 'model.safetensors'), '--data', join(dir, 'new.csv'));
    expect(again.stdout.trim().split('\n').slice(1)).toEqual(lines.slice(1).map((l) => l.split(',').slice(1).join(',')));
  });

  it('rows that differ only in the category score differently; an unseen category scores as missing', async () => {
    writeFileSync(join(dir, 'cats.csv'), 'uid,city,level,age\na,paris,10,30\nb,rome,2,30\nc,atlantis,2,30\nd,,2,30\n');
    const r = await run('predict', '--model', out, '--data', join(dir, 'cats.csv'));
    const [, a, b, c, d] = r.stdout.trim().split('\n');
    expect(a).not.toBe(b);
    expect(c).toBe(d);
  });

  it('writes --out atomically and says so on stderr', async () => {
    const file = join(dir, 'scores', 'p.csv');
    const r = await run('predict', '--model', out, '--data', join(dir, 'new.csv'), '--out', file);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^predict: scored 7 rows \(clicked, spend\); wrote .*p\.csv\n$/);
    expect(readFileSync(file, 'utf8').split('\n')[0]).toBe('clicked,spend');
  });

  it.each([
    [['predict', '--data', 'x.csv'], /--model PATH and --data FILE are required/],
    [['predict', '--model', '/nonexistent', '--data', 'x.csv'], /predict: --model: no file \/nonexistent/],
    [['predict', '--model', out, '--data', join(dir, 'missing.csv')], /^mmoe-ts: predict: --data: no file .*missing\.csv\n$/],
    [['predict', '--model', out, '--data', join(dir, 'new.csv'), '--out', dir], /^mmoe-ts: predict: --out: .* is a folder, not a file\n$/],
  ])('%j is a usage error', async (args, pattern) => {
    const r = await run(...(args as string[]));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(pattern);
  });

  it('names a missing feature column and a bad dense value with its row', async () => {
    writeFileSync(join(dir, 'nocity.csv'), 'uid,level,age\na,2,30\n');
    const r = await run('predict', '--model', out, '--data', join(dir, 'nocity.csv'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/predict: sparse column 'city' is not in .*nocity\.csv \(columns: uid, level, age\)/);
    writeFileSync(join(dir, 'badage.csv'), 'uid,city,level,age\na,paris,2,30\nb,rome,2,old\n');
    const r2 = await run('predict', '--model', out, '--data', join(dir, 'badage.csv'));
    expect(r2.status).toBe(1);
    expect(r2.stderr).toMatch(/badage\.csv: data row 2: dense column 'age' must be a number, got "old"/);
  });

  it('refuses a plain state dict and a model file without the CLI settings, saying what they are', async () => {
    const other = join(dir, 'other');
    const r0 = await run('predict', '--model', out, '--data', join(dir, 'new.csv'), '--out', join(other, 'x.csv'));
    expect(r0.status).toBe(0);
    const { model } = deserializeModel(new Uint8Array(readFileSync(join(out, 'model.safetensors'))));
    writeFileSync(join(other, 'old.safetensors'), serializeSafetensors(model.stateDict(), { model: 'MMoE', taskNames: 'clicked,spend', taskTypes: 'binary,regression' }));
    const r = await run('predict', '--model', join(other, 'old.safetensors'), '--data', join(dir, 'new.csv'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^mmoe-ts: predict: .*old\.safetensors: not an mmoe-ts model file .*plain state dict of an older mmoe-ts \(model 'MMoE'/);
    writeFileSync(join(other, 'lib.safetensors'), serializeModel(model));
    const r2 = await run('predict', '--model', join(other, 'lib.safetensors'), '--data', join(dir, 'new.csv'));
    expect(r2.status).toBe(2);
    expect(r2.stderr).toMatch(/predict: .*lib\.safetensors: a model file without the row encoding/);
  });
});
