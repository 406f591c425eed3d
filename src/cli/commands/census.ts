import { join } from 'node:path';
import { CENSUS_TASK_GROUPS, type CensusTaskGroup } from '../../data/census.js';
import { serializeSafetensors } from '../../nn/safetensors.js';
import {
  CENSUS_MODELS, CENSUS_MODEL_LABELS, censusDataset, censusExperiment,
  type CensusExperimentOptions, type CensusResult,
} from '../../experiments/census/experiment.js';
import { gateHeatmap } from '../../experiments/figures.js';
import { sliceFeatures } from '../../train/dataset.js';
import { formatDuration } from '../../train/progress.js';
import { UsageError, getNumber, getString, type FlagSpec, type FlagValues } from '../args.js';
import { checkInputFile, checkOutDir, println, toJson, writeOutputs, type CliIO } from '../io.js';
import { fixed, markdownTable } from '../table.js';

export const censusFlags: Record<string, FlagSpec> = {
  seeds: { type: 'int', min: 1, description: 'training runs per model and task group, each with its own init and shuffling (default 10)' },
  seed: { type: 'int', min: 0, description: 'seed of the first run; run r uses seed + r (default 0)' },
  groups: { type: 'string', placeholder: 'G,G', description: `task groups (default ${CENSUS_TASK_GROUPS.join(',')})` },
  models: { type: 'string', placeholder: 'M,M,…', description: `models to train (default ${CENSUS_MODELS.join(',')})` },
  epochs: { type: 'int', min: 1, description: 'training epochs per run (default 1)' },
  'batch-size': { type: 'int', min: 1, description: 'mini-batch size (default 512)' },
  lr: { type: 'number', min: 1e-12, description: "Adam's learning rate (default 0.004)" },
  'embedding-dim': { type: 'int', min: 1, description: 'embedding width of each categorical column (default 4)' },
  'split-seed': { type: 'int', min: 0, description: 'seed of the train / validation / test split, the same for every run (default 0)' },
  limit: { type: 'int', min: 10, description: 'read only the first N rows of the file (quick checks)' },
  data: { type: 'string', placeholder: 'FILE', description: 'census-income file (default: the packaged census-income.test.gz)' },
  out: { type: 'string', placeholder: 'DIR', description: 'write metrics.json, results.md, model.safetensors (first MMoE) and gates.svg here (default out/census)' },
  workers: { type: 'int', min: 1, description: 'worker threads (default one per core, at most 8); the results do not depend on it' },
  quiet: { type: 'boolean', description: 'no progress output' },
};

const GROUP_TITLES: Record<CensusTaskGroup, string> = {
  'income-marital': 'Group 1: income > 50K, never married',
  'education-marital': 'Group 2: college degree, never married',
};

function parseList<T extends string>(flags: FlagValues, key: string, allowed: readonly T[]): T[] | undefined {
  const raw = getString(flags, key);
  if (raw === undefined) return undefined;
  const items = raw.split(',').map((s) => s.trim());
  for (const m of items) {
    if (!(allowed as readonly string[]).includes(m)) throw new UsageError(`census: --${key}: unknown ${key === 'models' ? 'model' : 'group'} '${m}', expected some of ${allowed.join(', ')}`);
  }
  if (new Set(items).size !== items.length) throw new UsageError(`census: --${key}: '${raw}' names one twice`);
  return items as T[];
}

/** The per-group results tables (Markdown): test AUC mean ± std and best over the seeds, per task. */
export function censusTables(res: CensusResult): string {
  const parts: string[] = [];
  for (const g of res.groups) {
    const rows = res.summary.filter((s) => s.group === g.group);
    const [a, b] = g.taskNames;
    parts.push(`${GROUP_TITLES[g.group]} (label correlation ${fixed(g.labelCorrelation, 4)}; test positives ${a} ${fixed(g.positiveRate[a], 3)}, ${b} ${fixed(g.positiveRate[b], 3)})`);
    parts.push('');
    parts.push(markdownTable(
      ['model', 'parameters', 'runs', `${a} AUC mean ± sd`, `${a} AUC best`, `${b} AUC mean ± sd`, `${b} AUC best`, 'time / run'],
      rows.map((s) => [
        CENSUS_MODEL_LABELS[s.model], String(s.parameters), String(s.runs),
        `${fixed(s.auc[a].mean)} ± ${fixed(s.auc[a].std)}`, fixed(s.auc[a].max),
        `${fixed(s.auc[b].mean)} ± ${fixed(s.auc[b].std)}`, fixed(s.auc[b].max),
        formatDuration(s.seconds / s.runs),
      ]),
    ));
    parts.push('');
  }
  return parts.join('\n');
}

