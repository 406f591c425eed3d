import type { ModelInput, MultiTaskModel, GatedMultiTaskModel } from '../models/types.js';
import { checkOptions } from '../validation/options.js';
import { inEvalMode } from './evaluate.js';
import { inStorageScope } from './held-storage.js';
import { lineChart, gridLayout } from '../plot/svg.js';

/*
 * Expert health (DeepCTR-Torch #512, gate collapse): after each epoch, the gates of an MMoE, OMoE
 * or PLE are read on a fixed set of rows, in eval mode without gradients (no dropout draw, no
 * batch-norm update, so training is unchanged), and logged per task:
 *   <task>_gate_entropy     mean over rows of −Σ_e p_e ln p_e (ln E when uniform, 0 when one expert)
 *   <task>_expert_<e>_load  mean over rows of p_e (the loads of a task sum to 1)
 * A task whose busiest expert takes more than `collapseThreshold` of the weight on average gets a
 * warning (in history.warnings, and on the progress stream when there is one).
 */

export interface ExpertHealthOptions {
  /** Rows the gates are read on: the first rows of the validation data, else of the training data (a stream: its epoch's first batch). Default 1024. */
  rows?: number;
  /** Average share of the busiest expert above which a gate counts as collapsed. Default 0.9. */
  collapseThreshold?: number;
}

export interface ExpertHealth {
  rows: number;
  collapseThreshold: number;
}

/** fit's `expertHealth`: on by default for gated models; false turns it off; null means none (an ungated model). */
export function resolveExpertHealth(fn: string, model: MultiTaskModel, v: boolean | ExpertHealthOptions | undefined): ExpertHealth | null {
  const gated = typeof (model as unknown as Partial<GatedMultiTaskModel>).gateWeights === 'function';
  if (v === false) return null;
  if (v !== undefined && v !== true && (v === null || typeof v !== 'object')) throw new TypeError(`${fn}: expertHealth must be true, false or { rows, collapseThreshold }, got ${String(v)}`);
  if (typeof v === 'object') checkOptions(`${fn}: expertHealth`, v, ['rows', 'collapseThreshold']);
  const o = typeof v === 'object' ? v : {};
  if (!gated) {
    if (v !== undefined) throw new Error(`${fn}: expertHealth needs a model with gates (MMoE, OMoE, PLE); this one has no gateWeights`);
    return null;
  }
  const rows = o.rows ?? 1024;
  if (!Number.isInteger(rows) || rows < 1) throw new RangeError(`${fn}: expertHealth.rows must be a positive integer, got ${String(o.rows)}`);
  const collapseThreshold = o.collapseThreshold ?? 0.9;
  if (typeof collapseThreshold !== 'number' || !(collapseThreshold > 0 && collapseThreshold <= 1)) {
    throw new RangeError(`${fn}: expertHealth.collapseThreshold must be a number in (0, 1], got ${String(o.collapseThreshold)}`);
  }
  return { rows, collapseThreshold };
}

/** Per task: its mean gate entropy and mean load per expert, on the rows `x`. */
export function gateHealth(model: GatedMultiTaskModel, x: ModelInput): Array<{ entropy: number; load: number[] }> {
  // Read inside a storage scope: the gate tensor and the forward's intermediates go back to the arena after.
  return inStorageScope([model], () => {
    const g = inEvalMode(model, () => model.gateWeights(x));
    const [B, T, E] = g.shape;
    const d = g.data;
    return Array.from({ length: T }, (_, t) => {
      const load = new Array<number>(E).fill(0);
      let entropy = 0;
      for (let b = 0; b < B; b++) {
        const o = (b * T + t) * E;
        for (let e = 0; e < E; e++) {
          const p = d[o + e];
          load[e] += p;
          if (p > 0) entropy -= p * Math.log(p);
        }
      }
      return { entropy: entropy / B, load: load.map((l) => l / B) };
    });
  });
}

/** Adds the epoch's gate statistics to `logs`; returns a warning per collapsed gate. */
export function logExpertHealth(h: ExpertHealth, model: MultiTaskModel, x: ModelInput, epoch: number, logs: Record<string, number>): string[] {
  const warnings: string[] = [];
  gateHealth(model as unknown as GatedMultiTaskModel, x).forEach(({ entropy, load }, t) => {
    const task = model.taskNames[t];
    logs[`${task}_gate_entropy`] = entropy;
    load.forEach((l, e) => { logs[`${task}_expert_${e}_load`] = l; });
    const top = load.indexOf(Math.max(...load));
    if (load[top] > h.collapseThreshold) {
      warnings.push(`warning: epoch ${epoch}: the gate of task '${task}' has collapsed: expert ${top} takes ${(100 * load[top]).toFixed(1)}% of its weight on average (> ${100 * h.collapseThreshold}%)`);
    }
  });
  return warnings;
}

/** A panel per task: each expert's load over the epochs, from a history's logs; null when none were logged. */
export function expertLoadFigure(history: { epochs: ReadonlyArray<{ epoch: number; logs: Record<string, number> }> }, taskNames: readonly string[], title = 'expert load per epoch'): string | null {
  const panels: string[] = [];
  for (const task of taskNames) {
    const re = new RegExp(`^${task.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}_expert_(\\d+)_load$`);
    const experts = new Set<number>();
    for (const e of history.epochs) for (const k of Object.keys(e.logs)) { const m = re.exec(k); if (m) experts.add(Number(m[1])); }
    if (experts.size === 0) continue;
    panels.push(lineChart({
      title: `${task}`, xLabel: 'epoch', yLabel: 'mean gate weight',
      series: [...experts].sort((a, b) => a - b).map((e) => ({ name: `expert ${e}`, points: history.epochs.map((h) => [h.epoch, h.logs[`${task}_expert_${e}_load`] ?? NaN] as [number, number]) })),
    }));
  }
  return panels.length === 0 ? null : gridLayout(panels, Math.min(panels.length, 3), { title });
}
