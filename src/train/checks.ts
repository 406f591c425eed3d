import { Tensor } from '../autograd/index.js';
import { outputWidths, type MultiTaskModel, type TaskType } from '../models/types.js';
import { resolveDataset, type Dataset, type ResolvedDataset } from './dataset.js';
import { resolveGroups } from './groups.js';

/*
 * Checks of a data set before any training step, so that bad data is reported as bad data
 * (which task, row, feature and column) rather than as a loss that "became NaN" some steps later.
 */

/**
 * Binary labels in [0, 1] (soft labels are fine for the loss); regression labels finite; a NaN
 * label (missing) only in the tasks `maskable` allows; multiclass labels class indices 0..K-1 (K: numClasses).
 */
export function checkLabels(
  fn: string, d: ResolvedDataset, taskTypes: readonly TaskType[], taskNames: readonly string[], maskable: readonly boolean[] = [],
  numClasses: readonly number[] = [],
): void {
  const t = d.numTasks, y = d.y;
  for (let j = 0; j < t; j++) {
    const binary = taskTypes[j] === 'binary';
    for (let i = 0; i < d.n; i++) {
      const v = y[i * t + j];
      if (Number.isNaN(v)) {
        if (maskable[j]) continue;
        throw new RangeError(`${fn}: task '${taskNames[j]}' has a missing (NaN) label at row ${i}; to train on partial labels, pass missingLabels: 'mask' (or the task names that may miss labels)`);
      }
      if (taskTypes[j] === 'multiclass') {
        const k = numClasses[j];
        if (!(Number.isInteger(v) && v >= 0 && v < k)) {
          throw new RangeError(`${fn}: labels of multiclass task '${taskNames[j]}' must be class indices 0..${k - 1}; row ${i} has ${v}`);
        }
        continue;
      }
      if (binary ? !(v >= 0 && v <= 1) : !Number.isFinite(v)) {
        const want = binary ? 'lie in [0, 1] (0/1, or soft labels)' : 'be finite';
        throw new RangeError(`${fn}: labels of ${taskTypes[j]} task '${taskNames[j]}' must ${want}; row ${i} has ${v}`);
      }
    }
  }
}

function firstNonFinite(a: ArrayLike<number>): number {
  for (let k = 0; k < a.length; k++) if (!Number.isFinite(a[k])) return k;
  return -1;
}

/** Every dense input value finite (sparse ids are integers and cannot be NaN). */
export function checkFiniteFeatures(fn: string, d: ResolvedDataset): void {
  const cols: Array<[string, Tensor | Int32Array | Float32Array]> = d.x instanceof Tensor ? [['x', d.x]] : Object.entries(d.x);
  for (const [name, col] of cols) {
    if (col instanceof Int32Array) continue;
    const data = col instanceof Tensor ? col.data : col;
    const k = firstNonFinite(data);
    if (k < 0) continue;
    const width = d.n === 0 ? 1 : data.length / d.n;
    const row = Math.floor(k / width), column = k - row * width;
    throw new RangeError(`${fn}: feature '${name}' has a non-finite value ${data[k]} at row ${row}, column ${column}; fill or drop missing values before training`);
  }
}

/** A data set resolved for `model`, with its labels and dense inputs checked; `maskable`: see checkLabels. */
export function checkedDataset(fn: string, data: Dataset, model: MultiTaskModel, maskable: readonly boolean[] = []): ResolvedDataset {
  const d = resolveDataset(fn, data, model.taskNames.length);
  checkLabels(fn, d, model.taskTypes, model.taskNames, maskable, outputWidths(model));
  if (data.groups !== undefined) d.groups = resolveGroups(fn, data.groups, d, 'groups');
  if (maskable.some(Boolean)) d.maskable = maskable.slice();
  checkFiniteFeatures(fn, d);
  return d;
}
