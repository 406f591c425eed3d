import { gateHeatmap, modelLabel, sharedBottomFigure, syntheticCurvesFigure, syntheticHistogramsFigure } from '../../experiments/figures.js';
import { serializeSafetensors } from '../../nn/safetensors.js';
import { gridLayout } from '../../plot/svg.js';
import {
  LENGTH_TOLERANCE, PAPER_FIRST_EPOCHS, PAPER_SYNTHETIC, SIGNIFICANCE, stepsPerEpoch, summarizeCells, syntheticFindings, totalSteps,
  isPaperPilot, sameDirection, type Finding, type RecordedFindings, type RecordedPilot, type SyntheticModelName, type SyntheticResult, type SyntheticSettings,
} from '../../experiments/synthetic/index.js';
import { println, toJson, writeOutputs, type CliIO } from '../io.js';
import { fixed, markdownTable } from '../table.js';

/*
 * How the synthetic command reports one finished table (the demo's, --full's or one of --paper's):
 * the settings in words, the per-cell loss table, the findings and the figures.
 */

export const rate = (v: number): string => v.toExponential(0);

export function lrLine(lr: Record<SyntheticModelName, number>, models: readonly SyntheticModelName[]): string {
  return models.map((m) => `${modelLabel(m)} ${rate(lr[m])}`).join(', ');
}

export function printResult(io: CliIO, result: SyntheticResult, heading: string, notes: string[], reference: RecordedFindings | null = null): void {
  const s = result.settings;
  println(io);
  println(io, `${heading}: ${s.runs} runs per cell (model × correlation), ${s.trainSize} training / ${s.validationSize} validation / ${s.testSize} test rows (disjoint), d = ${s.dim}; ` +
    `${s.epochs} epoch${s.epochs === 1 ? '' : 's'} = ${totalSteps(s)} steps of batch ${s.batchSize} (${stepsPerEpoch(s)} per epoch), test loss every ${s.logEvery} steps.`);
  println(io, `Data: α, β fixed for every data set (one N(0, 1) draw, ${s.sineTerms === 0 ? 'no sine terms: the purely linear generator' : `sine seed ${s.sineSeed}, m = ${s.sineTerms}`}, c = 1, noise σ = 0.1); per run only u1, u2, x, ε and the initialisation vary, ` +
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
  printFindings(io, result, 'Findings', reference);
}

/** The findings table of `result` (its runs' finalLoss), with the test named in the caption; beside it, where given, the converged run's verdict on the same claims. */
export function printFindings(io: CliIO, result: SyntheticResult, caption = 'Findings', reference: RecordedFindings | null = null): void {
  const findings = syntheticFindings(result);
  if (findings.length === 0) return;
  println(io, `${caption} (Wilcoxon signed-rank test, paired by run; a claim holds at p < ${SIGNIFICANCE}, one-sided, no multiple-test correction; Δ = per-run loss difference in the claim's direction):`);
  println(io);
  const pct = (x: number): string => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(Math.abs(x) < 0.1 ? 1 : 0)}%`;
  const effect = (f: Finding): string => f.effectName === 'IQR ratio' ? `IQR ratio ${fixed(f.effect, 2)}`
    : `median Δ ${f.effect >= 0 ? '+' : ''}${fixed(f.effect)}${Number.isFinite(f.relative) ? ` (${pct(f.relative)})` : ''}`;
  const verdict = (f: Finding): string => (f.holds ? 'holds' : 'does not hold');
  const byClaim = new Map((reference?.findings ?? []).map((f) => [f.claim, f]));
  let compared = 0, same = 0;
  const rows = findings.map((f) => {
    const row = [`${f.id}  ${f.claim}`, effect(f), formatP(f.pValue), verdict(f)];
    if (reference === null) return row;
    const r = byClaim.get(f.claim);
    if (r === undefined) return [...row, '–', '–'];
    compared++;
    if (sameDirection(f, r)) same++;
    return [...row, `${verdict(r)}, ${effect(r)}`, sameDirection(f, r) ? 'same' : 'opposite'];
  });
  const head = ['claim', 'effect', 'p-value', 'result'];
  println(io, markdownTable(reference === null ? head : [...head, `converged --paper (final)`, 'direction'], rows));
  println(io);
  if (reference !== null) {
    println(io, `Converged: \`${reference.command}\`'s main table (${reference.sineTerms === 0 ? 'the linear generator' : `sine draw ${reference.sineSeed}`}), ${reference.runs} runs per cell, ${reference.steps} steps, ρ ∈ {${reference.correlations.join(', ')}} ` +
      `(src/experiments/synthetic/paper-findings.json). Direction (the sign of Δ; an IQR ratio's side of 1) as the converged run's on ${same} of the ${compared} claims it also tests.`);
    println(io);
  }
}

