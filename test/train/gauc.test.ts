import { describe, expect, it } from 'vitest';
import { Tensor } from '../../src/autograd/index.js';
import { Generator } from '../../src/tensor/index.js';
import { DenseFeat, SharedBottom, SparseFeat } from '../../src/models/index.js';
import { evaluate, fit } from '../../src/train/trainer.js';
import { groupAuc, perTaskMetrics } from '../../src/train/metrics.js';
import { smallMMoE, teacherData } from './helpers.js';

/** The definition, slowly: per group, P(score_pos > score_neg) + ½ P(tie) over all pairs; weighted by group rows. */
function slowGauc(y: ArrayLike<number>, s: ArrayLike<number>, g: ArrayLike<number>): number {
  const byGroup = new Map<number, number[]>();
  for (let i = 0; i < y.length; i++) byGroup.set(g[i], [...(byGroup.get(g[i]) ?? []), i]);
  let num = 0, den = 0;
  for (const rows of byGroup.values()) {
    const pos = rows.filter((i) => y[i] === 1), neg = rows.filter((i) => y[i] === 0);
    if (pos.length === 0 || neg.length === 0) continue;
    let wins = 0;
    for (const p of pos) for (const q of neg) wins += s[p] > s[q] ? 1 : s[p] === s[q] ? 0.5 : 0;
    num += rows.length * (wins / (pos.length * neg.length));
    den += rows.length;
  }
  return den === 0 ? NaN : num / den;
}

