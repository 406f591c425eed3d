/* CSV / TSV parsing over text in memory or in chunks; reading files is in csv-node.ts. */
import { checkOptionKeys, type OptionKeys } from '../validation/options.js';

/** A parsed field: the text, or null where the value is one of the `missing` markers. */
export type CsvValue = string | null;
export type CsvRow = CsvValue[];
export type CsvRecord = Record<string, CsvValue>;

export interface CsvOptions {
  /** Field separator, one character (',' for CSV, '\t' for TSV). Default ','. */
  separator?: string;
  /** The first non-empty line names the columns. Default true unless `columns` is given. */
  header?: boolean;
  /** Column names for a file without a header line (or to rename a header's columns). */
  columns?: readonly string[];
  /** Unquoted values read as null. Default ['?', '']. A quoted value is never missing. */
  missing?: readonly string[];
  /** Drop spaces right after a separator (the census file separates fields with ', '). */
  skipInitialSpace?: boolean;
  /** readCsv only: decompress with gzip; default: when the path ends in `.gz`. */
  gzip?: boolean;
  /** Yield `string[]` rows instead of records (faster: no object per row). Default false. */
  arrays?: boolean;
  /** Called once with the column names (from the header or `columns`) before the first row. */
  onHeader?: (columns: string[]) => void;
  /**
   * How bytes are decoded (readCsv, parseCsvStream): any TextDecoder label ('latin1',
   * 'windows-1252', 'utf-16le', …). Default 'utf-8', strictly: a byte sequence that is not UTF-8
   * is an error naming the line, not a replacement character that would merge categories.
   */
  encoding?: string;
}

/** The options of parseCsv and parseCsvStream: CsvOptions less readCsv's `gzip`, plus `source`, the input's name in errors. */
export type CsvParseOptions = Omit<CsvOptions, 'gzip'> & { source?: string };

const PARSE_KEYS: OptionKeys<CsvParseOptions> = {
  separator: true, header: true, columns: true, missing: true, skipInitialSpace: true, arrays: true, onHeader: true, source: true, encoding: true,
};

/** Separators a one-column header is checked against when none was given. */
const OTHER_SEPARATORS = [',', '\t', ';', '|'];

interface ResolvedOptions {
  separator: string;
  header: boolean;
  columns: readonly string[] | undefined;
  missing: ReadonlySet<string>;
  /** The length of the longest missing marker. */
  longestMissing: number;
  skipInitialSpace: boolean;
}

function resolve(fn: string, options: CsvOptions): ResolvedOptions {
  const separator = options.separator ?? ',';
  if (separator.length !== 1 || separator === '"' || separator === '\n' || separator === '\r') {
    throw new RangeError(`${fn}: separator must be one character other than a quote or newline, got ${JSON.stringify(separator)}`);
  }
  return {
    separator,
    header: options.header ?? options.columns === undefined,
    columns: options.columns,
    missing: new Set(options.missing ?? ['?', '']),
    // A marker that is not a string (never matched by a field) must not make the length test skip every field.
    longestMissing: Math.max(0, ...(options.missing ?? ['?', '']).map((m) => (typeof m === 'string' ? m.length : Infinity))),
    skipInitialSpace: options.skipInitialSpace ?? false,
  };
}

/**
 * Turns physical lines into rows. A quoted field may span lines (RFC 4180), so a row can need
 * several `push` calls; `finish` reports a quote still open at the end of input instead of
 * silently dropping what follows it.
 */
class LineParser {
  private fields: CsvRow = [];
  private field = '';
  inQuotes = false;
  private startLine = 0;
  /** Field count every row must have; fixed by the header, `columns`, or the first row. */
  expected = -1;

  constructor(
    private readonly fn: string, private readonly source: string, private readonly opts: ResolvedOptions,
  ) {}

