import { join } from 'node:path';
import { createModel, type ModelName, type ModelOptionsByName, type MultiTaskBase, type MultiTaskModel } from '../../models/index.js';
import { serializeModel } from '../../models/model-file.js';
import { gateHeatmap, lossCurvesFigure } from '../../experiments/figures.js';
import { resolveDataset, sliceFeatures } from '../../train/dataset.js';
import { evaluateAsync, fitAsync } from '../../train/trainer.js';
import type { ModelInput } from '../../models/types.js';
import { expertLoadFigure } from '../../train/expert-health.js';
import { formatDuration } from '../../train/progress.js';
import { UsageError, getString, type FlagSpec, type FlagValues } from '../args.js';
import { ConfigError, readTrainConfig } from '../config.js';
import { checkOutDir, println, toJson, writeOutputs, type CliIO } from '../io.js';
import { fixed, markdownTable } from '../table.js';
import { loadTabular } from '../tabular.js';
import { streamTabular } from '../tabular-stream.js';
import { taskOptionsOf } from '../model-info.js';
import { ModelCheckpoint, loadCheckpoint } from '../../train/checkpoint-node.js';
import type { TrainingCheckpoint } from '../../train/checkpoint.js';

export const trainFlags: Record<string, FlagSpec> = {
  config: { type: 'string', placeholder: 'FILE', description: 'JSON config: csv, labels, sparse / dense columns, model, training (see README)' },
  out: { type: 'string', placeholder: 'DIR', description: 'write metrics.json, model.safetensors (the whole model: weights, options, vocabularies) and SVG figures here (default out/train)' },
  epochs: { type: 'int', min: 1, description: "override the config's training.epochs" },
  quiet: { type: 'boolean', description: 'no progress output' },
  resume: { type: 'string', placeholder: 'CKPT', description: "continue an interrupted run from a checkpoint of training.checkpoint (e.g. OUT/checkpoints/last.ckpt); same config and data: the result is bit-identical to an uninterrupted run" },
};

/** The checkpoint --resume names, read before any data is: a bad path fails at once. */
function readResume(file: string): TrainingCheckpoint {
  try {
    return loadCheckpoint(file);
  } catch (e) {
    throw new UsageError(`--resume: ${(e as Error).message}`);
  }
}

/** The model from the config's name and options; its option errors are config errors. */
export function buildConfiguredModel(name: ModelName, options: Record<string, unknown>, common: Record<string, unknown>): MultiTaskModel {
  try {
    return createModel(name, { ...options, ...common } as unknown as ModelOptionsByName[typeof name]);
  } catch (e) {
    throw new ConfigError(`config: model.options for ${name}: ${(e as Error).message}`);
  }
}