export async function runCensus(flags: FlagValues, io: CliIO): Promise<number> {
  const opts: CensusExperimentOptions = {
    groups: parseList(flags, 'groups', CENSUS_TASK_GROUPS),
    models: parseList(flags, 'models', CENSUS_MODELS),
    seeds: getNumber(flags, 'seeds'), firstSeed: getNumber(flags, 'seed'),
    epochs: getNumber(flags, 'epochs'), batchSize: getNumber(flags, 'batch-size'), lr: getNumber(flags, 'lr'), embeddingDim: getNumber(flags, 'embedding-dim'),
    splitSeed: getNumber(flags, 'split-seed'), limit: getNumber(flags, 'limit'), path: getString(flags, 'data'), workers: getNumber(flags, 'workers'),
  };
  if (opts.path !== undefined) checkInputFile('census', 'data', opts.path);
  const outDir = getString(flags, 'out') ?? join('out', 'census');
  checkOutDir('census', 'out', outDir); // a bad --out fails now, not after every run
  const t0 = performance.now();
  opts.onNote = (line) => io.err.write(`${line}\n`);
  if (!flags.quiet) {
    opts.onRun = (r, done, total) => {
      const el = (performance.now() - t0) / 1000;
      const [a, b] = Object.keys(r.test);
      io.err.write(`census: ${done}/${total} ${r.group} ${CENSUS_MODEL_LABELS[r.model]} seed ${r.seed}: ` +
        `AUC ${a} ${fixed(r.test[a].auc)}, ${b} ${fixed(r.test[b].auc)} (${formatDuration(r.seconds)}; ETA ${formatDuration((el / done) * (total - done))})\n`);
    };
  }
  const res = await censusExperiment(opts);
  const s = res.settings;
  const g0 = res.groups[0];
  const header = [
    `UCI census-income (KDD), a seeded split (seed ${s.splitSeed}) of the UCI *test* file: ${g0.rows.train} train / ${g0.rows.validation} validation / ${g0.rows.test} test rows; ` +
      `${s.seeds} runs per model and group (seeds ${s.firstSeed}–${s.firstSeed + s.seeds - 1}); ${s.epochs} epoch(s), batch ${s.batchSize}, Adam lr ${s.lr}, embeddings of ${s.embeddingDim}.`,
    'AUC on the test split after the last epoch; "best" is the highest over the runs.',
  ].join('\n');
  const tables = censusTables(res);
  println(io);
  println(io, header);
  println(io);
  println(io, tables);
  const files: Record<string, string | Uint8Array> = {
    'metrics.json': toJson({
      command: 'census', settings: s, groups: res.groups, summary: res.summary,
      runs: res.runs.map((r) => ({ group: r.group, model: r.model, seed: r.seed, parameters: r.parameters, test: r.test, validation: r.validation, seconds: r.seconds, history: r.history })),
      loadSeconds: res.loadSeconds, seconds: res.seconds,
    }),
    'results.md': `${header}\n\n${tables}`,
  };
  if (res.kept) {
    const { model, group, data } = res.kept;
    files['model.safetensors'] = serializeSafetensors(model.stateDict(), { model: 'MMoE', taskGroup: group, taskNames: model.taskNames.join(',') });
    const test = censusDataset(data, data.test);
    const n = data.test.size;
    const gates = gateHeatmap(model, sliceFeatures(test.x, 0, Math.min(n, 8192), n), `MMoE on census-income (${GROUP_TITLES[group]}): mean gate weight (test rows)`);
    if (gates) files['gates.svg'] = gates.svg;
  }
  for (const p of writeOutputs(outDir, files)) println(io, `wrote ${p}`);
  println(io, `took ${formatDuration(res.seconds)} (loading ${formatDuration(res.loadSeconds)}; ${res.workers} worker thread${res.workers === 1 ? '' : 's'})`);
  return 0;
}
