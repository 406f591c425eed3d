import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureCli } from './capture.js';
import { encodeColumns, encodingFeatures, hashBucket } from '../../src/models/index.js';
import { loadModel } from '../../src/models/model-file-node.js';
import { exportOnnx, OnnxExportError } from '../../src/onnx/index.js';

const dir = mkdtempSync(join(tmpdir(), 'mmoe-ts-hash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (...args: string[]): ReturnType<typeof captureCli> => captureCli(args);

describe('train --config with hashBuckets (hashed sparse columns)', () => {
  it('trains without a vocabulary for the hashed column, records the buckets, and predict hashes new values the same way', async () => {
    const lines = ['user,city,age,clicked'];
    for (let i = 0; i < 60; i++) lines.push(`user${i * 7919},${['paris', 'rome', ''][i % 3]},${20 + (i % 30)},${i % 3 === 0 ? 1 : 0}`);
    writeFileSync(join(dir, 'train.csv'), `${lines.join('\n')}\n`);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({
      csv: 'train.csv',
      labels: [{ column: 'clicked', type: 'binary' }],
      sparse: [{ column: 'user', hashBuckets: 97, embeddingDim: 3 }, 'city'], dense: ['age'], embeddingDim: 2,
      model: { name: 'SingleTask', options: { hiddenUnits: [4], sparseEmbedding: true } },
      training: { epochs: 1, batchSize: 16, optimizer: 'adam', lr: 0.01, validationSplit: 0.2, testSplit: 0, seed: 3 },
    }));
    const out = join(dir, 'model');
    const r = await run('train', '--config', join(dir, 'config.json'), '--out', out, '--quiet');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    // The model file records the buckets in its row encoding and the hashed feature column.
    const { model, encoding } = await loadModel(join(out, 'model.safetensors'));
    expect(encoding!.sparse[0]).toEqual({ column: 'user', vocabulary: [], hashBuckets: 97 });
    expect(model.inputLayer!.features[0]).toMatchObject({ name: 'user', kind: 'sparse', vocabularySize: 97, embeddingDim: 3, useHash: true });
    const [user] = encodingFeatures(encoding!);
    expect(user).toMatchObject({ kind: 'sparse', vocabularySize: 97, useHash: true });
    const x = encodeColumns(encoding!, [['user123', 'rome'], [null, 'paris']], [30, 40], [0, 1]);
    expect(Array.from(x.user)).toEqual([hashBucket('user123', 97), hashBucket('', 97)]);
    // A user never seen in training still gets its own bucket's embedding at predict time.
    writeFileSync(join(dir, 'new.csv'), 'user,city,age\nnobody-seen-this,rome,33\n');
    const p = await run('predict', '--model', out, '--data', join(dir, 'new.csv'));
    expect(p.status).toBe(0);
    expect(Number(p.stdout.trim().split('\n')[1])).toBeGreaterThan(0);
    // ONNX has no string hash: the raw-row graph is refused, naming the column; the id graph is not.
    expect(() => exportOnnx(model, { encoding: encoding! })).toThrow(OnnxExportError);
    expect(() => exportOnnx(model, { encoding: encoding! })).toThrow(/column 'user' is hashed \(hashBuckets 97\) and ONNX cannot hash strings/);
    expect(exportOnnx(model).length).toBeGreaterThan(0);
    const e = await run('export-onnx', join(out, 'model.safetensors'), join(dir, 'm.onnx'));
    expect(e.status).not.toBe(0);
    expect(e.stderr).toMatch(/ONNX cannot hash strings/);
  });

  it('refuses a bad hashBuckets, naming the field', async () => {
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({
      csv: 'train.csv', labels: [{ column: 'clicked', type: 'binary' }], sparse: [{ column: 'user', hashBuckets: 0 }],
      model: { name: 'SingleTask', options: {} },
    }));
    const r = await run('train', '--config', join(dir, 'bad.json'), '--out', join(dir, 'unused'), '--quiet');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/sparse\[0\]\.hashBuckets/);
  });
});