  /** Parses one line; returns the finished row, or null while a quoted field is still open. */
  push(line: string, lineNo: number): CsvRow | null {
    const { separator, skipInitialSpace, missing } = this.opts;
    if (!this.inQuotes) {
      this.startLine = lineNo;
      this.fields = [];
      // Fast path: no quotes on the line, so a split is exact.
      if (line.indexOf('"') < 0) {
        // split's fresh array becomes the row: no second array per row.
        const row: CsvRow = line.split(separator);
        const longest = this.opts.longestMissing;
        for (let i = 0; i < row.length; i++) {
          const v = skipInitialSpace && i > 0 ? row[i]!.trimStart() : row[i]!;
          // A length test first: most fields are longer than every marker, and hashing a fresh substring is not free.
          row[i] = v.length <= longest && missing.has(v) ? null : v;
        }
        return this.check(row);
      }
    } else {
      this.field += '\n';
    }
    let i = 0;
    const n = line.length;
    let quoted = this.inQuotes;
    let atFieldStart = !this.inQuotes;
    while (i <= n) {
      if (this.inQuotes) {
        const q = line.indexOf('"', i);
        if (q < 0) { this.field += line.slice(i); return null; }
        this.field += line.slice(i, q);
        if (line[q + 1] === '"') { this.field += '"'; i = q + 2; continue; }
        this.inQuotes = false;
        i = q + 1;
        if (i < n && line[i] !== separator) {
          throw this.error(lineNo, `unexpected ${JSON.stringify(line[i])} after a closing quote (column ${i + 1})`);
        }
        continue;
      }
      if (atFieldStart) {
        if (skipInitialSpace && this.fields.length > 0) while (i < n && line[i] === ' ') i++;
        atFieldStart = false;
        if (line[i] === '"') { this.inQuotes = true; quoted = true; i++; continue; }
      }
      let end = line.indexOf(separator, i);
      if (end < 0) end = n;
      this.field += line.slice(i, end);
      this.fields.push(quoted || !missing.has(this.field) ? this.field : null);
      this.field = '';
      quoted = false;
      atFieldStart = true;
      i = end + 1;
    }
    return this.check(this.fields);
  }

  /** Called at end of input. */
  finish(): void {
    if (this.inQuotes) throw this.error(this.startLine, 'unterminated quoted field (the quote is never closed before the end of the file)');
  }

  private check(row: CsvRow): CsvRow {
    if (this.expected < 0) this.expected = row.length;
    else if (row.length !== this.expected) {
      throw this.error(this.startLine, `expected ${this.expected} fields, got ${row.length}`);
    }
    return row;
  }

  error(lineNo: number, what: string): Error {
    return new Error(`${this.fn}: ${this.source}:${lineNo}: ${what}`);
  }
}

/**
 * Header, records, BOM and blank lines on top of LineParser; the streaming and the in-memory
 * readers feed it lines, so both follow the same rules and raise the same errors.
 */
class RowAssembler {
  private readonly parser: LineParser;
  private names: string[] | undefined;
  private needHeader: boolean;
  private firstRow = true;

  constructor(fn: string, source: string, private readonly options: CsvOptions) {
    const opts = resolve(fn, options);
    this.parser = new LineParser(fn, source, opts);
    this.names = opts.columns ? opts.columns.slice() : undefined;
    if (this.names) this.parser.expected = this.names.length;
    this.needHeader = opts.header;
    if (!this.needHeader && this.names) options.onHeader?.(this.names);
  }

