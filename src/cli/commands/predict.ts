import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { readCsv } from '../../data/csv-node.js';
import { FormatError } from '../../nn/safetensors.js';
import { decodeModelAs, type LoadedModel } from '../../models/model-file.js';
import { encodeColumns, type RowEncoding } from '../../models/index.js';
import { predict } from '../../train/trainer.js';
import { UsageError, getString, type FlagSpec, type FlagValues } from '../args.js';
import { ConfigError } from '../config.js';
import { checkInputFile, checkOutFile, writeOutputs, type CliIO } from '../io.js';
import { parseCliModelInfo, outputColumnsOf, type CliModelInfo } from '../model-info.js';

export const predictFlags: Record<string, FlagSpec> = {
  model: { type: 'string', placeholder: 'PATH', description: 'the model.safetensors that `train` wrote (or its --out folder)' },
  data: { type: 'string', placeholder: 'FILE', description: 'CSV/TSV of new rows with the training columns (label columns may be absent)' },
  out: { type: 'string', placeholder: 'FILE', description: 'write the scores here as CSV (default: standard output)' },
  id: { type: 'string', placeholder: 'COLUMN', description: 'copy this column of --data into the output, first' },
  separator: { type: 'string', placeholder: 'C', description: "the data file's separator (default: the training file's)" },
  'batch-size': { type: 'int', min: 1, description: 'rows per forward pass (default 1024)' },
};

/** A model written by `mmoe-ts train`, with its row encoding and CSV settings; `fn` names the command. */
export function loadTrainedModel(fn: string, arg: string, path: string): LoadedModel & { info: CliModelInfo; encoding: RowEncoding; file: string } {
  const isDir = existsSync(path) && statSync(path).isDirectory();
  const file = isDir ? join(path, 'model.safetensors') : path;
  if (!existsSync(file)) throw new ConfigError(`${fn}: ${arg}: no ${isDir ? `model.safetensors in ${path}` : `file ${path}`} (give the model.safetensors that mmoe-ts train wrote, or its --out folder)`);
  let loaded: LoadedModel;
  try {
    loaded = decodeModelAs(`${fn}: ${file}`, new Uint8Array(readFileSync(file)));
  } catch (e) {
    // A file that is not a model of train is the user's input problem (exit 2), like a bad config.
    if (e instanceof FormatError) throw new ConfigError(e.message);
    throw e;
  }
  const { info, encoding } = parseCliModelInfo(fn, loaded.extra, loaded.encoding, file);
  return { ...loaded, info, encoding, file };
}

function csvCell(v: string | number): string {
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Reads the new rows' feature columns (and the id column) as raw text and numbers. */
async function readRows(p: { encoding: RowEncoding; info: CliModelInfo }, file: string, separator: string, idColumn: string | undefined): Promise<{
  sparse: (string | null)[][]; dense: number[]; ids: (string | null)[];
}> {
  let sparseCols: number[] = [], denseCols: number[] = [], idCol = -1;
  const onHeader = (cols: string[]): void => {
    const index = new Map(cols.map((c, i) => [c, i]));
    const find = (c: string, role: string): number => {
      const i = index.get(c);
      if (i === undefined) throw new ConfigError(`predict: ${role} column '${c}' is not in ${file} (columns: ${cols.join(', ')})`);
      return i;
    };
    sparseCols = p.encoding.sparse.map((s) => find(s.column, 'sparse'));
    denseCols = p.encoding.dense.map((d) => find(d.column, 'dense'));
    if (idColumn !== undefined) idCol = find(idColumn, '--id');
  };
  const sparse: (string | null)[][] = [];
  const dense: number[] = [];
  const ids: (string | null)[] = [];
  let line = 0;
  for await (const row of readCsv(file, { separator, header: p.info.csv.header, columns: p.info.csv.columns, missing: p.info.csv.missing, arrays: true, onHeader })) {
    line++;
    sparse.push(sparseCols.map((c) => row[c]));
    denseCols.forEach((c, k) => {
      const v = row[c];
      const x = v === null ? NaN : Number(v);
      if (v !== null && (v.trim() === '' || !Number.isFinite(x))) {
        throw new Error(`predict: ${file}: data row ${line}: dense column '${p.encoding.dense[k].column}' must be a number, got ${JSON.stringify(v)}`);
      }
      dense.push(x);
    });
    if (idCol >= 0) ids.push(row[idCol]);
  }
  if (line === 0) throw new Error(`predict: ${file} has no data rows`);
  return { sparse, dense, ids };
}

/** `mmoe-ts predict`: scores new rows with the model file that `train` saved. */
export async function runPredict(flags: FlagValues, io: CliIO): Promise<number> {
  const modelPath = getString(flags, 'model');
  const data = getString(flags, 'data');
  if (modelPath === undefined || data === undefined) throw new UsageError('predict: --model PATH and --data FILE are required (see mmoe-ts predict --help)');
  const separator = getString(flags, 'separator');
  if (separator !== undefined && separator.length !== 1) throw new UsageError(`predict: --separator must be one character, got '${separator}'`);
  const loaded = loadTrainedModel('predict', '--model', modelPath);
  checkInputFile('predict', 'data', data);
  const out = getString(flags, 'out');
  if (out !== undefined) checkOutFile('predict', 'out', out);
  const { model, info } = loaded;
  const idColumn = getString(flags, 'id');
  const rows = await readRows(loaded, data, separator ?? info.csv.separator, idColumn);
  const n = rows.sparse.length;
  const x = encodeColumns(loaded.encoding, rows.sparse, rows.dense, Int32Array.from({ length: n }, (_, i) => i));
  const batchSize = typeof flags['batch-size'] === 'number' ? flags['batch-size'] : undefined;
  const scores = predict(model, x, { batchSize }).data;
  // A multiclass task writes one probability column per class, `<task>:<class>`.
  const columns = outputColumnsOf(info.labels);
  const T = columns.length;
  const lines = [[...(idColumn !== undefined ? [idColumn] : []), ...columns].map(csvCell).join(',')];
  for (let i = 0; i < n; i++) {
    const cells: Array<string | number> = idColumn !== undefined ? [rows.ids[i] ?? ''] : [];
    for (let j = 0; j < T; j++) cells.push(scores[i * T + j]);
    lines.push(cells.map(csvCell).join(','));
  }
  const body = `${lines.join('\n')}\n`;
  if (out === undefined) {
    io.out.write(body);
  } else {
    writeOutputs(dirname(out), { [basename(out)]: body });
    io.err.write(`predict: scored ${n} rows (${model.taskNames.join(', ')}); wrote ${out}\n`);
  }
  return 0;
}