describe('groupAuc (GAUC)', () => {
  it('matches the pairwise definition on random data with ties, one-class groups and odd ids', () => {
    const g = new Generator(11);
    for (const n of [1, 2, 7, 31, 200, 997]) {
      const y = Float64Array.from({ length: n }, () => (g.random() < 0.4 ? 1 : 0));
      const s = Float64Array.from({ length: n }, () => Math.round(g.random() * 8) / 8); // many ties
      const ids = [-3, 0, 5, 17, 2.5, 1e6];
      const groups = Float64Array.from({ length: n }, () => ids[g.randint(Math.min(ids.length, 1 + (n % 6)))]);
      const want = slowGauc(y, s, groups);
      const got = groupAuc(y, s, groups);
      if (Number.isNaN(want)) expect(got).toBeNaN();
      else expect(got).toBeCloseTo(want, 12);
      // Int32Array ids give the same answer as the same ids as floats.
      const intIds = Int32Array.from(groups, (v) => Math.round(v * 2));
      expect(groupAuc(y, s, intIds)).toEqual(groupAuc(y, s, Float64Array.from(intIds)));
    }
  });

  it('weighs each user by impressions and leaves out users of one class; one group is plain AUC', () => {
    // user 1: 4 rows, AUC 1; user 2: 2 rows, AUC 0; user 3: all clicks (left out).
    const y = [1, 0, 1, 0, 1, 0, 1, 1], s = [0.9, 0.1, 0.8, 0.2, 0.1, 0.9, 0.5, 0.6], u = [1, 1, 1, 1, 2, 2, 3, 3];
    expect(groupAuc(y, s, u)).toBeCloseTo((4 * 1 + 2 * 0) / 6, 15);
    expect(groupAuc([1, 1], [0.2, 0.3], [1, 2])).toBeNaN();
    expect(groupAuc([], [], [])).toBeNaN();
    expect(() => groupAuc([1, 0], [0.2, 0.3], [1])).toThrow(/^groupAuc: labels, scores and groups differ in length: 2, 2, 1/);
    expect(() => groupAuc([1, 0], [0.2, 0.3], [1, NaN])).toThrow(/^groupAuc: group id at index 1 is NaN/);
    expect(() => groupAuc([1, 0.5], [0.2, 0.3], [1, 1])).toThrow(/^rocAuc: labels must be 0 or 1/);
  });

  it('perTaskMetrics: groups add gauc to binary tasks, on observed rows only', () => {
    const y = [0.5, 1, 1.5, 0, NaN, 1, 2, 0, 1, NaN], p = [0.4, 0.9, 1.2, 0.2, 1, 0.3, 2, 0.1, 1, 0.7], groups = [1, 1, 2, 2, 1];
    const m = perTaskMetrics(y, p, ['regression', 'binary'], ['v', 'c'], { groups, missingLabels: 'mask' });
    expect(m.c.gauc).toBeCloseTo(slowGauc([1, 0, 0, 1], [0.9, 0.2, 0.1, 0.3], [1, 1, 2, 2]), 15);
    expect(m.v.gauc).toBeUndefined();
    expect(() => perTaskMetrics([1, 0], [0.2, 0.3], ['binary'], ['c'], { metrics: ['gauc'] })).toThrow(/^perTaskMetrics: metric 'gauc' needs groups/);
    expect(() => perTaskMetrics([1, 0], [0.2, 0.3], ['binary'], ['c'], { groups: [1] })).toThrow(/^perTaskMetrics: groups has 1 ids for 2 rows/);
    expect(() => perTaskMetrics([1, 0], [0.2, 0.3], ['binary'], ['c'], { group: [1, 1] } as never)).toThrow(/^perTaskMetrics: unknown option 'group' \(did you mean 'groups'\?\)/);
  });

  it('evaluate and fit: groupBy a feature column or per-row ids; validation logs val_<task>_gauc', () => {
    const g = new Generator(4);
    const n = 120;
    const user = Int32Array.from({ length: n }, () => 1 + g.randint(6));
    const num = Float32Array.from({ length: 2 * n }, () => g.normal());
    const y = Float32Array.from({ length: 2 * n }, (_, k) => (num[k] + 0.3 * (user[k >> 1] % 3) > 0 ? 1 : 0));
    const data = { x: { user, num }, y };
    const model = new SharedBottom({ features: [SparseFeat('user', 8, { embeddingDim: 2 }), DenseFeat('num', 2)], bottomHiddenUnits: [4], taskTypes: ['binary', 'binary'], seed: 1, initStd: 0.3 });
    const e = evaluate(model, data, { groupBy: 'user' });
    const p = model.forward({ user, num: new Tensor(num, [n, 2]) }).data;
    const col = (a: ArrayLike<number>, j: number): number[] => Array.from({ length: n }, (_, i) => a[2 * i + j]);
    expect(e.tasks.task1.gauc).toBeCloseTo(slowGauc(col(y, 1), col(p, 1), user), 6);
    expect(evaluate(model, data, { groupBy: Array.from(user) }).tasks.task0.gauc).toBe(e.tasks.task0.gauc);
    expect(() => evaluate(model, data, { groupBy: 'users' })).toThrow(/^evaluate: groupBy names 'users', which is not a feature column of the data \(columns: user, num\)/);
    expect(() => evaluate(model, data, { groupBy: 'num' })).toThrow(/^evaluate: groupBy column 'num' must hold one value per row \(120\), has 240/);
    expect(() => evaluate(model, data, { groupBy: [1, 2] })).toThrow(/^evaluate: groupBy has 2 group ids for 120 rows/);
    expect(() => evaluate(model, data, { groupBy: 3 as never })).toThrow(/^evaluate: groupBy must be a feature column name or one group id per row/);

    const h = fit(model, data, { epochs: 2, verbose: 0, seed: 1, validationData: data, groupBy: 'user', earlyStopping: { monitor: 'val_task1_gauc', patience: 2 } });
    expect(h.series('val_task1_gauc').every(Number.isFinite)).toBe(true);
    expect(h.epochs[h.epochs.length - 1].logs.val_task1_gauc).toBe(evaluate(model, data, { groupBy: 'user' }).tasks.task1.gauc);
    // Per-row ids follow their rows into validationSplit's held-out tail.
    const hs = fit(model, data, { epochs: 1, verbose: 0, validationSplit: 0.25, groupBy: user });
    const tail = { x: { user: user.slice(90), num: num.slice(180) }, y: y.slice(180) };
    expect(hs.epochs[0].logs.val_task0_gauc).toBe(evaluate(model, tail, { groupBy: 'user' }).tasks.task0.gauc);
    expect(() => fit(model, data, { verbose: 0, groupBy: 'user' })).toThrow(/^fit: groupBy adds grouped AUC to the validation metrics; give validationSplit or validationData/);
    expect(() => fit(model, data, { verbose: 0, groupBy: user, validationData: data })).toThrow(/^fit: groupBy ids \(one per row\) follow fit's data rows/);
    const d = teacherData(16, 6, 1);
    expect(() => evaluate(smallMMoE(), d, { groupBy: 'user' })).toThrow(/^evaluate: groupBy names the feature 'user', but the data's x is one dense Tensor/);
  });
});

describe('group ids carried by the data set', () => {
  it('data.groups adds gauc in evaluate and in fit validation, and travels into validationSplit', () => {
    const d = teacherData(80, 6, 5);
    const users = Int32Array.from({ length: 80 }, (_, i) => i % 7);
    const m = smallMMoE(2);
    const e = evaluate(m, { ...d, groups: users });
    expect(e.tasks.click.gauc).toBe(evaluate(m, d, { groupBy: users }).tasks.click.gauc);
    expect(e.tasks.value.gauc).toBeUndefined();
    const h = fit(m, d, { epochs: 1, verbose: 0, validationData: { ...d, groups: users } });
    expect(h.epochs[0].logs.val_click_gauc).toBe(evaluate(m, { ...d, groups: users }).tasks.click.gauc);
    const hs = fit(m, { ...d, groups: users }, { epochs: 1, verbose: 0, validationSplit: 0.25 });
    const tail = { x: new Tensor(d.x.data.slice(60 * 6), [20, 6]), y: new Tensor(d.y.data.slice(120), [20, 2]), groups: users.slice(60) };
    expect(hs.epochs[0].logs.val_click_gauc).toBe(evaluate(m, tail).tasks.click.gauc);
    expect(() => evaluate(m, { ...d, groups: users.slice(1) })).toThrow(/^evaluate: groups has 79 group ids for 80 rows/);
    expect(() => evaluate(m, { ...d, groups: 'user' as never })).toThrow(/^evaluate: groups must be one group id per row/);
  });
});
