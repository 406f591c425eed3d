import { describe, expect, it } from 'vitest';
import { Tensor } from '../../src/autograd/index.js';
import { manualSeed } from '../../src/tensor/index.js';
import { SharedBottom } from '../../src/models/index.js';
import { fit } from '../../src/train/trainer.js';
import { expertLoadFigure, gateHealth } from '../../src/train/expert-health.js';
import { copyWeights, sink, smallMMoE, teacherData } from './helpers.js';

const data = teacherData(120, 6, 1);
const val = teacherData(50, 6, 2);

describe('expert health', () => {
  it('gateHealth is the mean entropy and mean load of the gates, loads summing to 1', () => {
    const m = smallMMoE(2);
    const h = gateHealth(m, val.x);
    const g = m.gateWeights(val.x);
    const [B, T, E] = g.shape;
    for (let t = 0; t < T; t++) {
      let ent = 0;
      const load = new Array(E).fill(0);
      for (let b = 0; b < B; b++) for (let e = 0; e < E; e++) { const p = g.data[(b * T + t) * E + e]; load[e] += p / B; ent -= (p * Math.log(p)) / B; }
      expect(h[t].entropy).toBeCloseTo(ent, 10);
      h[t].load.forEach((l, e) => expect(l).toBeCloseTo(load[e], 10));
      expect(h[t].load.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      expect(h[t].entropy).toBeLessThanOrEqual(Math.log(E) + 1e-6);
    }
  });

  it('fit logs them per epoch (on the validation rows), hands them to callbacks and the progress line, and does not change training', () => {
    manualSeed(0);
    const a = smallMMoE(2);
    const seen: string[][] = [];
    const out = sink(false);
    const h = fit(a, data, { epochs: 3, batchSize: 16, lr: 0.02, seed: 1, validationData: val, verbose: 2, progressStream: out, callbacks: { onEpochEnd: (l) => { seen.push(Object.keys(l.logs)); } } });
    const last = gateHealth(a, val.x);
    ['value', 'click'].forEach((task, t) => {
      expect(h.last!.logs[`${task}_gate_entropy`]).toBe(last[t].entropy);
      last[t].load.forEach((l, e) => expect(h.last!.logs[`${task}_expert_${e}_load`]).toBe(l));
      expect(h.series(`${task}_gate_entropy`).every(Number.isFinite)).toBe(true);
    });
    expect(seen[0]).toContain('click_expert_2_load');
    expect(out.text).toMatch(/click_gate_entropy \d\.\d{4}/);
    manualSeed(0);
    const b = smallMMoE(2);
    const h2 = fit(b, data, { epochs: 3, batchSize: 16, lr: 0.02, seed: 1, validationData: val, verbose: 0, expertHealth: false });
    expect(copyWeights(b)).toEqual(copyWeights(a));
    expect(Object.keys(h2.last!.logs).some((k) => k.includes('gate'))).toBe(false);
  });

  it('warns when a gate collapses (one expert above the threshold on average)', () => {
    const m = smallMMoE(2);
    // Task 'click' sends 95% of every row to expert 1; task 'value' stays spread.
    m.gateWeights = (x) => {
      const B = (x as Tensor).shape[0];
      const g = new Float32Array(B * 2 * 3);
      for (let b = 0; b < B; b++) { g.set([0.4, 0.3, 0.3], b * 6); g.set([0.03, 0.95, 0.02], b * 6 + 3); }
      return new Tensor(g, [B, 2, 3]);
    };
    const out = sink(false);
    const h = fit(m, data, { epochs: 2, batchSize: 32, verbose: 2, progressStream: out });
    expect(h.warnings).toHaveLength(2);
    expect(h.warnings[0]).toMatch(/^warning: epoch 1: the gate of task 'click' has collapsed: expert 1 takes 95\.0% of its weight on average \(> 90%\)$/);
    expect(out.text).toContain("the gate of task 'click' has collapsed");
    expect(fit(m, data, { epochs: 1, verbose: 0, expertHealth: { collapseThreshold: 0.96 } }).warnings).toEqual([]);
    expect(fit(m, data, { epochs: 1, verbose: 0, expertHealth: { collapseThreshold: 0.35 } }).warnings).toHaveLength(2);
  });

  it('checks its options', () => {
    const m = smallMMoE();
    expect(() => fit(m, data, { expertHealth: { row: 5 } as never })).toThrow(/fit: expertHealth: unknown option 'row'/);
    expect(() => fit(m, data, { expertHealth: { rows: 0 } })).toThrow('fit: expertHealth.rows must be a positive integer, got 0');
    expect(() => fit(m, data, { expertHealth: { collapseThreshold: 1.5 } })).toThrow('fit: expertHealth.collapseThreshold must be a number in (0, 1]');
    expect(() => fit(m, data, { expertHealth: 'yes' as never })).toThrow('fit: expertHealth must be true, false or { rows, collapseThreshold }');
    const sb = new SharedBottom({ inputDim: 6, bottomHiddenUnits: [4], towerHiddenUnits: [], taskTypes: ['regression', 'binary'], taskNames: ['value', 'click'] });
    expect(() => fit(sb, data, { expertHealth: true })).toThrow('fit: expertHealth needs a model with gates (MMoE, OMoE, PLE)');
    expect(Object.keys(fit(sb, data, { verbose: 0 }).last!.logs).some((k) => k.includes('gate'))).toBe(false);
  });

  it('expertLoadFigure draws a panel per task with a line per expert', () => {
    const h = fit(smallMMoE(), data, { epochs: 2, verbose: 0 });
    const svg = expertLoadFigure(h, ['value', 'click'])!;
    expect(svg).toMatch(/^<svg/);
    for (const t of ['value', 'click', 'expert 0', 'expert 2']) expect(svg).toContain(t);
    expect(expertLoadFigure({ epochs: [{ epoch: 1, logs: { loss: 1 } }] }, ['value'])).toBeNull();
  });
});
