import { labelCorrelationFigure, modelLabel, sharedBottomFigure } from '../../experiments/figures.js';
import {
  LENGTH_TOLERANCE, ROBUSTNESS_DRAWS, STUCK_FRACTION, checkpointSteps, correlationGrid, labelCorrelationCurve,
  resultAtStep, stuckRuns, summarizeCells, syntheticFindings, totalSteps, trainTestGaps,
  type PaperOutcome, type PilotChoice, type SyntheticModelName, type SyntheticResult,
} from '../../experiments/synthetic/index.js';
import { mean } from '../../experiments/stats.js';
import { formatDuration } from '../../train/progress.js';
import { println, toJson, writeOutputs, type CliIO } from '../io.js';
import { fixed, markdownTable } from '../table.js';
import { formatP, lrLine, printFindings, printResult, rate, writeFigures } from './synthetic-report.js';

/*
 * The report of `mmoe-ts synthetic --paper` / `--pilot` (docs/paper/protocol.md): the pilot's rate
 * and length choice, then the main table read at each checkpoint (medians, stuck runs, findings),
 * the final tables with the train–test gap, the robustness tables and the §3.3 experiment, and
 * the figures, label-correlation plot included.
 */

/** Stuck runs listed by name; the rest are counted (tables.json lists every one). */
const SHOWN_STUCK = 24;

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

function pilotLines(p: PilotChoice, models: readonly SyntheticModelName[]): string[] {
  const out = [
    `Pilot: ${p.runsPerCell} runs per (model, correlation, lr) on data sets of their own, trained to the cap of ${p.pilotEpochs} epochs, judged on validation rows.`,
    `Stopping rule: the length, doubling from ${p.lengths[0].epochs} epochs up to the cap, at which every model's mean validation curve (at the rate chosen for that length, ` +
      `the grid value with the lowest final validation loss averaged over ρ) improves by less than ${LENGTH_TOLERANCE * 100}% over its last quarter.`,
  ];
  for (const l of p.lengths) {
    const worst = l.improvements.reduce((a, g) => (g.lastQuarter > a.lastQuarter ? g : a), l.improvements[0]);
    out.push(`- ${l.epochs} epochs = ${l.steps} steps: rates ${lrLine(l.lr, models)}; largest last-quarter improvement ${modelLabel(worst.model)} at ρ=${worst.correlation}, ` +
      `${pct(worst.lastQuarter)}: ${l.met ? 'met' : 'not met'}.`);
  }
  const last = p.lengths[p.lengths.length - 1];
  out.push(p.flat ? `The rule was met: the main runs train ${p.epochs} epochs = ${last.steps} steps at ${lrLine(p.lr, models)}.`
    : `The rule was NOT met by the cap: the main runs train the cap, ${p.epochs} epochs = ${last.steps} steps, at ${lrLine(p.lr, models)}; validation loss had not flattened.`);
  return out;
}

/** Per cell: runs, median, IQR and stuck runs, one row each. */
function medianTable(io: CliIO, result: SyntheticResult, variance: number): void {
  const stuck = stuckRuns(result, variance);
  println(io, markdownTable(['model', 'correlation', 'runs', 'median', 'IQR', 'mean', 'stuck'],
    summarizeCells(result).map((c) => [modelLabel(c.model), String(c.correlation), String(c.runs), fixed(c.median), `${fixed(c.q25)}–${fixed(c.q75)}`, fixed(c.mean),
      String(stuck.filter((x) => x.model === c.model && x.correlation === c.correlation).length)])));
  println(io);
}

function stuckLines(io: CliIO, result: SyntheticResult, variance: number): void {
  const stuck = stuckRuns(result, variance);
  println(io, `Stuck runs (final test loss above ${STUCK_FRACTION} × the label variance ${fixed(variance, 3)}, i.e. explaining less than half of it): ` +
    (stuck.length === 0 ? 'none.' : `${stuck.length}: ${stuck.slice(0, SHOWN_STUCK).map((x) => `${modelLabel(x.model)} ρ=${x.correlation} run ${x.run + 1} (${fixed(x.loss)})`).join(', ')}` +
      `${stuck.length > SHOWN_STUCK ? `, and ${stuck.length - SHOWN_STUCK} more (all in tables.json)` : ''}.`));
  println(io);
}

