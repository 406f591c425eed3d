import { Tensor, bumpVersion, physical, runsOf, stackedView } from '../autograd/index.js';
import { restoreTensor, stackInPlace, type SavedProperties } from '../autograd/stacked/view.js';
import { allocateFloat32Persistent, allocateUninit, formatShape } from '../tensor/index.js';
import { BatchNorm1d } from './batchnorm.js';
import { Dropout } from './dropout.js';
import type { Module } from './module.js';

/*
 * Many models of one architecture trained as one computation. The first model becomes the vessel:
 * each of its parameter objects turns, in place, into the logical view of a physical [R, ...]
 * parameter holding every run's values, so the model's own code (which keeps references to its
 * parameters) runs unchanged and each op batches over the runs (src/autograd/stacked). An
 * optimizer steps the physical parameters; optimizers are elementwise, so each run keeps its own
 * state. unstackModels writes every run's values back into its own model.
 */

export class StackedModules<M extends Module = Module> {
  /** The run count R. */
  readonly runs: number;
  /** The module whose code runs the stack (the first model, its parameters stacked while stacked). */
  readonly module: M;
  private readonly models: M[];
  private readonly params: Array<{ name: string; logical: Tensor; physical: Tensor; own: SavedProperties }>;
  private active = true;

  /** @internal use stackModels */
  constructor(models: M[], params: Array<{ name: string; logical: Tensor; physical: Tensor; own: SavedProperties }>) {
    this.models = models;
    this.runs = models.length;
    this.module = models[0];
    this.params = params;
  }

  private check(fn: string): void {
    if (!this.active) throw new Error(`${fn}: these models were unstacked; stack them again with stackModels`);
  }

  /** The physical parameters [R, ...shape], in the module's parameter order (give these to an optimizer). */
  parameters(): Tensor[] {
    this.check('StackedModules.parameters');
    return this.params.map((p) => p.physical);
  }

  namedParameters(): Array<[string, Tensor]> {
    this.check('StackedModules.namedParameters');
    return this.params.map((p) => [p.name, p.physical]);
  }

  /** Parameter name → physical tensor [R, ...shape] (buffers, shared by every run, are left out). */
  stateDict(): Record<string, Tensor> {
    return Object.fromEntries(this.namedParameters());
  }

  /**
   * Writes stateDict()-shaped values ([R, ...] per parameter name) into the stack, strictly: every
   * name, shape and dtype is checked before anything is written.
   */
  loadStateDict(sd: Record<string, Tensor>): void {
    const fn = 'StackedModules.loadStateDict';
    this.check(fn);
    if (sd === null || typeof sd !== 'object') throw new TypeError(`${fn}: expected a record of tensors`);
    const own = new Set(this.params.map((p) => p.name));
    const unknown = Object.keys(sd).filter((k) => !own.has(k));
    if (unknown.length > 0) throw new Error(`${fn}: unexpected key(s) ${unknown.map((k) => `'${k}'`).join(', ')}`);
    for (const { name, physical: phys } of this.params) {
      const t = sd[name];
      if (t === undefined) throw new Error(`${fn}: missing key '${name}'`);
      if (!(t instanceof Tensor) || formatShape(t.shape) !== formatShape(phys.shape) || t.dtype !== phys.dtype) {
        const got = t instanceof Tensor ? `${formatShape(t.shape)} ${t.dtype}` : typeof t;
        throw new Error(`${fn}: '${name}' is ${got}, the stack's is ${formatShape(phys.shape)} ${phys.dtype}`);
      }
    }
    for (const { name, physical: phys } of this.params) {
      phys.data.set(sd[name].data);
      bumpVersion(phys);
    }
  }

  /**
   * Run r's state dict (parameter values copied out of the stack; buffers, shared by every run,
   * as they are): `model.loadStateDict(stacked.runStateDict(r))` gives an ordinary copy of run r
   * mid-training, e.g. to evaluate it.
   */
  runStateDict(r: number): Record<string, Tensor> {
    this.check('StackedModules.runStateDict');
    if (!Number.isInteger(r) || r < 0 || r >= this.runs) throw new RangeError(`StackedModules.runStateDict: run ${r} is out of range for ${this.runs} runs`);
    const byName = new Map(this.params.map((p) => [p.name, p.physical]));
    const out: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(this.module.stateDict())) {
      const phys = byName.get(name);
      if (phys === undefined) { out[name] = t; continue; }
      const n = phys.size / this.runs;
      out[name] = new Tensor(phys.data.slice(r * n, (r + 1) * n), phys.shape.slice(1));
    }
    return out;
  }

  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /** Ends the stack: each model gets its run's parameter values back; returns the R models. */
  unstack(): M[] {
    this.check('unstackModels');
    this.active = false;
    for (const { logical, physical: phys, own } of this.params) {
      restoreTensor(logical, own);
      logical.data.set(phys.data.subarray(0, logical.size));
      // New values in place: caches keyed on the version (packed weights) must see them.
      bumpVersion(logical);
    }
    for (let r = 1; r < this.runs; r++) {
      const named = new Map(this.models[r].namedParameters());
      for (const { name, physical: phys } of this.params) {
        const t = named.get(name)!;
        const n = t.size;
        t.data.set(phys.data.subarray(r * n, (r + 1) * n));
        bumpVersion(t);
        t.grad = null;
      }
    }
    return this.models.slice();
  }
}

