import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { gateHeatmap, syntheticFigure, modelLabel } from '../../experiments/figures.js';
import { serializeSafetensors } from '../../nn/safetensors.js';
import { gridLayout } from '../../train/svg.js';
import {
  FULL_SYNTHETIC, SYNTHETIC_MODELS, summarizeSynthetic,
  type SyntheticExperimentOptions, type SyntheticModelName,
} from '../../experiments/synthetic.js';
import { MAX_DEFAULT_WORKERS, syntheticExperimentParallel } from '../../experiments/synthetic-parallel.js';
import { formatDuration } from '../../train/progress.js';
import { UsageError, getString, type FlagSpec, type FlagValues } from '../args.js';
import { println, toJson, writeOutputs, type CliIO } from '../io.js';
import { fixed, markdownTable } from '../table.js';

export const syntheticFlags: Record<string, FlagSpec> = {
  full: { type: 'boolean', description: `paper-sized run: ${FULL_SYNTHETIC.runs} runs per cell, ${FULL_SYNTHETIC.trainSize} training rows, ${FULL_SYNTHETIC.epochs} epochs (tens of minutes)` },
  runs: { type: 'int', min: 1, description: 'seeded runs per (model, correlation)' },
  epochs: { type: 'int', min: 1, description: 'training epochs per run' },
  'train-size': { type: 'int', min: 2, description: 'training rows per data set' },
  'test-size': { type: 'int', min: 1, description: 'test rows per data set' },
  'batch-size': { type: 'int', min: 1, description: 'mini-batch size' },
  lr: { type: 'number', min: 1e-12, description: "Adam's learning rate" },
  correlations: { type: 'numbers', min: -1, max: 1, placeholder: 'R,R,…', description: 'task correlations (default 0.5,0.9,1)' },
  models: { type: 'string', placeholder: 'M,M,…', description: `models to train (default ${SYNTHETIC_MODELS.join(',')})` },
  seed: { type: 'int', min: 0, description: 'base seed of data, inits and shuffling (default 0)' },
  out: { type: 'string', placeholder: 'DIR', description: 'output folder for figure.svg and metrics.json (default out/demo)' },
  quiet: { type: 'boolean', description: 'no per-run progress lines' },
  workers: { type: 'int', min: 1, description: `worker threads training runs side by side (default one per CPU core, at most ${MAX_DEFAULT_WORKERS}; 1 = all in this thread); the table is the same for any count` },
};

function parseModels(v: string | undefined): SyntheticModelName[] | undefined {
  if (v === undefined) return undefined;
  const names = v.split(',').map((s) => s.trim());
  for (const n of names) {
    if (!(SYNTHETIC_MODELS as readonly string[]).includes(n)) throw new UsageError(`synthetic: --models: unknown model '${n}', expected some of ${SYNTHETIC_MODELS.join(', ')}`);
  }
  if (new Set(names).size !== names.length) throw new UsageError(`synthetic: --models: '${v}' names a model twice`);
  return names as SyntheticModelName[];
}

function uniqueCorrelations(values: readonly number[]): number[] {
  if (new Set(values).size !== values.length) throw new UsageError(`synthetic: --correlations: '${values.join(',')}' names a correlation twice`);
  return [...values];
}

