import { formatShape, type DType } from '../../tensor/index.js';
import { Tensor } from '../tensor.js';

/*
 * A stacked tensor is what model code sees of R runs computed as one: a Tensor of the *logical*
 * shape (one run's), linked here to its *physical* tensor [R, ...logical] that the autograd and
 * the kernels actually work on. Its values differ per run, so reading `.data` of the logical
 * tensor throws (a model that looks at values outside an op, e.g. to read ids, cannot be stacked
 * silently wrong); every op on it goes through the batching rules (rules.ts).
 */

const physicalOf = new WeakMap<Tensor, Tensor>();
/** Set by the first stacked tensor: until then defineOp skips the WeakMap lookups entirely. */
let inUse = false;

export function stackedInUse(): boolean {
  return inUse;
}

/** The physical [R, ...] tensor behind a stacked tensor, or undefined for an ordinary one. */
export function physicalTensor(t: Tensor): Tensor | undefined {
  return physicalOf.get(t);
}

/** Number of runs of a stacked tensor (0 for an ordinary one). */
export function runsOf(t: Tensor): number {
  const p = physicalOf.get(t);
  return p === undefined ? 0 : p.shape[0];
}

function hideValues(t: Tensor, logical: readonly number[], runs: number, dtype: DType, size: number): void {
  Object.defineProperty(t, 'data', {
    configurable: true,
    enumerable: true,
    get(): never {
      throw new Error(`stacked tensor ${formatShape(logical)} (×${runs} runs): its values differ per run; read physical(t).data ([${runs}, ...]) instead`);
    },
  });
  Object.defineProperty(t, 'dtype', { configurable: true, value: dtype });
  Object.defineProperty(t, 'size', { configurable: true, value: size });
}

/** The logical view of a physical [R, ...] tensor (R ≥ 1), as model code sees it. */
export function stackedView(physical: Tensor): Tensor {
  if (physical.ndim < 1) throw new RangeError('stackedView: the physical tensor needs a leading run axis');
  if (physicalOf.has(physical)) throw new Error('stackedView: the tensor is already stacked');
  const runs = physical.shape[0];
  const logical = physical.shape.slice(1);
  const size = runs === 0 ? 0 : physical.size / runs;
  const t = new Tensor(physical.data.subarray(0, size), logical, physical.requiresGrad);
  hideValues(t, logical, runs, physical.dtype, size);
  physicalOf.set(t, physical);
  inUse = true;
  return t;
}

/** The own property descriptors stackInPlace replaced, for restoreTensor. */
export type SavedProperties = Record<'data' | 'dtype' | 'size', PropertyDescriptor | undefined>;

/**
 * Turns an existing tensor object (a module's parameter) into the logical view of `physical`,
 * keeping the object, so every reference the module holds now sees the stacked tensor. Returns
 * what it replaced, for `restoreTensor` (descriptors, not values: storage may be an accessor).
 */
export function stackInPlace(t: Tensor, physical: Tensor): SavedProperties {
  if (physicalOf.has(t)) throw new Error('stackInPlace: the tensor is already stacked');
  const saved: SavedProperties = {
    data: Object.getOwnPropertyDescriptor(t, 'data'),
    dtype: Object.getOwnPropertyDescriptor(t, 'dtype'),
    size: Object.getOwnPropertyDescriptor(t, 'size'),
  };
  hideValues(t, t.shape, physical.shape[0], physical.dtype, t.size);
  t.grad = null;
  physicalOf.set(t, physical);
  inUse = true;
  return saved;
}

/** Undoes stackInPlace: `t` is an ordinary tensor again, with the properties it had. */
export function restoreTensor(t: Tensor, saved: SavedProperties): void {
  physicalOf.delete(t);
  for (const key of ['data', 'dtype', 'size'] as const) {
    const d = saved[key];
    if (d === undefined) delete (t as unknown as Record<string, unknown>)[key];
    else Object.defineProperty(t, key, d);
  }
  t.grad = null;
}

/** The physical tensor behind `t`; throws, naming `fn`, when `t` is not stacked. */
export function physical(t: Tensor, fn = 'physical'): Tensor {
  const p = physicalOf.get(t);
  if (p === undefined) throw new Error(`${fn}: the tensor ${formatShape(t.shape)} is not stacked`);
  return p;
}