export async function runTrain(flags: FlagValues, io: CliIO): Promise<number> {
  const file = getString(flags, 'config');
  if (file === undefined) throw new UsageError('train: --config FILE is required (see mmoe-ts train --help)');
  const cfg = readTrainConfig(file);
  if (typeof flags.epochs === 'number') cfg.training.epochs = flags.epochs;
  const outDir = getString(flags, 'out') ?? join('out', 'train');
  checkOutDir('train', 'out', outDir); // an unusable --out fails now, not after training
  const resumePath = getString(flags, 'resume');
  const resumeFrom = resumePath === undefined ? undefined : readResume(resumePath);
  const ck = cfg.training.checkpoint;
  const { dir: ckDir, ...ckOpts } = ck ?? {};
  const checkpoints = ck === undefined ? [] : [new ModelCheckpoint({ dir: ckDir ?? join(outDir, 'checkpoints'), ...ckOpts })];
  const t0 = performance.now();
  const stream = cfg.training.stream;
  const data = stream ? await streamTabular(cfg) : await loadTabular(cfg);
  const taskNames = cfg.labels.map((l) => l.name);
  const taskTypes = cfg.labels.map((l) => l.type);
  const model = buildConfiguredModel(cfg.model.name, cfg.model.options, { features: data.features, ...taskOptionsOf(cfg.labels) });
  const tr = cfg.training;
  const missingLabels = cfg.labels.filter((l) => l.allowMissing).map((l) => l.name);
  if (!flags.quiet) {
    io.err.write(`train: ${cfg.model.name} (${model.numParameters()} parameters) on ${data.rows.train} rows ` +
      `(validation ${data.rows.validation}, test ${data.rows.test}) from ${cfg.csv}${stream ? ', streamed' : ''}\n`);
  }
  let history;
  try {
    // One loop either way; a stream is cut into batches (and shuffled) by its source.
    history = await fitAsync(model, data.train, {
      epochs: tr.epochs, ...(stream ? {} : { batchSize: tr.batchSize }), missingLabels, optimizer: tr.optimizer, lr: tr.lr, seed: tr.seed, yieldEvery: 'never',
      lossWeights: tr.lossWeights, clipGradNorm: tr.clipGradNorm,
      validationData: data.validation ?? undefined,
      earlyStopping: tr.earlyStopping,
      verbose: flags.quiet ? 0 : 1, progressStream: io.err,
      callbacks: checkpoints, resumeFrom,
    });
  } catch (e) {
    // Option problems the config could not see in advance (e.g. a monitor key that is never logged).
    if (e instanceof Error && /^fit(Async)?: (earlyStopping|lossWeights)/.test(e.message)) throw new ConfigError(`config: training: ${e.message}`);
    if (e instanceof Error && e.message.startsWith('ModelCheckpoint: monitor')) throw new ConfigError(`config: training.checkpoint: ${e.message}`);
    if (e instanceof Error && /^fitAsync: resumeFrom: /.test(e.message)) throw new UsageError(`--resume ${resumePath}: ${e.message.replace(/^fitAsync: resumeFrom: /, '')} (give the config the interrupted run used)`);
    throw e;
  }
  const evalSet = data.test ?? data.validation;
  const evaluation = evalSet ? await evaluateAsync(model, evalSet, { lossWeights: tr.lossWeights, missingLabels }) : null;
  const split = data.test ? 'test' : 'validation';
  if (evaluation) {
    const metricNames = cfg.groupBy !== undefined ? ['auc', 'gauc', 'logloss', 'accuracy', 'mse'] as const : ['auc', 'logloss', 'accuracy', 'mse'] as const;
    println(io, `${split} metrics (${data.test ? data.rows.test : data.rows.validation} rows):`);
    println(io, markdownTable(['task', 'type', ...metricNames], taskNames.map((t, j) => {
      const m = evaluation.tasks[t];
      return [t, taskTypes[j], ...metricNames.map((k) => fixed(m[k]))];
    })));
  } else {
    println(io, 'no validation or test rows: nothing to evaluate (set training.testSplit)');
  }
  const files: Record<string, string | Uint8Array> = {
    'metrics.json': toJson({
      command: 'train', config: cfg, model: { name: cfg.model.name, parameters: model.numParameters() },
      rows: data.rows, [split]: evaluation, history: history.toJSON(), seconds: (performance.now() - t0) / 1000,
    }),
    'model.safetensors': serializeModel(model as MultiTaskBase, { encoding: data.encoding, extra: { cli: data.info } }),
    'loss.svg': lossCurvesFigure([{ name: cfg.model.name, history }]),
  };
  const sample = evalSet ?? data.train;
  let rows: ModelInput;
  if ('iterator' in sample) {
    // A stream's first batch (evaluation batches hold up to 4096 rows).
    const it = sample.iterator(1);
    const b = (await it.next()).value!;
    await it.return(undefined);
    rows = sliceFeatures(b.x, 0, b.y.length / taskNames.length, b.y.length / taskNames.length);
  } else {
    const n = resolveDataset('train', sample, taskNames.length).n;
    rows = sliceFeatures(sample.x, 0, Math.min(n, 4096), n);
  }
  const gates = gateHeatmap(model, rows, `${cfg.model.name}: mean gate weight, ${split} rows`);
  if (gates) files['gates.svg'] = gates.svg;
  const load = expertLoadFigure(history, taskNames, `${cfg.model.name}: mean gate weight per expert, by epoch`);
  if (load) files['expert-load.svg'] = load;
  const written = writeOutputs(outDir, files);
  for (const p of written) println(io, `wrote ${p}`);
  println(io, `took ${formatDuration((performance.now() - t0) / 1000)}`);
  return 0;
}
