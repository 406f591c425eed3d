import { Tensor } from '../autograd/index.js';
import type { ResolvedDataset } from './dataset.js';

/** Grouping for grouped AUC: a feature column's name, or one group id per row. */
export type GroupBy = string | Int32Array | Float32Array | Float64Array | readonly number[];

/**
 * The per-row group ids `groupBy` names: a feature column of the data with one value per row
 * (a sparse id column, or a dense one of width 1), or ids given directly. Ids must be finite.
 */
export function resolveGroups(fn: string, groupBy: GroupBy, d: ResolvedDataset, what = 'groupBy'): Int32Array | Float64Array {
  let ids: ArrayLike<number>;
  if (typeof groupBy === 'string' && what === 'groupBy') {
    if (d.x instanceof Tensor) throw new TypeError(`${fn}: groupBy names the feature '${groupBy}', but the data's x is one dense Tensor; give the group ids (one per row) instead`);
    const col = d.x[groupBy];
    if (col === undefined) throw new RangeError(`${fn}: groupBy names '${groupBy}', which is not a feature column of the data (columns: ${Object.keys(d.x).join(', ')})`);
    const values = col instanceof Tensor ? col.data : col;
    if (values.length !== d.n) throw new RangeError(`${fn}: groupBy column '${groupBy}' must hold one value per row (${d.n}), has ${values.length}`);
    ids = values;
  } else if (groupBy instanceof Int32Array || groupBy instanceof Float32Array || groupBy instanceof Float64Array || Array.isArray(groupBy)) {
    if (groupBy.length !== d.n) throw new RangeError(`${fn}: ${what} has ${groupBy.length} group ids for ${d.n} rows`);
    ids = groupBy;
  } else {
    throw new TypeError(`${fn}: ${what} must be ${what === 'groupBy' ? 'a feature column name or ' : ''}one group id per row (Int32Array, Float64Array or number[]), got ${groupBy === null ? 'null' : typeof groupBy}`);
  }
  if (ids instanceof Int32Array) return ids;
  const out = Float64Array.from(ids);
  for (let i = 0; i < out.length; i++) {
    if (!Number.isFinite(out[i])) throw new RangeError(`${fn}: ${what} id at row ${i} is ${out[i]}; group ids must be finite`);
  }
  return out;
}
