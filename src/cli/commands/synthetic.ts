import { join } from 'node:path';
import { gateHeatmap, modelLabel, sharedBottomFigure, syntheticCurvesFigure, syntheticHistogramsFigure } from '../../experiments/figures.js';
import { serializeSafetensors } from '../../nn/safetensors.js';
import { gridLayout } from '../../plot/svg.js';
import {
  DEMO_SYNTHETIC, FULL_SYNTHETIC, LEARNING_RATE_GRID, PAPER_SYNTHETIC, SYNTHETIC_MODELS, resolveSyntheticSettings, stepsPerEpoch, totalSteps,
  type SyntheticExperimentOptions, type SyntheticSettings, type SyntheticModelName, type SyntheticResult,
} from '../../experiments/synthetic/index.js';
import { FLAT_TOLERANCE, type PilotChoice } from '../../experiments/synthetic/index.js';
import { SYNTHETIC_PILOT } from '../../experiments/synthetic/index.js';
import { SIGNIFICANCE, summarizeCells, syntheticFindings } from '../../experiments/synthetic/index.js';
import { MAX_DEFAULT_WORKERS, syntheticExperimentParallel } from '../../experiments/synthetic/index.js';
import { syntheticPaper } from '../../experiments/synthetic/index.js';
import { DEFAULT_STACK } from '../../experiments/synthetic/index.js';
import { formatDuration } from '../../train/progress.js';
import { UsageError, getNumber, getString, type FlagSpec, type FlagValues } from '../args.js';
import { checkOutDir, checkOutFile, println, toJson, writeOutputs, type CliIO } from '../io.js';
import { RunProgress } from '../run-progress.js';
import { fixed, markdownTable } from '../table.js';

