import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ort } from '../onnx/helpers.js';
import { captureCli } from './capture.js';
import { Generator } from '../../src/tensor/index.js';

/*
 * Serving from raw rows: the same CSV rows, unencoded, go to `mmoe-ts predict` and to ONNX Runtime
 * running the graph of `mmoe-ts export-onnx`; the scores must agree to 1e-6. Rows include a missing
 * and an unseen category and a missing number, so the graph's encoding is tested where it branches.
 */

const dir = mkdtempSync(join(tmpdir(), 'mmoe-ts-export-onnx-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (...args: string[]): ReturnType<typeof captureCli> => captureCli(args);

function writeCsv(file: string, n: number, seed: number): void {
  const g = new Generator(seed);
  const lines = ['uid,city,level,age,income,clicked,spend'];
  for (let i = 0; i < n; i++) {
    const city = ['paris', 'rome', 'oslo', 'lima', ''][g.randint(5)];
    const level = ['2', '9', '10'][g.randint(3)];
    const age = g.randint(10) === 0 ? '' : (18 + g.randint(60)).toString();
    const income = (g.normal(3000, 800)).toFixed(2);
    const clicked = city === 'paris' || level === '10' ? 1 : 0;
    lines.push([`u${i}`, city, level, age, income, clicked, (Number(income) / 1000 + g.normal()).toFixed(3)].join(','));
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
}

const model = join(dir, 'out', 'model.safetensors');
const onnx = join(dir, 'model.onnx');

beforeAll(async () => {
  writeCsv(join(dir, 'train.csv'), 300, 11);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({
    csv: 'train.csv',
    labels: [{ column: 'clicked', type: 'binary' }, { column: 'spend', type: 'regression' }],
    sparse: ['city', 'level'], dense: ['age', 'income'], embeddingDim: 3,
    model: { name: 'MMoE', options: { numExperts: 3, expertHiddenUnits: [8], towerHiddenUnits: [4], initStd: 0.1 } },
    training: { epochs: 2, batchSize: 32, lr: 0.01, validationSplit: 0.1, testSplit: 0.1, seed: 5 },
  }));
  const r = await run('train', '--config', join(dir, 'config.json'), '--out', join(dir, 'out'), '--quiet');
  if (r.status !== 0) throw new Error(r.stderr);
});

describe('mmoe-ts export-onnx', () => {
  it('writes a raw-row graph that ONNX Runtime runs on the CSV rows, agreeing with mmoe-ts predict to 1e-6', async () => {
    const r = await run('export-onnx', model, onnx);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^export-onnx: MMoE for clicked, spend; raw inputs: city \(string\), level \(string\), age \(float64, NaN = missing\), income \(float64, NaN = missing\); wrote .*model\.onnx/);
    const csv = 'uid,city,level,age,income\na,paris,10,30,2500.5\nb,rome,2,,3100\nc,atlantis,9,77,1999.99\nd,,2,45,4200\ne,lima,7,18,-50\n';
    writeFileSync(join(dir, 'new.csv'), csv);
    const p = await run('predict', '--model', model, '--data', join(dir, 'new.csv'));
    expect(p.status, p.stderr).toBe(0);
    const expected = p.stdout.trim().split('\n').slice(1).map((l) => l.split(',').map(Number));

    const rows = csv.trim().split('\n').slice(1).map((l) => l.split(','));
    const num = (s: string): number => (s === '' ? NaN : Number(s));
    const session = await ort.InferenceSession.create(readFileSync(onnx));
    const feeds = {
      city: new ort.Tensor('string', rows.map((c) => c[1]), [rows.length]),
      level: new ort.Tensor('string', rows.map((c) => c[2]), [rows.length]),
      age: new ort.Tensor('float64', Float64Array.from(rows, (c) => num(c[3])), [rows.length, 1]),
      income: new ort.Tensor('float64', Float64Array.from(rows, (c) => num(c[4])), [rows.length, 1]),
    };
    const got = (await session.run(feeds)).predictions;
    expect(got.dims).toEqual([5, 2]);
    const data = got.data as Float32Array;
    let worst = 0;
    expected.forEach((row, i) => row.forEach((v, j) => { worst = Math.max(worst, Math.abs(data[i * 2 + j] - v)); }));
    expect(worst).toBeLessThanOrEqual(1e-6);
    // Not a constant model: rows differ, so agreement says something.
    expect(new Set(expected.map((r) => r[0])).size).toBe(5);
  });

  it('--encoded keeps the id inputs; flags work in place of positionals; mistakes are usage errors', async () => {
    const file = join(dir, 'enc.onnx');
    const r = await run('export-onnx', '--model', join(dir, 'out'), '--out', file, '--encoded', '--output', 'logits');
    expect(r.status, r.stderr).toBe(0);
    const session = await ort.InferenceSession.create(readFileSync(file));
    expect(session.outputNames).toEqual(['logits']);
    expect([...session.inputNames].sort()).toEqual(['age', 'city', 'income', 'level']);
    const bad = await run('export-onnx', model);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/export-onnx: give the model file and the output file/);
    const twice = await run('export-onnx', model, file, '--model', model);
    expect(twice.status).toBe(2);
    expect(twice.stderr).toMatch(/MODEL given both as an argument and as --model/);
    const none = await run('export-onnx', join(dir, 'nope.safetensors'), file);
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/export-onnx: MODEL: no file .*nope\.safetensors/);
    expect(existsSync(join(dir, 'nope.onnx'))).toBe(false);
  });
});
