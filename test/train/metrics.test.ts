import { describe, expect, it } from 'vitest';
import { accuracy, column, logloss, mse, perTaskMetrics, rocAuc } from '../../src/train/metrics.js';
import { Generator } from '../../src/tensor/index.js';

/** O(P·N) pair counting: the definition AUC = P(score+ > score-) + ½ P(tie). */
function pairAuc(y: number[], s: number[]): number {
  let num = 0, pairs = 0;
  for (let i = 0; i < y.length; i++) {
    for (let j = 0; j < y.length; j++) {
      if (y[i] === 1 && y[j] === 0) {
        pairs++;
        num += s[i] > s[j] ? 1 : s[i] === s[j] ? 0.5 : 0;
      }
    }
  }
  return num / pairs;
}

describe('rocAuc', () => {
  it('matches hand-computed values', () => {
    expect(rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBeCloseTo(0.75, 12);
    expect(rocAuc([1, 1, 0, 0], [0.9, 0.8, 0.2, 0.1])).toBe(1);
    expect(rocAuc([1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9])).toBe(0);
  });

  it('counts a tie between a positive and a negative as one half (average ranks)', () => {
    // Pairs: 0.35 beats 0.1 only (1); 0.8 beats all (3); 0.4 beats 0.1 and ties two 0.4s (2) → 6/9.
    expect(rocAuc([0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.4, 0.4])).toBeCloseTo(6 / 9, 12);
    expect(rocAuc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5])).toBe(0.5);
  });

  it('agrees with pair counting on random data with many ties', () => {
    const g = new Generator(3);
    const y = Array.from({ length: 300 }, () => (g.random() < 0.3 ? 1 : 0));
    const s = Array.from({ length: 300 }, (_, i) => Math.round((g.random() + 0.3 * y[i]) * 10) / 10);
    expect(rocAuc(y, Float32Array.from(s))).toBeCloseTo(pairAuc(y, Array.from(Float32Array.from(s))), 12);
  });

  it('is NaN when only one class is present, and rejects non-binary labels', () => {
    expect(rocAuc([1, 1, 1], [0.2, 0.5, 0.9])).toBeNaN();
    expect(rocAuc([0, 0], [0.2, 0.5])).toBeNaN();
    expect(rocAuc([], [])).toBeNaN();
    expect(() => rocAuc([0, 0.5], [0.1, 0.2])).toThrow('rocAuc: labels must be 0 or 1 (AUC ranks positives against negatives, so soft labels have no AUC; round them first), got 0.5 at index 1');
    expect(() => rocAuc([0, 1], [0.1])).toThrow('rocAuc: labels and predictions differ in length: 2 vs 1');
  });
});

describe('logloss, mse, accuracy', () => {
  it('logloss matches the formula and clips at 1e-7', () => {
    expect(logloss([1, 0], [0.8, 0.3])).toBeCloseTo(-(Math.log(0.8) + Math.log(0.7)) / 2, 12);
    expect(logloss([1], [0])).toBeCloseTo(-Math.log(1e-7), 9);
    expect(logloss([0], [1])).toBeCloseTo(-Math.log(1e-7), 6);
    expect(logloss([0.5], [0.5])).toBeCloseTo(Math.log(2), 12);
    expect(logloss([], [])).toBeNaN();
  });

  it('mse and accuracy (a prediction of exactly 0.5 reads as 0)', () => {
    expect(mse([1, 2, 3], [1, 0, 4])).toBeCloseTo(5 / 3, 12);
    expect(accuracy([1, 0, 1, 0], [0.9, 0.5, 0.5, 0.51])).toBe(0.5);
  });
});

describe('perTaskMetrics', () => {
  // Rows: [income, value]; task 0 binary, task 1 regression.
  const labels = Float32Array.from([1, 0, 0, 1, 1, 1, 0, 0]);
  const preds = Float32Array.from([0.9, 0.5, 0.2, 1, 0.4, 0, 0.6, 0]);

  it('computes each task on its own column of [N, 2]', () => {
    const m = perTaskMetrics(labels, preds, ['binary', 'regression'], ['income', 'value']);
    expect(Object.keys(m)).toEqual(['income', 'value']);
    // Task 0: labels [1,0,1,0], preds [0.9,0.2,0.4,0.6] → pairs (0.9>0.2, 0.9>0.6, 0.4>0.2, 0.4<0.6) = 3/4.
    expect(m.income.auc).toBeCloseTo(0.75, 12);
    expect(m.income.accuracy).toBe(0.5);
    expect(m.income.logloss).toBeCloseTo(-(Math.log(0.9) + Math.log(0.8) + Math.log(0.4) + Math.log(0.4)) / 4, 6);
    expect(m.income.mse).toBeUndefined();
    // Task 1: labels [0,1,1,0], preds [0.5,1,0,0] → (0.25 + 0 + 1 + 0) / 4.
    expect(m.value).toEqual({ mse: expect.closeTo(0.3125, 9) });
  });

  it('computes requested metrics only where they fit the task type', () => {
    const m = perTaskMetrics(labels, preds, ['binary', 'binary'], ['a', 'b'], { metrics: ['auc', 'mse'] });
    expect(Object.keys(m.a).sort()).toEqual(['auc', 'mse']);
    expect(m.b.auc).toBeCloseTo(rocAuc(column(labels, 2, 1), column(preds, 2, 1)), 12);
    const r = perTaskMetrics(labels, preds, ['binary', 'regression'], ['a', 'b'], { metrics: ['auc'] });
    expect(r.b).toEqual({});
  });

  it('works for batch size 1 and reports a single-class task as NaN AUC', () => {
    const m = perTaskMetrics([1, 0], [0.7, 0.2], ['binary', 'binary'], ['a', 'b']);
    expect(m.a.auc).toBeNaN();
    expect(m.a.accuracy).toBe(1);
  });

  it('rejects mismatched shapes, names and metrics with clear messages', () => {
    expect(() => perTaskMetrics([1, 0, 1], [1, 0, 1], ['binary', 'binary'], ['a', 'b'])).toThrow('perTaskMetrics: 3 values are not [N, 2] for 2 tasks');
    expect(() => perTaskMetrics([1, 0], [1, 0], ['binary', 'binary'], ['a'])).toThrow(/2 task types but 1 task names/);
    expect(() => perTaskMetrics([1, 0], [1, 0], ['binary', 'binary'], ['a', 'a'])).toThrow(/distinct/);
    expect(() => perTaskMetrics([1, 0], [1, 0], ['binary', 'binary'], ['a', 'b'], { metrics: ['f1' as 'auc'] })).toThrow(/unknown metric 'f1'/);
  });
});