function gapTable(io: CliIO, result: SyntheticResult): void {
  const gaps = trainTestGaps(result);
  if (gaps.length === 0) return;
  println(io, `Train–test gap at the end (loss on the first ${Math.min(result.settings.testSize, result.settings.trainSize)} training rows against the test rows; medians over runs):`);
  println(io);
  println(io, markdownTable(['model', 'correlation', 'train', 'test', 'gap (test − train)'],
    gaps.map((g) => [modelLabel(g.model), String(g.correlation), fixed(g.train), fixed(g.test), fixed(g.gap)])));
  println(io);
}

/** One row per claim, one column per table: does each verdict survive another generator? */
function robustnessTable(io: CliIO, tables: ReadonlyArray<{ title: string; result: SyntheticResult }>): void {
  const per = tables.map((t) => syntheticFindings(t.result));
  const claims = per[0].map((f) => `${f.id}  ${f.claim}`);
  println(io, markdownTable(['claim', ...tables.map((t) => `${t.title} (${t.result.settings.runs} runs)`)],
    claims.map((c, i) => [c, ...per.map((fs) => {
      const f = fs.find((x) => `${x.id}  ${x.claim}` === c) ?? fs[i];
      return f === undefined ? '–' : `${f.holds ? 'holds' : 'no'} (p ${formatP(f.pValue)})`;
    })])));
  println(io);
}

