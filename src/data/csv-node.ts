/** CSV / TSV files (Node only): a file stream, gunzipped when asked, fed to the parser of csv.ts. */
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { checkOptionKeys, type OptionKeys } from '../validation/options.js';
import { csvRows, type CsvOptions, type CsvRecord, type CsvRow } from './csv.js';

const READ_KEYS: OptionKeys<CsvOptions> = {
  separator: true, header: true, columns: true, missing: true, skipInitialSpace: true, gzip: true, arrays: true, onHeader: true, encoding: true,
};

/**
 * Chunks of a file, gunzipped on the fly when `gzip`; both streams are closed when the consumer
 * stops. A missing file or bad gzip data is an Error naming `fn` and the file.
 */
export async function* fileChunks(fn: string, path: string, gzip: boolean): AsyncGenerator<Uint8Array> {
  const file = createReadStream(path);
  const stream: Readable = gzip ? file.pipe(createGunzip()) : file;
  if (gzip) file.on('error', (e) => stream.destroy(e));
  try {
    yield* stream as AsyncIterable<Uint8Array>;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new Error(`${fn}: cannot open ${path}: no such file`);
    if (err.code === 'Z_DATA_ERROR' || err.code === 'Z_BUF_ERROR') throw new Error(`${fn}: ${path} is not valid gzip data (${err.message})`);
    throw e;
  } finally {
    file.destroy();
    stream.destroy();
  }
}

/**
 * Streams a CSV / TSV file row by row (gzip-compressed when the name ends in `.gz`). Records by
 * default — keyed by the header or `columns` — or `string[]` rows with `arrays: true`. Fields may be
 * quoted (`"a,b"`, doubled quotes `""` for a quote, newlines inside quotes). A row with the wrong
 * number of fields or a quote that never closes raises an Error naming the file and the 1-based
 * line; rows before it have been yielded, nothing after it is skipped silently. Blank lines are
 * skipped.
 */
export function readCsv(path: string, options: CsvOptions & { arrays: true }): AsyncGenerator<CsvRow>;
export function readCsv(path: string, options?: CsvOptions): AsyncGenerator<CsvRecord>;
export function readCsv(path: string, options: CsvOptions = {}): AsyncGenerator<CsvRow | CsvRecord> {
  // Checked here, not in a generator body, so that a bad key throws at the call, not at the first row.
  checkOptionKeys('readCsv', options, READ_KEYS);
  return csvRows('readCsv', path, fileChunks('readCsv', path, options.gzip ?? path.endsWith('.gz')), options);
}