export const syntheticFlags: Record<string, FlagSpec> = {
  paper: { type: 'boolean', description: `the paper's protocol at full size: the learning-rate pilot, then ${PAPER_SYNTHETIC.runs} runs per (model, correlation) on ${PAPER_SYNTHETIC.trainSize} training rows; about an hour and a half on two idle cores; resumable (see --results)` },
  pilot: { type: 'boolean', description: `only the learning-rate pilot of --paper (grid ${LEARNING_RATE_GRID.join(', ')} on validation loss); writes pilot.json, the record the demo's rates come from` },
  full: { type: 'boolean', description: `more than the demo, less than --paper: ${FULL_SYNTHETIC.runs} runs per cell at --paper's data size and the pilot's length and rates (no pilot)` },
  results: { type: 'string', placeholder: 'FILE', description: 'with --paper / --pilot: the JSON-lines file each finished run is appended to; rerunning continues from it (default OUT/results.jsonl)' },
  runs: { type: 'int', min: 1, description: 'seeded runs per (model, correlation)' },
  epochs: { type: 'int', min: 1, description: 'training epochs per run (with --paper / --pilot: the pilot\'s length)' },
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
  stack: { type: 'int', min: 1, description: `runs of one (model, correlation) trained as one stacked computation (default ${DEFAULT_STACK}; 1 = one at a time); the table is the same for any width` },
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

const rate = (v: number): string => v.toExponential(0);

function lrLine(lr: Record<SyntheticModelName, number>, models: readonly SyntheticModelName[]): string {
  return models.map((m) => `${modelLabel(m)} ${rate(lr[m])}`).join(', ');
}

function pilotLines(p: PilotChoice, models: readonly SyntheticModelName[]): string[] {
  const worst = p.gaps.reduce((a, g) => (g.atChosen > a.atChosen ? g : a), p.gaps[0]);
  const lastWorst = p.gaps.reduce((a, g) => (g.lastQuarter > a.lastQuarter ? g : a), p.gaps[0]);
  return [
    `Pilot: ${p.runsPerCell} runs per (model, correlation, lr) on data sets of their own, judged on validation rows: ` +
      `lr = the grid value with the lowest validation loss (best epoch of the mean curve, averaged over ρ): ${lrLine(p.lr, models)}.`,
    `Training length rule: the fewest epochs E after which no model's mean validation curve (at its lr, any ρ) improves by more than ${FLAT_TOLERANCE * 100}%, ` +
      `with at least the last quarter of the pilot after E: ` +
      (p.flat ? `${p.epochs} of ${p.pilotEpochs} pilot epochs (largest later improvement: ${modelLabel(worst.model)} at ρ=${worst.correlation}, ${(worst.atChosen * 100).toFixed(1)}%).`
        : `not met within the pilot's ${p.pilotEpochs} epochs, so the main runs train all ${p.pilotEpochs}; validation loss had not flattened ` +
          `(${modelLabel(lastWorst.model)} at ρ=${lastWorst.correlation} still improved ${(lastWorst.lastQuarter * 100).toFixed(1)}% over the last quarter).`),
  ];
}

function printResult(io: CliIO, result: SyntheticResult, heading: string, notes: string[]): void {
  const s = result.settings;
  println(io);
  println(io, `${heading}: ${s.runs} runs per cell (model × correlation), ${s.trainSize} training / ${s.validationSize} validation / ${s.testSize} test rows (disjoint), d = ${s.dim}; ` +
    `${s.epochs} epoch${s.epochs === 1 ? '' : 's'} = ${totalSteps(s)} steps of batch ${s.batchSize} (${stepsPerEpoch(s)} per epoch), test loss every ${s.logEvery} steps.`);
  println(io, `Data: α, β fixed for every data set (one N(0, 1) draw, sine seed ${s.sineSeed}, m = 10, c = 1, noise σ = 0.1); per run only u1, u2, x, ε and the initialisation vary, ` +
    'and run r\'s data set and initialisation are shared by every model and ρ, so all comparisons are paired by run.');
  println(io, `Models: MMoE / OMoE with ${s.numExperts} experts of ${s.expertUnits} units, towers of ${s.towerUnits}; Shared-Bottom with a bottom of ${s.bottomUnits} units` +
    `${s.bottomRule === 'paper' ? " (the paper's)" : s.bottomRule === 'matched' ? ' (matched to MMoE\'s parameter count)' : ''}; ` +
    `parameters: ${s.models.map((m) => `${modelLabel(m)} ${result.parameters[m]}`).join(', ')}. Adam lr: ${lrLine(s.lr, s.models)}.`);
  for (const n of notes) println(io, n);
  println(io);
  println(io, 'Final test loss (mean over the two tasks of the test MSE after the last step), per cell:');
  println(io);
  const cells = summarizeCells(result);
  println(io, markdownTable(
    ['model', 'correlation', 'runs', 'mean', '95% CI of mean', 'median', 'IQR', 'min', 'max'],
    cells.map((c) => [modelLabel(c.model), String(c.correlation), String(c.runs), fixed(c.mean), `${fixed(c.ci[0])}–${fixed(c.ci[1])}`,
      fixed(c.median), `${fixed(c.q25)}–${fixed(c.q75)}`, fixed(c.min), fixed(c.max)]),
  ));
  println(io);
  const lc = result.labelCorrelations.map((l) => `ρ=${l.correlation}: ${fixed(l.values.reduce((a, b) => a + b, 0) / l.values.length, 3)}`).join(', ');
  println(io, `Label correlation actually produced (Pearson, mean over runs): ${lc}.`);
  println(io);
  const findings = syntheticFindings(result);
  if (findings.length > 0) {
    println(io, `Findings (Wilcoxon signed-rank test, paired by run; a claim holds at p < ${SIGNIFICANCE}, one-sided, no multiple-test correction; Δ = per-run loss difference in the claim's direction):`);
    println(io);
    const pct = (x: number): string => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(Math.abs(x) < 0.1 ? 1 : 0)}%`;
    println(io, markdownTable(
      ['claim', 'effect', 'p-value', 'result'],
      findings.map((f) => [`${f.id}  ${f.claim}`,
        f.effectName === 'IQR ratio' ? `IQR ratio ${fixed(f.effect, 2)}` : `median Δ ${f.effect >= 0 ? '+' : ''}${fixed(f.effect)}${Number.isFinite(f.relative) ? ` (${pct(f.relative)})` : ''}`,
        f.pValue < 1e-4 ? f.pValue.toExponential(1) : f.pValue.toFixed(4), f.holds ? 'holds' : 'does not hold']),
    ));
    println(io);
  }
}

function writeFigures(io: CliIO, outDir: string, result: SyntheticResult, extra: Record<string, unknown>): void {
  const gates = result.mmoeModels.map((m) => ({
    correlation: m.correlation,
    ...gateHeatmap(m.model, m.testX, `MMoE gates, correlation ${m.correlation} (run 1, test rows)`)!,
  }));
  const outputs: Record<string, string | Uint8Array> = {
    'curves.svg': syntheticCurvesFigure(result),
    'histograms.svg': syntheticHistogramsFigure(result),
  };
  const sb = sharedBottomFigure(result);
  if (sb !== null) outputs['shared-bottom.svg'] = sb;
  if (gates.length > 0) {
    outputs['gates.svg'] = gridLayout(gates.map((g) => g.svg), gates.length);
    const first = result.mmoeModels[0];
    outputs['model.safetensors'] = serializeSafetensors(first.model.stateDict(), { model: 'MMoE', correlation: String(first.correlation), run: '1' });
  }
  outputs['metrics.json'] = toJson({
    command: 'synthetic', ...extra, settings: result.settings, parameters: result.parameters, alpha: result.alpha, beta: result.beta,
    labelCorrelations: result.labelCorrelations, cells: summarizeCells(result), findings: syntheticFindings(result), runs: result.runs,
    meanGateWeights: gates.map((g) => ({ correlation: g.correlation, values: g.values })), seconds: result.seconds,
  });
  const files = writeOutputs(outDir, outputs);
  const at = (name: string): string => files[Object.keys(outputs).indexOf(name)];
  println(io, `Fig. 4, test loss against step (mean, IQR band): ${at('curves.svg')}`);
  println(io, `Fig. 5, histograms of final test loss: ${at('histograms.svg')}`);
  if (sb !== null) println(io, `§3.3, Shared-Bottom's loss by correlation: ${at('shared-bottom.svg')}`);
  if (gates.length > 0) println(io, `MMoE gate weights: ${at('gates.svg')}; weights of the first MMoE (correlation ${result.mmoeModels[0].correlation}, run 1): ${at('model.safetensors')}`);
  println(io, `metrics (settings, every run's curve, cells, findings): ${at('metrics.json')}`);
}

export async function runSynthetic(flags: FlagValues, io: CliIO): Promise<number> {
  const modes = ['paper', 'pilot', 'full'].filter((k) => flags[k] === true);
  if (modes.length > 1) throw new UsageError(`synthetic: --${modes.join(' and --')} cannot be combined`);
  const mode = (modes[0] ?? 'demo') as 'paper' | 'pilot' | 'full' | 'demo';
  if (flags.results !== undefined && mode !== 'paper' && mode !== 'pilot') throw new UsageError('synthetic: --results goes with --paper or --pilot');
  if (flags.lr !== undefined && (mode === 'paper' || mode === 'pilot')) throw new UsageError(`synthetic: --lr cannot be combined with --${mode}: its pilot chooses the rates`);
  const recorded = SYNTHETIC_PILOT.choice;
  const base: SyntheticExperimentOptions = mode === 'demo' ? { ...DEMO_SYNTHETIC, lr: recorded.lr }
    : mode === 'full' ? { ...PAPER_SYNTHETIC, ...FULL_SYNTHETIC, epochs: recorded.epochs, lr: recorded.lr }
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
  const parallel = { workers: getNumber(flags, 'workers'), stack: getNumber(flags, 'stack'), onNote: (line: string) => { if (progress) progress.note(line); else io.err.write(`${line}\n`); } };

  if (mode === 'demo' || mode === 'full') {
    const result = await syntheticExperimentParallel({ ...opts, onRun }, parallel);
    progress?.finish();
    const s = result.settings;
    const sameRates = s.models.every((m) => s.lr[m] === recorded.lr[m]);
    printResult(io, result, mode === 'demo' ? 'MMoE paper synthetic experiment (demo)' : 'MMoE paper synthetic experiment (--full)', [
      sameRates ? `Learning rates from the recorded pilot of \`mmoe-ts synthetic --pilot\` (src/experiments/synthetic/pilot-record.json; ${recorded.runsPerCell} runs per model, ρ and lr at the --paper size).`
        : 'Learning rates given by --lr (not the recorded pilot\'s).',
      `The pilot's training-length rule gave ${recorded.epochs} epochs = ${recorded.epochs * stepsPerEpoch(SYNTHETIC_PILOT.settings)} steps at the pilot's size (${SYNTHETIC_PILOT.settings.trainSize} rows)${recorded.flat ? ', where validation loss had flattened' : ', its full length: validation loss had not flattened by then'}; ` +
        (mode === 'demo' ? `the demo trains ${totalSteps(s)} steps on ${s.trainSize} rows to fit its time budget, so its losses are higher than --paper's and not all curves have flattened (see the Fig. 4 curves).` : `this run trains ${totalSteps(s)} steps.`),
    ]);
    writeFigures(io, outDir, result, { mode, pilot: SYNTHETIC_PILOT });
    println(io, `took ${formatDuration(result.seconds)}`);
    return 0;
  }

  const resultsPath = resultsFlag ?? join(outDir, 'results.jsonl');
  const { runs: _r, onRun: _o, lr: _l, ...paperOpts } = opts;
  const out = await syntheticPaper({ ...paperOpts, runs: opts.runs }, {
    results: resultsPath, parallel, pilotOnly: mode === 'pilot', onRun,
  });
  progress?.finish();
  println(io);
  println(io, `Results file: ${resultsPath} (${out.resumed > 0 ? `${out.resumed} finished jobs found and kept, ` : ''}${out.trained} trained by this call).`);
  const ps = out.pilotSettings;
  println(io, `Pilot at ${ps.trainSize} training / ${ps.validationSize} validation rows, ${ps.epochs} epochs = ${totalSteps(ps)} steps of batch ${ps.batchSize}, grid ${out.pilot.grid.join(', ')}:`);
  for (const l of pilotLines(out.pilot, ps.models)) println(io, l);
  println(io);
  println(io, markdownTable(['model', ...out.pilot.grid.map((g) => `lr ${rate(g)}`), 'chosen'],
    ps.models.map((m) => [modelLabel(m), ...out.pilot.grid.map((g) => fixed(out.pilot.scores[m][String(g)])), rate(out.pilot.lr[m])])));
  if (mode === 'pilot') {
    const files = writeOutputs(outDir, { 'pilot.json': toJson({ command: 'mmoe-ts synthetic --pilot', seconds: out.seconds, settings: { ...ps, lr: out.pilot.lr }, choice: out.pilot }) });
    println(io);
    println(io, `pilot record: ${files[0]} (the demo's rates come from its copy in src/experiments/synthetic/pilot-record.json)`);
    println(io, `took ${formatDuration(out.seconds)}`);
    return 0;
  }
  const result = out.result!;
  printResult(io, result, 'MMoE paper synthetic experiment (--paper)', []);
  writeFigures(io, outDir, result, { mode, pilot: out.pilot, pilotSettings: ps });
  println(io, `took ${formatDuration(out.seconds)} wall time in this call${out.resumed > 0 ? ' (jobs loaded from the results file not counted)' : ''}`);
  return 0;
}
