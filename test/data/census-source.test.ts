import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { loadCensusIncomeFrom } from '../../src/data/census.js';
import { defaultCensusPath, loadCensusIncome } from '../../src/data/census-node.js';

describe('loadCensusIncomeFrom (text in memory, as a browser would fetch it)', () => {
  const path = defaultCensusPath();
  const names = readFileSync(join(path, '..', 'census-income.names'), 'utf8');
  const text = gunzipSync(readFileSync(path)).toString('utf8');

  it('gives what loadCensusIncome gives from the files, fed as bytes in odd-sized chunks', async () => {
    // The first 1,200 whole lines; limit stops at 1,000.
    const bytes = new TextEncoder().encode(text.split('\n', 1200).join('\n'));
    const chunks = Array.from({ length: Math.ceil(bytes.length / 4099) }, (_, i) => bytes.subarray(i * 4099, (i + 1) * 4099));
    const fromMemory = await loadCensusIncomeFrom({ names, data: chunks }, { limit: 1000, seed: 3 });
    const fromFiles = await loadCensusIncome({ limit: 1000, seed: 3 });
    expect(fromMemory).toEqual(fromFiles);
    expect(fromMemory.train.size + fromMemory.validation.size + fromMemory.test.size).toBe(1000);
  });

  it('names the inputs it was given in errors', async () => {
    const bad = text.split('\n', 2)[0].replace(/- 50000\.$/, 'maybe.');
    await expect(loadCensusIncomeFrom({ names, data: [bad], dataName: 'upload.csv' })).rejects.toThrow(/^loadCensusIncome: upload\.csv: row 1: label should be/);
  });
});
