import { noGrad } from '../autograd/index.js';
import { hasGateWeights, type ModelInput, type MultiTaskModel } from '../models/index.js';
import type { History } from '../train/history.js';
import { gridLayout, heatmap, histogram, lineChart, type LineSeries } from '../train/svg.js';
import { summarizeSynthetic, type SyntheticResult } from './synthetic.js';

const MODEL_LABELS: Record<string, string> = { mmoe: 'MMoE', omoe: 'OMoE', 'shared-bottom': 'Shared-Bottom' };
const MODEL_COLORS: Record<string, string> = { mmoe: '#d62728', omoe: '#2ca02c', 'shared-bottom': '#1f77b4' };

export function modelLabel(name: string): string {
  return MODEL_LABELS[name] ?? name;
}

/**
 * The paper's two views of the synthetic experiment, one column per correlation: the mean test-loss
 * curve of each model over its runs (top), and the histogram of final test losses over runs —
 * the trainability plot (bottom).
 */
export function syntheticFigure(result: SyntheticResult): string {
  const { correlations, models, runs, trainSize, epochs } = result.settings;
  const curves = correlations.map((rho) => {
    const series: LineSeries[] = models.map((m) => {
      const cs = result.runs.filter((r) => r.model === m && r.correlation === rho).map((r) => r.curve);
      const points = cs.length === 0 ? [] : cs[0].map((_, e) => [e + 1, cs.reduce((s, c) => s + c[e], 0) / cs.length] as const);
      return { name: modelLabel(m), points, color: MODEL_COLORS[m] };
    });
    return lineChart({
      title: `correlation ${rho}: mean test loss over ${runs} runs`, xLabel: 'epoch', yLabel: 'test MSE (mean of 2 tasks)',
      series, logY: true, width: 420, height: 300,
    });
  });
  const hists = correlations.map((rho) => histogram({
    title: `correlation ${rho}: final test loss, ${runs} runs`, xLabel: 'final test MSE', bins: Math.max(5, Math.min(20, runs * 2)),
    groups: models.map((m) => ({
      name: modelLabel(m), color: MODEL_COLORS[m],
      values: result.runs.filter((r) => r.model === m && r.correlation === rho).map((r) => r.finalLoss),
    })),
    layout: 'side', width: 420, height: 300,
  }));
  const rows = summarizeSynthetic(result);
  const best = correlations.map((rho) => {
    const at = rows.filter((r) => r.correlation === rho).sort((a, b) => a.mean - b.mean)[0];
    return at ? `ρ=${rho}: ${modelLabel(at.model)}` : '';
  }).join(', ');
  return gridLayout([...curves, ...hists], correlations.length, {
    title: `MMoE paper synthetic experiment (${trainSize} training rows, ${epochs} epochs; lowest mean loss ${best})`,
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
