import { describe, expect, it } from 'vitest';
import { parseCsv, parseCsvStream } from '../../src/data/csv.js';

async function collect<T>(g: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const r of g) out.push(r);
  return out;
}

describe('parseCsvStream', () => {
  const text = 'name,city\r\n"Zoë, A.",Köln\n"multi\nline",€\n';

  it('gives what parseCsv gives, however the bytes are cut (inside a UTF-8 character, a CRLF, a quoted newline)', async () => {
    const want = parseCsv(text);
    const bytes = new TextEncoder().encode(text);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const got = await collect(parseCsvStream([bytes.subarray(0, cut), bytes.subarray(cut)]));
      expect(got, `cut at byte ${cut}`).toEqual(want);
    }
    const oneByOne = await collect(parseCsvStream(Array.from(bytes, (b) => new Uint8Array([b]))));
    expect(oneByOne).toEqual(want);
  });

  it('hands out the rows before a bad line (in the same chunk too), then throws naming its line', async () => {
    const rows: unknown[] = [];
    const bad = parseCsvStream(['a,b\n1,2\n3,4\n5\n6,7\n'], { source: 'f.csv', arrays: true });
    await expect((async () => { for await (const r of bad) rows.push(r); })()).rejects.toThrow('parseCsvStream: f.csv:4: expected 2 fields, got 1');
    expect(rows).toEqual([['1', '2'], ['3', '4']]);
    // Missing markers of any length are still found (the parser tests a field's length first).
    expect(await collect(parseCsvStream(['a,b\nNA,x\n?,\n'], { arrays: true, missing: ['NA', '?', ''] }))).toEqual([[null, 'x'], [null, null]]);
  });

  it('rejects unknown option keys at the call, not at the first row', () => {
    expect(() => parseCsvStream(['a\n1\n'], { header: true, colums: ['a'] } as object)).toThrow(new TypeError(
      "parseCsvStream: unknown option 'colums' (did you mean 'columns'?); allowed: separator, header, columns, missing, skipInitialSpace, arrays, onHeader, source, encoding"));
  });

  it('takes strings and async sources, and names `source` in errors with the line', async () => {
    async function* chunks(): AsyncGenerator<string> { yield 'a,b\n1,'; yield '2\n3\n'; }
    await expect(collect(parseCsvStream(chunks(), { source: 'upload.csv' }))).rejects.toThrow(/^parseCsvStream: upload\.csv:3: expected 2 fields, got 1$/);
    expect(await collect(parseCsvStream(['a,b\n', '1,2'], { arrays: true }))).toEqual([['1', '2']]);
  });
});
