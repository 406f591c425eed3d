import { join } from 'node:path';
import { serializeSafetensors } from '../../nn/safetensors.js';
import { CENSUS_MODELS, censusDataset, censusExperiment, type CensusExperimentOptions, type CensusModelName } from '../../experiments/census.js';
import { gateHeatmap, lossCurvesFigure } from '../../experiments/figures.js';
import { sliceFeatures } from '../../train/dataset.js';
import { formatDuration } from '../../train/progress.js';
import { UsageError, getString, type FlagSpec, type FlagValues } from '../args.js';
import { println, toJson, writeOutputs, type CliIO } from '../io.js';
import { fixed, markdownTable } from '../table.js';

export const censusFlags: Record<string, FlagSpec> = {
  epochs: { type: 'int', min: 1, description: 'training epochs per model (default 2)' },
  'batch-size': { type: 'int', min: 1, description: 'mini-batch size (default 256)' },
  lr: { type: 'number', min: 1e-12, description: "Adam's learning rate (default 0.002)" },
  'embedding-dim': { type: 'int', min: 1, description: 'embedding width of each categorical column (default 4)' },
  models: { type: 'string', placeholder: 'M,M,…', description: `models to train (default ${CENSUS_MODELS.join(',')})` },
  seed: { type: 'int', min: 0, description: 'seed of the split, inits and shuffling (default 0)' },
  limit: { type: 'int', min: 10, description: 'read only the first N rows of the file (quick checks)' },
  data: { type: 'string', placeholder: 'FILE', description: 'census-income file (default: the packaged census-income.test.gz)' },
  out: { type: 'string', placeholder: 'DIR', description: 'write metrics.json, model.safetensors (MMoE) and SVG figures here (default out/census)' },
  quiet: { type: 'boolean', description: 'no progress output' },
};

const LABELS: Record<CensusModelName, string> = { mmoe: 'MMoE', 'shared-bottom': 'Shared-Bottom', 'single-task': 'SingleTask' };

export async function runCensus(flags: FlagValues, io: CliIO): Promise<number> {
  const models = getString(flags, 'models')?.split(',').map((s) => s.trim());
  for (const m of models ?? []) {
    if (!(CENSUS_MODELS as readonly string[]).includes(m)) throw new UsageError(`census: --models: unknown model '${m}', expected some of ${CENSUS_MODELS.join(', ')}`);
  }
  const num = (k: string): number | undefined => (typeof flags[k] === 'number' ? (flags[k] as number) : undefined);
  const opts: CensusExperimentOptions = {
    models: models as CensusModelName[] | undefined,
    epochs: num('epochs'), batchSize: num('batch-size'), lr: num('lr'), embeddingDim: num('embedding-dim'),
    seed: num('seed'), limit: num('limit'), path: getString(flags, 'data'),
    verbose: flags.quiet ? 0 : 1, progressStream: io.err,
  };
  if (!flags.quiet) {
    io.err.write('census: loading census-income…\n');
    opts.onModel = (r) => io.err.write(`census: ${LABELS[r.model]} done in ${formatDuration(r.seconds)}: ` +
      `test AUC income ${fixed(r.test.income.auc)}, never married ${fixed(r.test.never_married.auc)}\n`);
  }
  const res = await censusExperiment(opts);
  const s = res.settings;
  const outDir = getString(flags, 'out') ?? join('out', 'census');
  println(io);
  println(io, `UCI census-income (KDD): ${res.rows.train} train / ${res.rows.validation} validation / ${res.rows.test} test rows ` +
    `(seeded split of the UCI test file), ${res.data.sparseFeatures.length} categorical + ${res.data.denseFeatures.length} continuous features`);
  println(io, `positive rate in test: income ${fixed(res.positiveRate.income, 3)}, never married ${fixed(res.positiveRate.never_married, 3)}; ` +
    `${s.epochs} epochs, batch ${s.batchSize}, Adam lr ${s.lr}, embeddings of ${s.embeddingDim}`);
  println(io);
  println(io, markdownTable(
    ['model', 'parameters', 'income AUC', 'never-married AUC', 'income logloss', 'never-married logloss', 'train time'],
    res.results.map((r) => [
      LABELS[r.model], String(r.parameters), fixed(r.test.income.auc), fixed(r.test.never_married.auc),
      fixed(r.test.income.logloss), fixed(r.test.never_married.logloss), formatDuration(r.seconds),
    ]),
  ));
  println(io);
  const files: Record<string, string | Uint8Array> = {
    'metrics.json': toJson({
      command: 'census', settings: s, rows: res.rows, positiveRate: res.positiveRate,
      results: res.results.map((r) => ({ model: r.model, parameters: r.parameters, test: r.test, seconds: r.seconds, history: r.history.toJSON() })),
      loadSeconds: res.loadSeconds, seconds: res.seconds,
    }),
    'loss.svg': lossCurvesFigure(res.results.map((r) => ({ name: LABELS[r.model], history: r.history }))),
  };
  const mmoe = res.results.find((r) => r.model === 'mmoe');
  if (mmoe) {
    files['model.safetensors'] = serializeSafetensors(mmoe.trained.stateDict(), { model: 'MMoE', taskNames: 'income,never_married' });
    const test = censusDataset(res.data, res.data.test);
    const n = res.rows.test;
    const gates = gateHeatmap(mmoe.trained, sliceFeatures(test.x, 0, Math.min(n, 8192), n), 'MMoE on census-income: mean gate weight (test rows)');
    if (gates) files['gates.svg'] = gates.svg;
  }
  for (const p of writeOutputs(outDir, files)) println(io, `wrote ${p}`);
  println(io, `took ${formatDuration(res.seconds)} (loading ${formatDuration(res.loadSeconds)})`);
  return 0;
}
