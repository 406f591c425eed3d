import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCsv, parseCsvStream } from '../../src/data/csv.js';
import { readCsv } from '../../src/data/csv-node.js';

const dir = mkdtempSync(join(tmpdir(), 'mmoe-csv-enc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function all<T>(rows: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const r of rows) out.push(r);
  return out;
}

/** 'city,n\nZürich,1\nMünchen,2\n' in Latin-1: ü is the single byte 0xFC, not UTF-8. */
const latin1 = Buffer.from('city,n\nparis,0\nZ\u00fcrich,1\nM\u00fcnchen,2\n', 'latin1');

describe('CSV bytes that are not UTF-8', () => {
  it('readCsv names the file, the line and the byte, and suggests an encoding', async () => {
    const file = join(dir, 'latin1.csv');
    writeFileSync(file, latin1);
    await expect(all(readCsv(file))).rejects.toThrow(
      `readCsv: ${file}:3: not valid UTF-8 (byte 0xFC); if the file is in another encoding, pass it: { encoding: 'latin1' }`);
  });
  it('with encoding: latin1 the categories come out right', async () => {
    const file = join(dir, 'latin1-ok.csv');
    writeFileSync(file, latin1);
    const rows = await all(readCsv(file, { encoding: 'latin1' }));
    expect(rows.map((r) => r.city)).toEqual(['paris', 'Zürich', 'München']);
  });
  it('the line is right when the bad byte arrives in a later chunk, and valid UTF-8 split across chunks is fine', async () => {
    const enc = new TextEncoder();
    const ok = enc.encode('a,b\nü,1\n');
    const chunks = [ok.subarray(0, 5), ok.subarray(5), enc.encode('x,2\ny'), new Uint8Array([0xff]), enc.encode(',3\n')];
    await expect(all(parseCsvStream(chunks, { source: 's' }))).rejects.toThrow(/^parseCsvStream: s:4: not valid UTF-8 \(byte 0xFF\)/);
    expect(await all(parseCsvStream([ok.subarray(0, 5), ok.subarray(5)]))).toEqual([{ a: 'ü', b: '1' }]);
  });
  it('an unknown encoding is an error at the first read; parseCsv (text) refuses encoding', async () => {
    await expect(all(parseCsvStream(['a\n'], { encoding: 'klingon' }))).rejects.toThrow(/^parseCsvStream: unknown encoding 'klingon'/);
    expect(() => parseCsv('a\n1\n', { encoding: 'latin1' })).toThrow(/^parseCsv: encoding applies to bytes/);
  });
});

describe('a file whose separator is evidently another', () => {
  it('a one-column header that splits on ; or tab is an error suggesting the separator', () => {
    expect(() => parseCsv('a;b;c\n1;2;3\n')).toThrow('parseCsv: <string>:1: one column under the separator ",", but 3 when split on ";": pass { separator: ";" }');
    expect(() => parseCsv('a\tb\n1\t2\n', { source: 'x.tsv' })).toThrow(/^parseCsv: x\.tsv:1: one column under the separator ",", but 2 when split on "\\t"/);
  });
  it('a real one-column file, or an explicit separator, is read as given', () => {
    expect(parseCsv('name\nann\nbob\n')).toEqual([{ name: 'ann' }, { name: 'bob' }]);
    expect(parseCsv('a;b\n1;2\n', { separator: ',' })).toEqual([{ 'a;b': '1;2' }]);
  });
});