export function formatP(p: number): string {
  return p < 1e-4 ? p.toExponential(1) : p.toFixed(4);
}

export function writeFigures(io: CliIO, outDir: string, result: SyntheticResult, extra: Record<string, unknown>, more: Record<string, string> = {}): Record<string, string> {
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
  Object.assign(outputs, more);
  const files = writeOutputs(outDir, outputs);
  const at = (name: string): string => files[Object.keys(outputs).indexOf(name)];
  println(io, `Fig. 4, test loss against step (mean, IQR band): ${at('curves.svg')}`);
  println(io, `Fig. 5, histograms of final test loss: ${at('histograms.svg')}`);
  // Named by its width: --paper also prints §3.3's own figure, of the 16-unit bottom.
  if (sb !== null) println(io, `Shared-Bottom (${result.settings.bottomUnits} units) by correlation, the view of the paper's §3.3 figure: ${at('shared-bottom.svg')}`);
  if (gates.length > 0) println(io, `MMoE gate weights: ${at('gates.svg')}; weights of the first MMoE (correlation ${result.mmoeModels[0].correlation}, run 1): ${at('model.safetensors')}`);
  println(io, `metrics (settings, every run's curve, cells, findings): ${at('metrics.json')}`);
  return Object.fromEntries(Object.keys(outputs).map((k) => [k, at(k)]));
}


/**
 * What a demo or --full table shares with --paper and where it differs, in two lines: a reader
 * should not take a short run's verdict for the converged one.
 */
export function comparisonWithPaper(s: SyntheticSettings, mode: 'demo' | 'full', recorded: RecordedPilot): string[] {
  const paper = PAPER_SYNTHETIC;
  const differs: string[] = [];
  if (s.runs !== paper.runs) differs.push(`${s.runs} runs per cell (--paper: ${paper.runs})`);
  const rhos = [0.5, 0.9, 1];
  if (s.correlations.join() !== rhos.join()) differs.push(`ρ ∈ {${s.correlations.join(', ')}} (--paper: ${rhos.join(', ')})`);
  if (s.trainSize !== paper.trainSize) differs.push(`${s.trainSize} training rows (--paper: ${paper.trainSize})`);
  if (s.batchSize !== paper.batchSize) differs.push(`batch ${s.batchSize} (--paper: ${paper.batchSize})`);
  const first = PAPER_FIRST_EPOCHS * stepsPerEpoch(paper), cap = totalSteps(paper);
  differs.push(`${totalSteps(s)} steps (--paper: the pilot's length, doubled from ${first} up to ${cap} until every mean validation curve improves < ${LENGTH_TOLERANCE * 100}% over its last quarter)`);
  const { lr, epochs } = recorded.choice;
  const same = s.models.every((m) => s.lr[m] === lr[m]);
  const rates = `(src/experiments/synthetic/pilot-record.json: ${lrLine(lr, s.models)}, chosen on final validation loss at ${epochs * stepsPerEpoch(recorded.settings)} steps)`;
  const paperRates = same && isPaperPilot(recorded);
  if (!same) differs.push('Adam rates given by --lr (--paper: its pilot\'s)');
  else if (!paperRates) differs.push(`Adam rates from a recorded pilot of other settings ${rates} (--paper: its own pilot)`);
  if (s.sineSeed !== 0 || s.sineTerms !== 10) differs.push(s.sineTerms === 0 ? 'the linear generator (--paper\'s main table: sine draw 0)' : `sine draw ${s.sineSeed} (--paper's main table: 0)`);
  differs.push('one table at the end (--paper: also at 3,072 and 12,288 steps, with stuck runs and the train–test gap), no robustness tables, no §3.3 run');
  return [
    `Shared with \`mmoe-ts synthetic --paper\`: the generator (m = ${s.sineTerms}, c = 1, σ = 0.1, d = ${s.dim}), the three models at the paper's sizes, ` +
      `${paperRates ? `Adam at the rates --paper's pilot chose ${rates}` : 'Adam'}, the paired design (run r's data set and initialisation shared by every model and ρ), disjoint test rows, and the tests (one-sided Wilcoxon, paired by run).`,
    `Where this ${mode === 'demo' ? 'demo' : '--full run'} differs: ${differs.join('; ')}. Its verdicts are this length's, not the converged ones (docs/paper/protocol.md).`,
  ];
}
