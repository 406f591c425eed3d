import { Tensor } from '../autograd/index.js';
import { formatShape } from '../tensor/index.js';
import type { TaskType } from '../models/types.js';

/** Per-row weights: [N] (or [N, 1]) for every task alike, or [N, T] one per row and task. */
export type SampleWeight = Tensor | Float32Array | Float64Array | readonly number[];

/** Binary tasks' class weights, Keras-style `{ 0: w0, 1: w1 }`, by task name or in task order (null: none). */
export type ClassWeight = Record<string, ClassWeights> | ReadonlyArray<ClassWeights | null>;
export interface ClassWeights { 0?: number; 1?: number }

/**
 * The weight of every row and task as one row-major [N, T] array, or null when neither option is
 * given. A row's weight is sampleWeight × classWeight[label]; a soft label y weighs
 * (1 − y)·w0 + y·w1, which is the lookup itself for 0/1 labels. Weights must be finite and >= 0.
 */
export function resolveRowWeights(
  fn: string, sampleWeight: SampleWeight | undefined, classWeight: ClassWeight | undefined,
  y: Float32Array, n: number, taskTypes: readonly TaskType[], taskNames: readonly string[],
): Float32Array | null {
  if (sampleWeight === undefined && classWeight === undefined) return null;
  const t = taskTypes.length;
  const w = new Float32Array(n * t).fill(1);
  if (sampleWeight !== undefined) {
    let values: ArrayLike<number>;
    let perTask: boolean;
    if (sampleWeight instanceof Tensor) {
      const s = sampleWeight.shape;
      const ok = s[0] === n && (s.length === 1 || (s.length === 2 && (s[1] === 1 || s[1] === t)));
      if (!ok) throw new RangeError(`${fn}: sampleWeight must be ${formatShape([n])}, ${formatShape([n, 1])} or ${formatShape([n, t])} (one weight per row, or per row and task), got ${formatShape(s)}`);
      values = sampleWeight.data;
      perTask = s.length === 2 && s[1] === t && t !== 1;
    } else if (sampleWeight instanceof Float32Array || sampleWeight instanceof Float64Array || Array.isArray(sampleWeight)) {
      values = sampleWeight;
      if (values.length !== n && values.length !== n * t) {
        throw new RangeError(`${fn}: sampleWeight has ${values.length} values; expected ${n} (one per row) or ${n * t} (one per row and task, row-major)`);
      }
      perTask = values.length === n * t && t !== 1;
    } else {
      throw new TypeError(`${fn}: sampleWeight must be a Tensor, a Float32Array or an array of numbers`);
    }
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < t; j++) {
        const v = values[perTask ? i * t + j : i];
        if (!(Number.isFinite(v) && v >= 0)) {
          throw new RangeError(`${fn}: sampleWeight must be finite and >= 0; row ${i}${perTask ? ` (task '${taskNames[j]}')` : ''} has ${v}`);
        }
        w[i * t + j] = v;
      }
    }
  }
  if (classWeight !== undefined) {
    for (const [j, cw] of classWeightsByTask(fn, classWeight, taskTypes, taskNames)) {
      for (let i = 0; i < n; i++) {
        const yi = y[i * t + j];
        if (Number.isNaN(yi)) continue; // a missing label: masked out of the loss, its weight never read
        w[i * t + j] *= (1 - yi) * cw[0] + yi * cw[1];
      }
    }
  }
  return w;
}

function classWeightsByTask(
  fn: string, cw: ClassWeight, taskTypes: readonly TaskType[], taskNames: readonly string[],
): Array<[number, [number, number]]> {
  let entries: Array<[number, ClassWeights]>;
  if (Array.isArray(cw)) {
    if (cw.length !== taskNames.length) throw new RangeError(`${fn}: classWeight needs one entry per task (${taskNames.length}: ${taskNames.join(', ')}; null for none), got ${cw.length}`);
    entries = (cw as ReadonlyArray<ClassWeights | null>).flatMap((c, j) => (c === null || c === undefined ? [] : [[j, c] as [number, ClassWeights]]));
  } else if (cw !== null && typeof cw === 'object') {
    entries = Object.entries(cw as Record<string, ClassWeights>).map(([name, c]) => {
      const j = taskNames.indexOf(name);
      if (j < 0) throw new RangeError(`${fn}: classWeight names unknown task '${name}'; tasks: ${taskNames.join(', ')}`);
      return [j, c];
    });
  } else {
    throw new TypeError(`${fn}: classWeight must map task names (or give one entry per task) to { 0: w0, 1: w1 }`);
  }
  return entries.map(([j, c]) => {
    const name = taskNames[j];
    if (taskTypes[j] !== 'binary') throw new RangeError(`${fn}: classWeight is for binary tasks; task '${name}' is ${taskTypes[j]}`);
    if (c === null || typeof c !== 'object') throw new TypeError(`${fn}: classWeight of task '${name}' must be { 0: w0, 1: w1 }`);
    for (const k of Object.keys(c)) {
      if (k !== '0' && k !== '1') throw new RangeError(`${fn}: classWeight of task '${name}' has class '${k}'; binary tasks have classes 0 and 1`);
    }
    const pair: [number, number] = [c[0] ?? 1, c[1] ?? 1];
    for (const v of pair) if (!(Number.isFinite(v) && v >= 0)) throw new RangeError(`${fn}: classWeight of task '${name}' must be finite and >= 0, got ${v}`);
    return [j, pair];
  });
}
