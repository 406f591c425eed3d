import { join } from 'node:path';
import { modelLabel } from '../../experiments/figures.js';
import {
  DEMO_STACK, DEMO_SYNTHETIC, FULL_SYNTHETIC, LEARNING_RATE_GRID, PAPER_FIRST_EPOCHS, PAPER_SYNTHETIC, ROBUSTNESS_RUNS, SECTION_33_BOTTOM_UNITS, SYNTHETIC_MODELS,
  candidateLengths, resolveSyntheticSettings, stepsPerEpoch, type SyntheticExperimentOptions, type SyntheticSettings, type SyntheticModelName,
} from '../../experiments/synthetic/index.js';
import { SYNTHETIC_PILOT, loadRecordedFindings } from '../../experiments/synthetic/index.js';
import { MAX_DEFAULT_WORKERS, syntheticExperimentParallel } from '../../experiments/synthetic/index.js';
import { syntheticPaper } from '../../experiments/synthetic/index.js';
import { DEFAULT_STACK } from '../../experiments/synthetic/index.js';
import { formatDuration } from '../../train/progress.js';
import { UsageError, getNumber, getString, type FlagSpec, type FlagValues } from '../args.js';
import { checkOutDir, checkOutFile, println, type CliIO } from '../io.js';
import { RunProgress } from '../run-progress.js';
import { reportPaper } from './synthetic-paper.js';
import { comparisonWithPaper, printResult, writeFigures } from './synthetic-report.js';

export const syntheticFlags: Record<string, FlagSpec> = {
  paper: { type: 'boolean', description: `the paper's protocol at full size (docs/paper/protocol.md): the pilot (rates from ${LEARNING_RATE_GRID.join(', ')} and the training length by its stopping rule), ${PAPER_SYNTHETIC.runs} runs per (model, correlation) on ${PAPER_SYNTHETIC.trainSize} training rows with tables at fixed checkpoints, robustness tables on other generators and the §3.3 experiment; hours on two cores; resumable (see --results)` },
  pilot: { type: 'boolean', description: `only the pilot of --paper; writes pilot.json, the record the demo's rates come from` },
  full: { type: 'boolean', description: `more than the demo, less than --paper: ${FULL_SYNTHETIC.runs} runs per cell at --paper's data size, ${FULL_SYNTHETIC.epochs} epochs at the recorded pilot's rates (no pilot, robustness or §3.3)` },
  results: { type: 'string', placeholder: 'FILE', description: 'with --paper / --pilot: the JSON-lines file each finished run is appended to; rerunning continues from it (default OUT/results.jsonl)' },
  runs: { type: 'int', min: 1, description: 'seeded runs per (model, correlation)' },
  epochs: { type: 'int', min: 1, description: 'training epochs per run (with --paper / --pilot: the cap of the training length, the pilot\'s length)' },
  'first-epochs': { type: 'int', min: 1, description: `with --paper / --pilot: the first candidate length of the stopping rule, doubled up to --epochs (default ${PAPER_FIRST_EPOCHS})` },
  'robustness-runs': { type: 'int', min: 0, description: `with --paper: runs per cell of each robustness table (default ${ROBUSTNESS_RUNS}; 0 skips them)` },
  'section33-runs': { type: 'int', min: 0, description: `with --paper: runs per correlation of the §3.3 experiment, Shared-Bottom with ${SECTION_33_BOTTOM_UNITS} units (default --runs; 0 skips it)` },
  'train-size': { type: 'int', min: 2, description: 'training rows per data set' },
  'validation-size': { type: 'int', min: 1, description: 'validation rows per data set (the pilot judges on them)' },
  'test-size': { type: 'int', min: 1, description: 'test rows per data set' },
  'batch-size': { type: 'int', min: 1, description: 'mini-batch size' },
  'log-every': { type: 'int', min: 1, description: 'training steps between two points of the loss curves' },
  lr: { type: 'number', min: 1e-12, description: "Adam's learning rate for every model (default: each model's rate from the recorded pilot)" },
  'bottom-units': { type: 'string', placeholder: 'N|matched', description: "Shared-Bottom's width: a number, or 'matched' to MMoE's parameter count (default 113, the paper's)" },
  correlations: { type: 'numbers', min: -1, max: 1, placeholder: 'R,R,…', description: 'task correlations (default 0.5,0.9,1)' },
  models: { type: 'string', placeholder: 'M,M,…', description: `models to train (default ${SYNTHETIC_MODELS.join(',')})` },
  seed: { type: 'int', min: 0, description: 'base seed of data sets, inits and shuffling (default 0)' },
  'sine-seed': { type: 'int', min: 0, description: 'seed of the one draw of the sine parameters α, β shared by every data set (default 0)' },
  out: { type: 'string', placeholder: 'DIR', description: 'output folder for the figures and metrics.json (default out/demo, out/paper or out/pilot)' },
  quiet: { type: 'boolean', description: 'no progress line' },
  workers: { type: 'int', min: 1, description: `worker threads training runs side by side (default one per CPU core, at most ${MAX_DEFAULT_WORKERS}; 1 = all in this thread); the table is the same for any count` },
  stack: { type: 'int', min: 1, description: `runs of one (model, correlation) trained as one stacked computation (default ${DEFAULT_STACK}, the demo ${DEMO_STACK}; 1 = one at a time); the table is the same for any width` },
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

function parseBottom(v: string | undefined): number | 'matched' | undefined {
  if (v === undefined || v === 'matched') return v;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`synthetic: --bottom-units expects a positive integer or 'matched', got '${v}'`);
  return n;
}