function refuseUnstackable(fn: string, m: Module): void {
  for (const [name, sub] of m.namedModules()) {
    const where = name === '' ? 'the model' : `'${name}'`;
    if (sub instanceof BatchNorm1d) throw new Error(`${fn}: ${where} is a BatchNorm1d; its running statistics are not per run, so it cannot be stacked`);
    if (sub instanceof Dropout && sub.p > 0) throw new Error(`${fn}: ${where} is a Dropout with p ${sub.p}; its masks come from one generator, not one per run, so it cannot be stacked`);
  }
}

/**
 * R models of one architecture (same class, same parameter names and shapes, e.g. different
 * seeds) as one stacked computation. While stacked, run the first model (`stacked.module`) on
 * stacked inputs (stackedView of [R, B, ...] data) and step `stacked.parameters()`; the models
 * must not be used on their own until `unstackModels`.
 */
export function stackModels<M extends Module>(models: readonly M[]): StackedModules<M> {
  const fn = 'stackModels';
  if (!Array.isArray(models) || models.length === 0) throw new RangeError(`${fn}: expected a non-empty array of models`);
  const first: Module = models[0];
  const names: Array<[string, Tensor]> = first.namedParameters();
  if (new Set(models).size !== models.length) throw new Error(`${fn}: the same model appears twice`);
  (models as readonly Module[]).forEach((m: Module, r: number) => {
    if ((m as unknown) === null || typeof m !== 'object' || m.constructor !== first.constructor) {
      throw new TypeError(`${fn}: models[${r}] is not a ${first.constructor.name} like models[0]`);
    }
    refuseUnstackable(fn, m);
    const own = m.namedParameters();
    if (own.length !== names.length) throw new Error(`${fn}: models[${r}] has ${own.length} parameters, models[0] has ${names.length}`);
    own.forEach(([name, t], k) => {
      const [name0, t0] = names[k];
      if (name !== name0 || formatShape(t.shape) !== formatShape(t0.shape) || t.dtype !== t0.dtype) {
        throw new Error(`${fn}: models[${r}] parameter '${name}' ${formatShape(t.shape)} ${t.dtype} does not match models[0]'s '${name0}' ${formatShape(t0.shape)} ${t0.dtype}`);
      }
      if (runsOf(t) !== 0) throw new Error(`${fn}: models[${r}] is already stacked`);
    });
    const b0 = first.namedBuffers();
    m.namedBuffers().forEach(([name, b], k) => {
      const d0 = b0[k][1].data;
      if (b.data.length !== d0.length || b.data.some((v, i) => !Object.is(v, d0[i]))) {
        throw new Error(`${fn}: models[${r}] buffer '${name}' differs from models[0]'s; buffers are shared by every run`);
      }
    });
  });
  const R = models.length;
  const params = names.map(([name, t], k) => {
    const data = t.dtype === 'float64' ? new Float64Array(R * t.size) : allocateFloat32Persistent(R * t.size, false);
    (models as readonly Module[]).forEach((m: Module, r: number) => data.set(m.namedParameters()[k][1].data, r * t.size));
    const phys = new Tensor(data, [R, ...t.shape], t.requiresGrad);
    const own = stackInPlace(t, phys);
    return { name, logical: t, physical: phys, own };
  });
  return new StackedModules(models.slice(), params);
}

/** The R ordinary models back, each holding its run's trained parameters (see stackModels). */
export function unstackModels<M extends Module>(stacked: StackedModules<M>): M[] {
  if (!(stacked instanceof StackedModules)) throw new TypeError('unstackModels: expected what stackModels returned');
  return stacked.unstack();
}

/** R per-run arrays of one shape (each [...shape]) as one stacked tensor of that logical shape. */
export function stackTensors(parts: readonly Tensor[]): Tensor {
  const fn = 'stackTensors';
  if (!Array.isArray(parts) || parts.length === 0) throw new RangeError(`${fn}: expected a non-empty array of tensors`);
  const s = parts[0].shape;
  const n = parts[0].size;
  // Fully written below; in a step's scope it is an arena block (kernels read it in place).
  const data = allocateUninit(parts[0].dtype, parts.length * n);
  parts.forEach((p, r) => {
    if (!(p instanceof Tensor) || formatShape(p.shape) !== formatShape(s) || p.dtype !== parts[0].dtype) {
      throw new Error(`${fn}: parts[${r}] is ${p instanceof Tensor ? `${formatShape(p.shape)} ${p.dtype}` : typeof p}, parts[0] is ${formatShape(s)} ${parts[0].dtype}`);
    }
    data.set(p.data, r * n);
  });
  return stackedView(new Tensor(data, [parts.length, ...s]));
}

/** Run r's values of a stacked tensor, as an ordinary tensor (a copy). */
export function runSlice(t: Tensor, r: number): Tensor {
  const p = physical(t, 'runSlice');
  if (!Number.isInteger(r) || r < 0 || r >= p.shape[0]) throw new RangeError(`runSlice: run ${r} is out of range for ${p.shape[0]} runs`);
  const n = p.size / p.shape[0];
  return new Tensor(p.data.slice(r * n, (r + 1) * n), p.shape.slice(1));
}