  /** The row (or record) that this line completes, if any. */
  line(text: string, lineNo: number): CsvRow | CsvRecord | undefined {
    if (lineNo === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (text.length === 0 && !this.parser.inQuotes) return undefined;
    const row = this.parser.push(text, lineNo);
    if (row === null) return undefined;
    if (this.firstRow) {
      this.firstRow = false;
      if (!this.options.columns) this.checkSeparator(row, text, lineNo);
    }
    if (this.needHeader) {
      this.needHeader = false;
      // With `columns`, the file's own header line is read (and its width checked) but renamed.
      if (!this.names) {
        this.names = row.map((v) => v ?? '');
        if (new Set(this.names).size !== this.names.length) {
          throw this.parser.error(lineNo, `duplicate column names in the header: ${this.names.join(', ')}`);
        }
      }
      this.options.onHeader?.(this.names);
      return undefined;
    }
    const names = this.names;
    if (this.options.arrays || !names) return row;
    const rec: CsvRecord = {};
    for (let j = 0; j < names.length; j++) rec[names[j]] = row[j];
    return rec;
  }

  finish(): void {
    this.parser.finish();
  }

  /**
   * A first line that is one field under the default separator but splits on another one is a
   * file with another separator (a ';' CSV, a TSV read as CSV): it would parse as one column.
   */
  private checkSeparator(row: CsvRow, text: string, lineNo: number): void {
    if (this.options.separator !== undefined || row.length !== 1) return;
    const sep = resolve('', this.options).separator;
    for (const other of OTHER_SEPARATORS) {
      if (other === sep || !text.includes(other)) continue;
      const n = text.split(other).length;
      throw this.parser.error(lineNo, `one column under the separator ${JSON.stringify(sep)}, but ${n} when split on ${JSON.stringify(other)}: ` +
        `pass { separator: ${JSON.stringify(other)} } (or give the separator explicitly to read one column)`);
    }
  }
}

/** Text or bytes arriving in pieces: a Node stream, a fetch body, a generator of strings. */
export type CsvChunks = AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>;

/**
 * Lines of a chunked input, one run per chunk, bytes decoded as UTF-8 across chunk boundaries. Split by hand rather
 * than with readline so that an error of the source rejects the consumer's loop instead of being
 * emitted where nobody listens.
 */
async function* chunkLines(fn: string, source: string, chunks: CsvChunks, encoding: string): AsyncGenerator<string[]> {
  const decoder = textDecoder(fn, encoding);
  let rest = '';
  let lines = 0;
  const decode = (chunk?: Uint8Array): string => {
    try {
      return chunk === undefined ? decoder.decode() : decoder.decode(chunk, { stream: true });
    } catch {
      // Only a fatal (UTF-8) decoder throws: name the line of the first bad byte and the way out.
      const at = chunk === undefined ? -1 : firstInvalidUtf8(chunk);
      const before = chunk === undefined ? '' : new TextDecoder('utf-8').decode(chunk.subarray(0, Math.max(0, at)));
      const line = lines + 1 + countNewlines(rest + before);
      const what = at >= 0 && chunk !== undefined ? `byte 0x${chunk[at].toString(16).toUpperCase().padStart(2, '0')}` : 'a byte sequence cut off at the end';
      throw new Error(`${fn}: ${source}:${line}: not valid UTF-8 (${what}); if the file is in another encoding, pass it: { encoding: 'latin1' } (or 'windows-1252', 'utf-16le', …)`);
    }
  };
  for await (const chunk of chunks) {
    const text = rest + (typeof chunk === 'string' ? chunk : decode(chunk));
    let start = 0;
    let nl: number;
    const run: string[] = [];
    while ((nl = text.indexOf('\n', start)) >= 0) {
      lines++;
      run.push(text.charCodeAt(nl - 1) === 13 && nl > start ? text.slice(start, nl - 1) : text.slice(start, nl));
      start = nl + 1;
    }
    rest = text.slice(start);
    if (run.length > 0) yield run;
  }
  rest += decode();
  if (rest.length > 0) yield [rest.endsWith('\r') ? rest.slice(0, -1) : rest];
}

/** A decoder for `encoding`; UTF-8 is decoded strictly (fatal), so a wrong encoding is caught. */
function textDecoder(fn: string, encoding: string): InstanceType<typeof TextDecoder> {
  try {
    return new TextDecoder(encoding, { fatal: /^utf-?8$/i.test(encoding) });
  } catch {
    throw new RangeError(`${fn}: unknown encoding '${encoding}' (a TextDecoder label: 'utf-8', 'latin1', 'windows-1252', 'utf-16le', …)`);
  }
}

function countNewlines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

/**
 * Offset of the first byte that cannot start or continue a UTF-8 sequence in `b`, or -1. Leading
 * continuation bytes are skipped: they may finish a sequence begun in the previous chunk.
 */
function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < 3 && i < b.length && (b[i] & 0xc0) === 0x80) i++;
  while (i < b.length) {
    const c = b[i];
    if (c < 0x80) { i++; continue; }
    const n = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : 0;
    if (n === 0) return i;
    if (i + n >= b.length) return -1; // cut by the chunk's end: the next chunk decides
    const c1 = b[i + 1];
    // Overlong forms, surrogates and code points past U+10FFFF are invalid too.
    if ((c === 0xe0 && c1 < 0xa0) || (c === 0xed && c1 > 0x9f) || (c === 0xf0 && c1 < 0x90) || (c === 0xf4 && c1 > 0x8f)) return i;
    for (let k = 1; k <= n; k++) if ((b[i + k] & 0xc0) !== 0x80) return i;
    i += n + 1;
  }
  return -1;
}