export function reportPaper(io: CliIO, out: PaperOutcome, mode: 'paper' | 'pilot', outDir: string, resultsPath: string): void {
  println(io);
  println(io, `Results file: ${resultsPath} (${out.resumed > 0 ? `${out.resumed} finished jobs found and kept, ` : ''}${out.trained} trained by this call).`);
  const ps = out.pilotSettings;
  println(io, `Pilot at ${ps.trainSize} training / ${ps.validationSize} validation rows, up to ${ps.epochs} epochs = ${totalSteps(ps)} steps of batch ${ps.batchSize}, grid ${out.pilot.grid.join(', ')}:`);
  for (const l of pilotLines(out.pilot, ps.models)) println(io, l);
  println(io);
  println(io, `Final validation loss at the chosen length (mean over runs, averaged over ρ):`);
  println(io);
  println(io, markdownTable(['model', ...out.pilot.grid.map((g) => `lr ${rate(g)}`), 'chosen'],
    ps.models.map((m) => [modelLabel(m), ...out.pilot.grid.map((g) => fixed(out.pilot.scores[m][String(g)])), rate(out.pilot.lr[m])])));
  if (mode === 'pilot') {
    const files = writeOutputs(outDir, { 'pilot.json': toJson({ command: 'mmoe-ts synthetic --pilot', seconds: out.seconds, settings: { ...ps, lr: out.pilot.lr }, choice: out.pilot }) });
    println(io);
    println(io, `pilot record: ${files[0]} (copy it over src/experiments/synthetic/pilot-record.json for the demo to take its rates)`);
    println(io, `took ${formatDuration(out.seconds)}`);
    return;
  }
  const result = out.result!;
  const variance = out.labelVariances.main;
  const steps = checkpointSteps(result.settings);
  for (const step of steps.slice(0, -1)) {
    const at = resultAtStep(result, step);
    println(io);
    println(io, `## Checkpoint: step ${step} of ${steps[steps.length - 1]} (test loss logged at that step, same runs)`);
    println(io);
    medianTable(io, at, variance);
    printFindings(io, at, `Findings at step ${step}`);
  }
  println(io);
  println(io, `## Final: step ${steps[steps.length - 1]}`);
  printResult(io, result, 'MMoE paper synthetic experiment (--paper), main table', [
    `Training length and rates from the pilot (${out.pilot.flat ? 'stopping rule met' : 'stopping rule NOT met: the cap'}).`,
  ]);
  println(io, 'Medians and stuck runs per cell:');
  println(io);
  medianTable(io, result, variance);
  stuckLines(io, result, variance);
  gapTable(io, result);
  const robust = out.studies.filter((st) => st.name !== 'section-3.3');
  if (robust.length > 0) {
    println(io, `## Robustness: the same protocol (the pilot's rates and length) on other generators, ${robust[0].result.settings.runs} runs per cell`);
    println(io);
    for (const st of robust) {
      println(io, `${st.title}: final test loss per cell; label correlation produced ${st.result.labelCorrelations.map((l) => `ρ=${l.correlation}: ${fixed(mean(l.values), 3)}`).join(', ')}.`);
      println(io);
      medianTable(io, st.result, out.labelVariances[st.name]);
    }
    println(io, 'Findings on each generator (final step; "holds" at p < 0.05, one-sided Wilcoxon paired by run):');
    println(io);
    robustnessTable(io, [{ title: 'main (sine draw 0)', result }, ...robust]);
  }
  const s33 = out.studies.find((st) => st.name === 'section-3.3');
  if (s33 !== undefined) {
    println(io, `## ${s33.title}, ${s33.result.settings.runs} runs per ρ (the main runs' data sets and length)`);
    println(io);
    if (s33.pilotScores !== undefined) {
      println(io, `Its rate from a pilot of its own (${out.pilot.runsPerCell} runs per ρ and rate on the pilot's data sets), the lowest final validation loss at ${totalSteps(s33.result.settings)} steps: ` +
        `${Object.entries(s33.pilotScores).map(([g, v]) => `lr ${rate(Number(g))} ${fixed(v)}`).join(', ')}; chosen ${rate(s33.result.settings.lr['shared-bottom'])}.`);
      println(io);
    }
    medianTable(io, s33.result, variance);
    stuckLines(io, s33.result, variance);
    printFindings(io, s33.result, '§3.3 findings');
  }
  const curves = [
    labelCorrelationCurve(`main: sine draw ${result.settings.sineSeed}`, result.settings, correlationGrid()),
    ...ROBUSTNESS_DRAWS.map((d) => labelCorrelationCurve(d.title, d, correlationGrid())),
  ];
  const more: Record<string, string> = {
    'label-correlation.svg': labelCorrelationFigure(curves),
    'tables.json': toJson({
      checkpoints: steps.map((step) => {
        const at = step === steps[steps.length - 1] ? result : resultAtStep(result, step);
        return { step, cells: summarizeCells(at), findings: syntheticFindings(at), stuck: stuckRuns(at, variance) };
      }),
      gaps: trainTestGaps(result), labelVariances: out.labelVariances, labelCorrelation: curves,
      studies: out.studies.map((st) => ({ name: st.name, title: st.title, settings: st.result.settings, cells: summarizeCells(st.result), findings: syntheticFindings(st.result), runs: st.result.runs })),
    }),
  };
  // The final main table's verdicts as data, for the demo and --full to print beside their own.
  more['findings-record.json'] = toJson({
    command: 'mmoe-ts synthetic --paper', runs: result.settings.runs, steps: totalSteps(result.settings),
    correlations: result.settings.correlations, sineSeed: result.settings.sineSeed, sineTerms: result.settings.sineTerms, findings: syntheticFindings(result),
  });
  if (s33 !== undefined) more['section-3.3.svg'] = sharedBottomFigure(s33.result)!;
  const files = writeFigures(io, outDir, result, { mode, pilot: out.pilot, pilotSettings: ps }, more);
  println(io, `label correlation against ρ for each generator: ${files['label-correlation.svg']}`);
  if (s33 !== undefined) println(io, `§3.3, Shared-Bottom (${s33.result.settings.bottomUnits} units) by correlation: ${files['section-3.3.svg']}`);
  println(io, `checkpoint tables, robustness and §3.3 tables: ${files['tables.json']}`);
  println(io, `findings record: ${files['findings-record.json']} (copy it over src/experiments/synthetic/paper-findings.json for the demo and --full to print these verdicts beside their own)`);
  println(io, `took ${formatDuration(out.seconds)} wall time in this call${out.resumed > 0 ? ' (jobs loaded from the results file not counted)' : ''}`);
}
