import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { readCsv } from '../../data/csv-node.js';
import { deserializeSafetensorsWithMetadata } from '../../nn/safetensors.js';
import { predict } from '../../train/trainer.js';
import { UsageError, getString, type FlagSpec, type FlagValues } from '../args.js';
import { ConfigError } from '../config.js';
import { checkInputFile, checkOutFile, writeOutputs, type CliIO } from '../io.js';
import { encodeRows, featureColumns, outputColumnsOf, parsePreprocessing, taskOptionsOf, type Preprocessing } from '../preprocessing.js';
import { buildConfiguredModel } from './train.js';

export const predictFlags: Record<string, FlagSpec> = {
  model: { type: 'string', placeholder: 'PATH', description: "the --out folder of `train` (or its model.safetensors, with preprocessing.json beside it)" },
  data: { type: 'string', placeholder: 'FILE', description: 'CSV/TSV of new rows with the training columns (label columns may be absent)' },
  out: { type: 'string', placeholder: 'FILE', description: 'write the scores here as CSV (default: standard output)' },
  id: { type: 'string', placeholder: 'COLUMN', description: 'copy this column of --data into the output, first' },
  separator: { type: 'string', placeholder: 'C', description: "the data file's separator (default: the training file's)" },
  'batch-size': { type: 'int', min: 1, description: 'rows per forward pass (default 1024)' },
};

function readJson(file: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`predict: cannot read ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`predict: ${file} is not valid JSON: ${(e as Error).message}`);
  }
}

/** model.safetensors and preprocessing.json from a train --out folder or the weights file. */
function modelFiles(path: string): { weights: string; preprocessing: string } {
  const isDir = existsSync(path) && statSync(path).isDirectory();
  const weights = isDir ? join(path, 'model.safetensors') : path;
  const preprocessing = join(isDir ? path : dirname(path), 'preprocessing.json');
  if (!existsSync(weights)) throw new ConfigError(`predict: --model: no ${isDir ? `model.safetensors in ${path}` : `file ${path}`} (give the --out folder of mmoe-ts train)`);
  if (!existsSync(preprocessing)) throw new ConfigError(`predict: --model: no preprocessing.json beside ${basename(weights)} in ${dirname(weights)}; predict needs the one train wrote`);
  return { weights, preprocessing };
}

function csvCell(v: string | number): string {
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Reads the new rows' feature columns (and the id column) as raw text and numbers. */
async function readRows(p: Preprocessing, file: string, separator: string, idColumn: string | undefined): Promise<{
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
    sparseCols = p.sparse.map((s) => find(s.column, 'sparse'));
    denseCols = p.dense.map((d) => find(d.column, 'dense'));
    if (idColumn !== undefined) idCol = find(idColumn, '--id');
  };
  const sparse: (string | null)[][] = [];
  const dense: number[] = [];
  const ids: (string | null)[] = [];
  let line = 0;
  for await (const row of readCsv(file, { separator, header: p.csv.header, columns: p.csv.columns, missing: p.csv.missing, arrays: true, onHeader })) {
    line++;
    sparse.push(sparseCols.map((c) => row[c]));
    denseCols.forEach((c, k) => {
      const v = row[c];
      const x = v === null ? NaN : Number(v);
      if (v !== null && (v.trim() === '' || !Number.isFinite(x))) {
        throw new Error(`predict: ${file}: data row ${line}: dense column '${p.dense[k].column}' must be a number, got ${JSON.stringify(v)}`);
      }
      dense.push(x);
    });
    if (idCol >= 0) ids.push(row[idCol]);
  }
  if (line === 0) throw new Error(`predict: ${file} has no data rows`);
  return { sparse, dense, ids };
}

/** `mmoe-ts predict`: scores new rows with a model and the preprocessing that `train` saved. */
export async function runPredict(flags: FlagValues, io: CliIO): Promise<number> {
  const modelPath = getString(flags, 'model');
  const data = getString(flags, 'data');
  if (modelPath === undefined || data === undefined) throw new UsageError('predict: --model PATH and --data FILE are required (see mmoe-ts predict --help)');
  const separator = getString(flags, 'separator');
  if (separator !== undefined && separator.length !== 1) throw new UsageError(`predict: --separator must be one character, got '${separator}'`);
  const files = modelFiles(modelPath);
  checkInputFile('predict', 'data', data);
  const out = getString(flags, 'out');
  if (out !== undefined) checkOutFile('predict', 'out', out);
  const prep = parsePreprocessing(readJson(files.preprocessing, 'preprocessing file'), files.preprocessing);
  const taskNames = prep.labels.map((l) => l.name);
  const model = buildConfiguredModel(prep.model.name, prep.model.options, { features: featureColumns(prep), ...taskOptionsOf(prep.labels) });
  let weights;
  try {
    weights = deserializeSafetensorsWithMetadata(new Uint8Array(readFileSync(files.weights)));
  } catch (e) {
    throw new Error(`predict: ${files.weights}: ${(e as Error).message}`);
  }
  if (weights.metadata.model !== undefined && weights.metadata.model !== prep.model.name) {
    throw new ConfigError(`predict: ${files.weights} holds a ${weights.metadata.model}, but ${files.preprocessing} describes a ${prep.model.name}; they come from different runs`);
  }
  try {
    model.loadStateDict(weights.tensors);
  } catch (e) {
    throw new ConfigError(`predict: ${files.weights} does not match ${files.preprocessing}: ${(e as Error).message}`);
  }
  model.eval();
  const idColumn = getString(flags, 'id');
  const rows = await readRows(prep, data, separator ?? prep.csv.separator, idColumn);
  const n = rows.sparse.length;
  const x = encodeRows(prep, rows.sparse, rows.dense, Int32Array.from({ length: n }, (_, i) => i));
  const batchSize = typeof flags['batch-size'] === 'number' ? flags['batch-size'] : undefined;
  const scores = predict(model, x, { batchSize }).data;
  // A multiclass task writes one probability column per class, `<task>:<class>`.
  const columns = outputColumnsOf(prep.labels);
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
    io.err.write(`predict: scored ${n} rows (${taskNames.join(', ')}); wrote ${out}\n`);
  }
  return 0;
}
