import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseCsv, type CsvRecord, type CsvRow } from '../../src/data/csv.js';
import { readCsv } from '../../src/data/csv-node.js';

const dir = mkdtempSync(join(tmpdir(), 'mmoe-csv-'));
function file(name: string, text: string | Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}
async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('parseCsv', () => {
  it('reads a header into records, with quoted separators and doubled quotes', () => {
    const rows = parseCsv('name,quote,n\nann,"a, b",1\nbob,"say ""hi""",2\n');
    expect(rows).toEqual([
      { name: 'ann', quote: 'a, b', n: '1' },
      { name: 'bob', quote: 'say "hi"', n: '2' },
    ]);
  });

  it('treats ? and empty as missing (null) but keeps quoted values literal', () => {
    const rows = parseCsv('a,b,c\n?,,x\n"?","",y\n');
    expect(rows).toEqual([{ a: null, b: null, c: 'x' }, { a: '?', b: '', c: 'y' }]);
    const custom = parseCsv('a,b\nNA,?\n', { missing: ['NA'] });
    expect(custom).toEqual([{ a: null, b: '?' }]);
  });

  it('uses a tab separator, given columns, arrays and skipInitialSpace', () => {
    const tsv = parseCsv('1\t"x\ty"\n2\tz\n', { separator: '\t', columns: ['id', 'v'] });
    expect(tsv).toEqual([{ id: '1', v: 'x\ty' }, { id: '2', v: 'z' }]);
    const rows: CsvRow[] = parseCsv('1, a, "b, c"\n2, ?, d\n', { header: false, skipInitialSpace: true, arrays: true });
    expect(rows).toEqual([['1', 'a', 'b, c'], ['2', null, 'd']]);
  });

  it('keeps newlines inside quotes, CRLF line ends, a BOM and blank lines right', () => {
    const rows = parseCsv('\uFEFFa,b\r\n"line1\nline2",2\r\n\r\n3,4\r\n');
    expect(rows).toEqual([{ a: 'line1\nline2', b: '2' }, { a: '3', b: '4' }]);
  });

  it('reports the header to onHeader', () => {
    let seen: string[] = [];
    parseCsv('x,y\n1,2\n', { arrays: true, onHeader: (c) => { seen = c; } });
    expect(seen).toEqual(['x', 'y']);
  });

  it('names the source and 1-based line of a row with the wrong field count', () => {
    expect(() => parseCsv('a,b\n1,2\n\n3\n4,5\n', { source: 'bad.csv' }))
      .toThrow('parseCsv: bad.csv:4: expected 2 fields, got 1');
    expect(() => parseCsv('1,2,3\n4,5\n', { header: false }))
      .toThrow(/<string>:2: expected 3 fields, got 2/);
  });

  it('names the line where an unterminated quote opened, and text after a closing quote', () => {
    expect(() => parseCsv('a,b\n1,2\n3,"4\n5,6\n', { source: 'q.csv' }))
      .toThrow(/q\.csv:3: unterminated quoted field/);
    expect(() => parseCsv('a,b\n"1"x,2\n', { source: 'q.csv' })).toThrow(/q\.csv:2: unexpected "x" after a closing quote/);
  });

  it('rejects a bad separator and duplicate header names', () => {
    expect(() => parseCsv('a\n', { separator: ';;' })).toThrow(/parseCsv: separator must be one character/);
    expect(() => parseCsv('a,a\n1,2\n')).toThrow(/duplicate column names/);
  });

  it('rejects unknown option keys, naming the allowed ones', () => {
    expect(() => parseCsv('a\n1\n', { seperator: ';' } as object)).toThrow(new TypeError(
      "parseCsv: unknown option 'seperator' (did you mean 'separator'?); allowed: separator, header, columns, missing, skipInitialSpace, arrays, onHeader, source, encoding"));
    // gzip is readCsv's: text in memory is never compressed.
    expect(() => parseCsv('a\n1\n', { gzip: true } as object)).toThrow("parseCsv: unknown option 'gzip'");
  });
});

describe('readCsv', () => {
  const text = 'id,label,city\n1,0,"Paris, FR"\n2,1,?\n3,0,Oslo\n';

  it('streams records from a plain file', async () => {
    const rows = await collect(readCsv(file('plain.csv', text)));
    expect(rows).toEqual([
      { id: '1', label: '0', city: 'Paris, FR' },
      { id: '2', label: '1', city: null },
      { id: '3', label: '0', city: 'Oslo' },
    ] satisfies CsvRecord[]);
  });

  it('decompresses .gz input (auto) and with gzip: true on any name', async () => {
    const gz = gzipSync(Buffer.from(text));
    const a = await collect(readCsv(file('data.csv.gz', gz), { arrays: true }));
    const b = await collect(readCsv(file('data.bin', gz), { arrays: true, gzip: true }));
    expect(a).toEqual([['1', '0', 'Paris, FR'], ['2', '1', null], ['3', '0', 'Oslo']]);
    expect(b).toEqual(a);
  });

  it('reads a file without a trailing newline, across many stream chunks', async () => {
    const lines = ['k,v'];
    for (let i = 0; i < 20000; i++) lines.push(`${i},"v ${i}"`);
    const rows = await collect(readCsv(file('big.csv', lines.join('\n')), { arrays: true }));
    expect(rows.length).toBe(20000);
    expect(rows[19999]).toEqual(['19999', 'v 19999']);
  });

  it('yields the rows before a malformed row, then throws naming file and line', async () => {
    const p = file('bad.csv', 'a,b\n1,2\n3,4\n5\n6,7\n');
    const seen: CsvRecord[] = [];
    await expect((async () => { for await (const r of readCsv(p)) seen.push(r); })())
      .rejects.toThrow(`readCsv: ${p}:4: expected 2 fields, got 1`);
    expect(seen).toEqual([{ a: '1', b: '2' }, { a: '3', b: '4' }]);
  });

  it('throws on an unterminated quote in a gzip file instead of dropping the rest', async () => {
    const p = file('q.csv.gz', gzipSync(Buffer.from('a,b\n1,"2\n3,4\n5,6\n')));
    await expect(collect(readCsv(p))).rejects.toThrow(`${p}:2: unterminated quoted field`);
  });

  it('rejects unknown option keys at the call, before opening the file', () => {
    expect(() => readCsv(join(dir, 'never-opened.csv'), { skipInitialSpaces: true } as object)).toThrow(new TypeError(
      "readCsv: unknown option 'skipInitialSpaces' (did you mean 'skipInitialSpace'?); allowed: separator, header, columns, missing, skipInitialSpace, gzip, arrays, onHeader, encoding"));
    expect(() => readCsv(join(dir, 'never-opened.csv'), { source: 'x' } as object)).toThrow("readCsv: unknown option 'source'");
  });

  it('reports a missing file and corrupt gzip data', async () => {
    await expect(collect(readCsv(join(dir, 'nope.csv')))).rejects.toThrow(/readCsv: cannot open .*nope\.csv/);
    await expect(collect(readCsv(file('corrupt.gz', 'not gzip at all')))).rejects.toThrow(/readCsv: .*corrupt\.gz is not valid gzip/);
  });
});