export async function runSynthetic(flags: FlagValues, io: CliIO): Promise<number> {
  const modes = ['paper', 'pilot', 'full'].filter((k) => flags[k] === true);
  if (modes.length > 1) throw new UsageError(`synthetic: --${modes.join(' and --')} cannot be combined`);
  const mode = (modes[0] ?? 'demo') as 'paper' | 'pilot' | 'full' | 'demo';
  if (flags.results !== undefined && mode !== 'paper' && mode !== 'pilot') throw new UsageError('synthetic: --results goes with --paper or --pilot');
  for (const k of ['first-epochs', 'robustness-runs', 'section33-runs']) {
    if (flags[k] !== undefined && mode !== 'paper' && mode !== 'pilot') throw new UsageError(`synthetic: --${k} goes with --paper or --pilot`);
  }
  if (flags.lr !== undefined && (mode === 'paper' || mode === 'pilot')) throw new UsageError(`synthetic: --lr cannot be combined with --${mode}: its pilot chooses the rates`);
  const recorded = SYNTHETIC_PILOT.choice;
  const base: SyntheticExperimentOptions = mode === 'demo' ? { ...DEMO_SYNTHETIC, lr: recorded.lr }
    : mode === 'full' ? { ...PAPER_SYNTHETIC, ...FULL_SYNTHETIC, lr: recorded.lr }
      : { ...PAPER_SYNTHETIC };
  const opts: SyntheticExperimentOptions = {
    ...base,
    ...(getNumber(flags, 'runs') !== undefined && { runs: getNumber(flags, 'runs') }),
    ...(getNumber(flags, 'epochs') !== undefined && { epochs: getNumber(flags, 'epochs') }),
    ...(getNumber(flags, 'train-size') !== undefined && { trainSize: getNumber(flags, 'train-size') }),
    ...(getNumber(flags, 'validation-size') !== undefined && { validationSize: getNumber(flags, 'validation-size') }),
    ...(getNumber(flags, 'test-size') !== undefined && { testSize: getNumber(flags, 'test-size') }),
    ...(getNumber(flags, 'batch-size') !== undefined && { batchSize: getNumber(flags, 'batch-size') }),
    ...(getNumber(flags, 'log-every') !== undefined && { logEvery: getNumber(flags, 'log-every') }),
    ...(getNumber(flags, 'lr') !== undefined && { lr: getNumber(flags, 'lr') }),
    ...(getNumber(flags, 'seed') !== undefined && { seed: getNumber(flags, 'seed') }),
    ...(getNumber(flags, 'sine-seed') !== undefined && { sineSeed: getNumber(flags, 'sine-seed') }),
    ...(flags['bottom-units'] !== undefined && { bottomUnits: parseBottom(getString(flags, 'bottom-units')) }),
    ...(Array.isArray(flags.correlations) && { correlations: uniqueCorrelations(flags.correlations) }),
    ...(flags.models !== undefined && { models: parseModels(getString(flags, 'models')) }),
  };
  // Every setting, flag and path is checked now, not after minutes of training.
  let settings: SyntheticSettings;
  try {
    settings = resolveSyntheticSettings(opts);
  } catch (e) {
    throw new UsageError(`synthetic: ${(e as Error).message}`);
  }
  if (mode === 'paper' || mode === 'pilot') {
    const first = getNumber(flags, 'first-epochs') ?? Math.min(PAPER_FIRST_EPOCHS, settings.epochs);
    try {
      candidateLengths(first, settings.epochs);
    } catch {
      throw new UsageError(`synthetic: --first-epochs ${first} doubled never reaches --epochs ${settings.epochs}: the stopping rule's lengths double from the first to the cap`);
    }
    const per = stepsPerEpoch(settings);
    if (per % settings.logEvery !== 0) {
      throw new UsageError(`synthetic: --log-every ${settings.logEvery} must divide the ${per} steps per epoch (--train-size ${settings.trainSize} / --batch-size ${settings.batchSize}): the --${mode} pilot compares validation loss at each epoch's end`);
    }
  }
  const outDir = getString(flags, 'out') ?? join('out', mode === 'full' ? 'full' : mode);
  checkOutDir('synthetic', 'out', outDir);
  const resultsFlag = getString(flags, 'results');
  if (resultsFlag !== undefined) checkOutFile('synthetic', 'results', resultsFlag);
  const progress = flags.quiet ? null : new RunProgress(io.err, `synthetic ${mode}`);
  const onRun = (r: { model: SyntheticModelName; correlation: number; run: number; phase: string }, done: number, total: number): void => {
    progress?.update(done, total, `${r.phase === 'pilot' ? 'pilot ' : ''}${modelLabel(r.model)} ρ=${r.correlation} run ${r.run + 1}`);
  };
  const parallel = { workers: getNumber(flags, 'workers'), stack: getNumber(flags, 'stack') ?? (mode === 'demo' ? DEMO_STACK : undefined), onNote: (line: string) => { if (progress) progress.note(line); else io.err.write(`${line}\n`); } };

  if (mode === 'demo' || mode === 'full') {
    const result = await syntheticExperimentParallel({ ...opts, onRun }, parallel);
    progress?.finish();
    const s = result.settings;
    printResult(io, result, mode === 'demo' ? 'MMoE paper synthetic experiment (demo)' : 'MMoE paper synthetic experiment (--full)',
      comparisonWithPaper(s, mode, SYNTHETIC_PILOT), loadRecordedFindings());
    writeFigures(io, outDir, result, { mode, pilot: SYNTHETIC_PILOT });
    println(io, `took ${formatDuration(result.seconds)}`);
    return 0;
  }

  const resultsPath = resultsFlag ?? join(outDir, 'results.jsonl');
  const { runs: _r, onRun: _o, lr: _l, ...paperOpts } = opts;
  const out = await syntheticPaper({ ...paperOpts, runs: opts.runs }, {
    results: resultsPath, parallel, pilotOnly: mode === 'pilot', onRun,
    ...(getNumber(flags, 'first-epochs') !== undefined && { firstEpochs: getNumber(flags, 'first-epochs') }),
    ...(getNumber(flags, 'robustness-runs') !== undefined && { robustnessRuns: getNumber(flags, 'robustness-runs') }),
    ...(getNumber(flags, 'section33-runs') !== undefined && { section33Runs: getNumber(flags, 'section33-runs') }),
  });
  progress?.finish();
  reportPaper(io, out, mode, outDir, resultsPath);
  return 0;
}