export async function runSynthetic(flags: FlagValues, io: CliIO): Promise<number> {
  const base: SyntheticExperimentOptions = flags.full ? { ...FULL_SYNTHETIC } : {};
  const num = (k: string): number | undefined => (typeof flags[k] === 'number' ? (flags[k] as number) : undefined);
  const opts: SyntheticExperimentOptions = {
    ...base,
    ...(num('runs') !== undefined && { runs: num('runs') }),
    ...(num('epochs') !== undefined && { epochs: num('epochs') }),
    ...(num('train-size') !== undefined && { trainSize: num('train-size') }),
    ...(num('test-size') !== undefined && { testSize: num('test-size') }),
    ...(num('batch-size') !== undefined && { batchSize: num('batch-size') }),
    ...(num('lr') !== undefined && { lr: num('lr') }),
    ...(num('seed') !== undefined && { seed: num('seed') }),
    ...(Array.isArray(flags.correlations) && { correlations: uniqueCorrelations(flags.correlations) }),
    ...(flags.models !== undefined && { models: parseModels(getString(flags, 'models')) }),
  };
  const outDir = getString(flags, 'out') ?? join('out', 'demo');
  // Fail on an unusable output folder now, not after minutes of training.
  mkdirSync(outDir, { recursive: true });
  if (!flags.quiet) {
    opts.onRun = (r, done, total) => {
      io.err.write(`[${done}/${total}] ${modelLabel(r.model).padEnd(13)} correlation ${r.correlation}  run ${r.run + 1}  test loss ${fixed(r.finalLoss)}  (${r.seconds.toFixed(1)}s)\n`);
    };
  }
  const result = await syntheticExperimentParallel(opts, {
    workers: num('workers'),
    onNote: (line) => { io.err.write(`${line}\n`); },
  });
  const s = result.settings;
  const rows = summarizeSynthetic(result);
  const order = [...rows].sort((a, b) => a.correlation - b.correlation || s.models.indexOf(a.model) - s.models.indexOf(b.model));
  println(io);
  println(io, `MMoE paper synthetic experiment: ${s.runs} runs per cell, ${s.trainSize} training / ${s.testSize} test rows, d = ${s.dim}, ` +
    `${s.epochs} epochs, batch ${s.batchSize}, Adam lr ${s.lr}`);
  println(io, `MMoE / OMoE: ${s.numExperts} experts of ${s.expertUnits} units, towers of ${s.towerUnits}; Shared-Bottom: bottom of ${s.bottomUnits} units ` +
    `(parameters: ${s.models.map((m) => `${modelLabel(m)} ${result.parameters[m]}`).join(', ')})`);
  println(io, 'Test loss = mean over the two tasks of the test-set MSE after the last epoch; mean, min and max over runs.');
  println(io);
  println(io, markdownTable(
    ['model', 'correlation', 'label corr.', 'mean', 'min', 'max'],
    order.map((r) => {
      const lc = result.labelCorrelations.find((l) => l.correlation === r.correlation)!.values;
      return [modelLabel(r.model), String(r.correlation), fixed(lc.reduce((a, b) => a + b, 0) / lc.length, 3), fixed(r.mean), fixed(r.min), fixed(r.max)];
    }),
  ));
  println(io);
  println(io, '(label corr. = Pearson correlation of the two label columns the generator produced, mean over runs)');
  const gates = result.mmoeModels.map((m) => ({
    correlation: m.correlation,
    ...gateHeatmap(m.model, m.testX, `MMoE gates, correlation ${m.correlation} (run 1, test rows)`)!,
  }));
  const outputs: Record<string, string | Uint8Array> = {
    'figure.svg': syntheticFigure(result),
    'metrics.json': toJson({
      command: 'synthetic', settings: { ...s, onRun: undefined }, parameters: result.parameters,
      labelCorrelations: result.labelCorrelations, summary: rows, runs: result.runs,
      meanGateWeights: gates.map((g) => ({ correlation: g.correlation, values: g.values })), seconds: result.seconds,
    }),
  };
  if (gates.length > 0) {
    outputs['gates.svg'] = gridLayout(gates.map((g) => g.svg), gates.length);
    const first = result.mmoeModels[0];
    outputs['model.safetensors'] = serializeSafetensors(first.model.stateDict(), { model: 'MMoE', correlation: String(first.correlation), run: '1' });
  }
  const files = writeOutputs(outDir, outputs);
  println(io, `figure: ${files[0]}`);
  println(io, `metrics: ${files[1]}`);
  if (gates.length > 0) println(io, `MMoE gate weights: ${files[2]}; weights of the first MMoE (correlation ${result.mmoeModels[0].correlation}, run 1): ${files[3]}`);
  println(io, `took ${formatDuration(result.seconds)}`);
  return 0;
}