/**
 * Parses CSV / TSV arriving in chunks (works everywhere: in Node, pass a stream; in a browser,
 * `response.body`), row by row, with the rules and errors of `parseCsv`; `source` names the input
 * in error messages. Records by default, `string[]` rows with `arrays: true`. Rows before a bad
 * line have been yielded; nothing after it is skipped silently.
 */
export function parseCsvStream(chunks: CsvChunks, options: CsvParseOptions & { arrays: true }): AsyncGenerator<CsvRow>;
export function parseCsvStream(chunks: CsvChunks, options?: CsvParseOptions): AsyncGenerator<CsvRecord>;
export function parseCsvStream(chunks: CsvChunks, options: CsvParseOptions = {}): AsyncGenerator<CsvRow | CsvRecord> {
  // Checked here, not in the generator, so that a bad key throws at the call, not at the first row.
  checkOptionKeys('parseCsvStream', options, PARSE_KEYS);
  return csvRows('parseCsvStream', options.source ?? '<stream>', chunks, options);
}

/**
 * The rows of a chunked input in runs, one run per chunk: the rows its lines complete, parsed
 * synchronously, so a consumer pays one await per chunk instead of one per line and one per row
 * (csvDataset reads every row of a large file each epoch). A bad line ends its run: the rows
 * before it are handed out first, then the error is thrown.
 */
export async function* csvRowRuns(fn: string, source: string, chunks: CsvChunks, options: CsvOptions): AsyncGenerator<Array<CsvRow | CsvRecord>> {
  const lines = chunkLines(fn, source, chunks, options.encoding ?? 'utf-8');
  try {
    const asm = new RowAssembler(fn, source, options);
    let lineNo = 0;
    for await (const run of lines) {
      const out: Array<CsvRow | CsvRecord> = [];
      try {
        for (let i = 0; i < run.length; i++) {
          const r = asm.line(run[i], ++lineNo);
          if (r !== undefined) out.push(r);
        }
      } catch (e) {
        if (out.length > 0) yield out;
        throw e;
      }
      if (out.length > 0) yield out;
    }
    asm.finish();
  } finally {
    await lines.return(undefined);
  }
}

/** The row loop of parseCsvStream and readCsv (csv-node.ts), under the caller's name. */
export async function* csvRows(fn: string, source: string, chunks: CsvChunks, options: CsvOptions): AsyncGenerator<CsvRow | CsvRecord> {
  for await (const run of csvRowRuns(fn, source, chunks, options)) yield* run;
}

/**
 * Parses CSV text held in memory (small inputs, tests, config snippets), with the same rules and
 * errors as `readCsv`; `source` names the input in error messages.
 */
export function parseCsv(text: string, options: CsvParseOptions & { arrays: true }): CsvRow[];
export function parseCsv(text: string, options?: CsvParseOptions): CsvRecord[];
export function parseCsv(text: string, options: CsvParseOptions = {}): (CsvRow | CsvRecord)[] {
  checkOptionKeys('parseCsv', options, PARSE_KEYS);
  if (options.encoding !== undefined) throw new TypeError('parseCsv: encoding applies to bytes (readCsv, parseCsvStream); parseCsv reads text that is already decoded');
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const asm = new RowAssembler('parseCsv', options.source ?? '<string>', options);
  const out: (CsvRow | CsvRecord)[] = [];
  for (let k = 0; k < lines.length; k++) {
    const r = asm.line(lines[k], k + 1);
    if (r !== undefined) out.push(r);
  }
  asm.finish();
  return out;
}
