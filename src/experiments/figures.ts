import { noGrad } from '../autograd/index.js';
import { hasGateWeights, type ModelInput, type MultiTaskModel } from '../models/index.js';
import type { History } from '../train/history.js';
import { gridLayout, heatmap, histogram, lineChart, type LineSeries } from '../plot/svg.js';
import { bandChart } from '../plot/band-chart.js';
import { mean, quantile } from './stats.js';
import type { SyntheticResult } from './synthetic/experiment.js';

const MODEL_LABELS: Record<string, string> = { mmoe: 'MMoE', omoe: 'OMoE', 'shared-bottom': 'Shared-Bottom' };
const MODEL_COLORS: Record<string, string> = { mmoe: '#d62728', omoe: '#2ca02c', 'shared-bottom': '#1f77b4' };

export function modelLabel(name: string): string {
  return MODEL_LABELS[name] ?? name;
}

/** Mean and interquartile range over runs at each logged step (runs of one cell log the same steps). */
function curveBand(curves: ReadonlyArray<{ steps: number[]; curve: number[] }>): Array<[number, number, number, number]> {
  if (curves.length === 0) return [];
  return curves[0].steps.map((step, i) => {
    const v = curves.map((c) => c.curve[i]);
    return [step, mean(v), quantile(v, 0.25), quantile(v, 0.75)];
  });
}

function cellRuns(result: SyntheticResult, model: string, rho: number): SyntheticResult['runs'] {
  return result.runs.filter((r) => r.phase === 'main' && r.model === model && r.correlation === rho);
}

function sortedCorrelations(result: SyntheticResult): number[] {
  return [...result.settings.correlations].sort((a, b) => b - a);
}

/** The paper's Fig. 4: per ρ, each model's mean test loss against training step, with its interquartile band. */
export function syntheticCurvesFigure(result: SyntheticResult): string {
  const { models, runs, trainSize } = result.settings;
  const panels = sortedCorrelations(result).map((rho, i) => bandChart({
    id: String(i), title: `correlation ${rho}: test loss, mean and IQR of ${runs} runs`, xLabel: 'training step', yLabel: 'test MSE (mean of 2 tasks)',
    series: models.map((m) => ({ name: modelLabel(m), color: MODEL_COLORS[m], points: curveBand(cellRuns(result, m, rho)) })),
    logY: true, width: 440, height: 320,
  }));
  return gridLayout(panels, panels.length, { title: `MMoE paper synthetic experiment, Fig. 4 (${trainSize} training rows, batch ${result.settings.batchSize})` });
}

/** The paper's Fig. 5: histograms of final test loss over runs, one panel per (model, ρ), one x axis per ρ. */
export function syntheticHistogramsFigure(result: SyntheticResult): string {
  const { models, runs } = result.settings;
  const rhos = sortedCorrelations(result);
  const panels: string[] = [];
  for (const m of models) {
    for (const rho of rhos) {
      const all = models.flatMap((k) => cellRuns(result, k, rho).map((r) => r.finalLoss)).filter(Number.isFinite);
      const range: [number, number] = all.length ? [Math.min(...all), Math.max(...all)] : [0, 1];
      panels.push(histogram({
        title: `${modelLabel(m)}, correlation ${rho}`, xLabel: 'final test MSE', bins: Math.max(5, Math.min(20, Math.round(runs / 2))),
        groups: [{ name: modelLabel(m), color: MODEL_COLORS[m], values: cellRuns(result, m, rho).map((r) => r.finalLoss) }],
        range, width: 360, height: 240,
      }));
    }
  }
  return gridLayout(panels, rhos.length, { title: `MMoE paper synthetic experiment, Fig. 5: final test loss of ${runs} runs per cell (trainability)` });
}

/** §3.3: Shared-Bottom alone, its test loss against step for each task correlation. */
export function sharedBottomFigure(result: SyntheticResult): string | null {
  if (!result.settings.models.includes('shared-bottom')) return null;
  const palette = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];
  return bandChart({
    id: 'sb', title: `Shared-Bottom (${result.settings.bottomUnits} units): test loss by task correlation, mean and IQR of ${result.settings.runs} runs`,
    xLabel: 'training step', yLabel: 'test MSE (mean of 2 tasks)', logY: true, width: 640, height: 380,
    series: sortedCorrelations(result).map((rho, i) => ({ name: `correlation ${rho}`, color: palette[i % palette.length], points: curveBand(cellRuns(result, 'shared-bottom', rho)) })),
  });
}

/** Training (and validation, if logged) loss per epoch, one panel per model. */
export function lossCurvesFigure(histories: ReadonlyArray<{ name: string; history: History }>): string {
  const panels = histories.map(({ name, history }) => {
    const keys = Object.keys(history.history).filter((k) => k === 'loss' || k === 'val_loss' || /_loss$/.test(k) || /_logloss$/.test(k) || /_mse$/.test(k));
    const series: LineSeries[] = keys.map((k) => ({
      name: k, points: history.series(k).map((v, i) => [i + 1, v] as const), dashed: k.startsWith('val_'),
    }));
    return lineChart({ title: `${name}: losses per epoch`, xLabel: 'epoch', yLabel: 'loss', series, width: 480, height: 320 });
  });
  return panels.length === 1 ? panels[0] : gridLayout(panels, Math.min(3, panels.length));
}

/** Mean gate weight per task × expert over `x`, as a heatmap (null for models without gates). */
export function gateHeatmap(model: MultiTaskModel, x: ModelInput, title?: string): { svg: string; values: number[][] } | null {
  if (!hasGateWeights(model)) return null;
  const wasTraining = model.training;
  model.eval();
  const g = noGrad(() => model.gateWeights(x));
  model.train(wasTraining);
  const [b, t, e] = g.shape;
  const values = Array.from({ length: t }, () => new Array<number>(e).fill(0));
  for (let i = 0; i < b; i++) for (let k = 0; k < t; k++) for (let j = 0; j < e; j++) values[k][j] += g.data[(i * t + k) * e + j] / b;
  const svg = heatmap({
    title: title ?? `mean gate weight (${b} samples)`, xLabel: 'expert', yLabel: 'task',
    rowLabels: model.taskNames, colLabels: Array.from({ length: e }, (_, j) => String(j)), values, min: 0,
  });
  return { svg, values };
}

/** The generator's label correlation against ρ, one line per generator (the paper's correlation plot). */
export function labelCorrelationFigure(curves: ReadonlyArray<{ name: string; points: ReadonlyArray<readonly [number, number]> }>): string {
  return lineChart({
    title: 'Label correlation produced against the weight correlation ρ', xLabel: 'ρ (cosine of w1, w2)', yLabel: 'Pearson correlation of the labels',
    series: [...curves.map((c) => ({ name: c.name, points: c.points })), { name: 'y = ρ', points: [[-1, -1], [1, 1]] as const, dashed: true, color: '#999999' }],
    width: 560, height: 400,
  });
}
