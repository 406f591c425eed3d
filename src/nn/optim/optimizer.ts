import { Tensor, bumpVersion, enableGrad, noGrad } from '../../autograd/index.js';
import { checkOptions } from '../../validation/options.js';
import { allocate, allocateFloat32Persistent, type RowSparse, type Storage } from '../../tensor/index.js';

/*
 * The optimizer base, after torch.optim.Optimizer: parameter groups with their own options,
 * per-parameter state, zeroGrad / step, and a state dict for checkpoints. Subclasses supply the
 * defaults, validate a group's options, and update one parameter in place.
 */

/** A parameter group as given by the user: the tensors, plus any options overriding the defaults. */
export type ParamGroupInput<O> = { params: readonly Tensor[] } & Partial<O>;

/** What optimizers accept: a plain list of tensors, or a list of parameter groups. */
export type ParamsInput<O> = readonly Tensor[] | ReadonlyArray<ParamGroupInput<O>>;

/** A group as held by the optimizer: every option filled in. Options may be changed between steps (schedules). */
export type ParamGroup<O> = O & { params: Tensor[] };

/** A parameter's state: step counters and buffers of the parameter's size and dtype. */
export type ParamState = Record<string, number | Storage>;

export interface OptimizerStateDict {
  /** Per-parameter state keyed by the parameter's position across all groups (PyTorch's layout). */
  state: Record<number, Record<string, number | number[]>>;
  /** Group options, with `params` replaced by those positions. */
  paramGroups: Array<Record<string, unknown> & { params: number[] }>;
}

export abstract class Optimizer<O extends object = object> {
  readonly paramGroups: Array<ParamGroup<O>> = [];
  readonly state = new Map<Tensor, ParamState>();

  constructor(
    /** Class name used in error messages. */
    readonly name: string,
    params: ParamsInput<O>,
    readonly defaults: Readonly<O>,
    /** The options the user passed, checked against the defaults' keys (a typo is an error). */
    given: object = {},
  ) {
    checkOptions(name, given, Object.keys(defaults));
    if (params === null || typeof params !== 'object' || typeof (params as Iterable<unknown>)[Symbol.iterator] !== 'function') {
      throw new TypeError(`${name}: params must be an array of Tensors or of parameter groups, got ${params === null ? 'null' : typeof params}`);
    }
    const list = [...params] as Array<Tensor | ParamGroupInput<O>>;
    if (list.length === 0) throw new Error(`${name}: got an empty parameter list`);
    if (list[0] instanceof Tensor) this.addParamGroup({ params: list as Tensor[] } as unknown as ParamGroupInput<O>);
    else for (const g of list as Array<ParamGroupInput<O>>) this.addParamGroup(g);
  }

  /** Checks one group's options; throws an error naming the optimizer and the bad value. */
  protected abstract validate(group: O): void;

  /** Updates `p.data` in place from its gradient `g` (same size); `state` starts empty. */
  protected abstract update(p: Tensor, g: Storage, group: ParamGroup<O>, state: ParamState): void;

  /**
   * Updates `p.data` from a row-sparse gradient (a sparse embedding's). This default densifies it
   * and runs the dense rule, so every optimizer is exact; Adam, AdamW, Adagrad and plain SGD
   * override it with row updates (lazy-rows.ts) that touch only `rows.rows`.
   */
  protected updateRows(p: Tensor, rows: RowSparse, group: ParamGroup<O>, state: ParamState): void {
    this.update(p, rows.toDense().data, group, state);
  }

  /** Adds a group (options default to the constructor's), like torch's add_param_group. */
  addParamGroup(group: ParamGroupInput<O>): void {
    const name = this.name;
    if (group === null || typeof group !== 'object' || !Array.isArray(group.params)) {
      throw new TypeError(`${name}: a parameter group must be an object with a params array`);
    }
    const gi = this.paramGroups.length;
    const seen = new Set<Tensor>();
    for (const g of this.paramGroups) for (const p of g.params) seen.add(p);
    group.params.forEach((p, i) => {
      if (!(p instanceof Tensor)) throw new TypeError(`${name}: group ${gi} params[${i}] is not a Tensor (got ${typeof p})`);
      if (!p.isLeaf) throw new Error(`${name}: group ${gi} params[${i}] is not a leaf tensor; optimizers update leaves (use detach())`);
      if (seen.has(p)) throw new Error(`${name}: group ${gi} params[${i}] appears more than once across parameter groups`);
      seen.add(p);
    });
    checkOptions(`${name}: parameter group ${gi}`, group, ['params', ...Object.keys(this.defaults)]);
    const full = { ...this.defaults, ...group, params: [...group.params] } as ParamGroup<O>;
    this.validate(full);
    this.paramGroups.push(full);
  }

  /**
   * Drops every parameter's gradient (PyTorch's default set_to_none = true); with `setToNone`
   * false, zeroes dense gradients in place instead (fit does: a gradient's storage then lives as
   * long as its parameter, and a gradient user code keeps between steps is never reused for
   * anything else).
   */
  zeroGrad(setToNone = true): void {
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        if (setToNone) p.grad = null;
        else p.zeroGradInPlace();
      }
    }
  }

  /**
   * One update of every parameter that has a gradient (others are skipped and keep their state).
   * Runs with recording off. An optional closure re-evaluates the loss first; its value is returned.
   */
  step(closure?: () => Tensor | number): number | undefined {
    let loss: number | undefined;
    if (closure) {
      const l = enableGrad(closure);
      loss = typeof l === 'number' ? l : l.item();
    }
    noGrad(() => {
      for (const group of this.paramGroups) {
        for (const p of group.params) {
          if (p.sparseGrad !== null) {
            this.stepRowSparse(p, p.sparseGrad, group);
            continue;
          }
          const g = p.grad;
          if (g === null) continue;
          if (g.size !== p.size) {
            throw new Error(`${this.name}: gradient of ${g.size} elements for a parameter of ${p.size}`);
          }
          let st = this.state.get(p);
          if (st === undefined) {
            st = {};
            this.state.set(p, st);
          }
          this.update(p, g.data, group, st);
          bumpVersion(p);
        }
      }
    });
    return loss;
  }

  /** The row-sparse branch of step: checks the gradient's shape, then updateRows. */
  private stepRowSparse(p: Tensor, rows: RowSparse, group: ParamGroup<O>): void {
    if (rows.numRows * rows.dim !== p.size) {
      throw new Error(`${this.name}: row-sparse gradient [${rows.numRows},${rows.dim}] for a parameter of ${p.size} elements`);
    }
    let st = this.state.get(p);
    if (st === undefined) {
      st = {};
      this.state.set(p, st);
    }
    this.updateRows(p, rows, group, st);
  }

  /** A buffer of `p`'s size and dtype filled with `value`, created once under `key`. */
  protected buffer(state: ParamState, key: string, p: Tensor, value = 0): Storage {
    let b = state[key];
    if (b === undefined) {
      // State lives as long as the optimizer: in the arena where parameters are (fused steps).
      b = p.dtype === 'float32' ? allocateFloat32Persistent(p.size) : allocate(p.dtype, p.size);
      if (value !== 0) b.fill(value);
      state[key] = b;
    }
    return b as Storage;
  }

  /** Options and state as plain data (numbers, arrays), safe to JSON-encode. */
  stateDict(): OptimizerStateDict {
    const index = new Map<Tensor, number>();
    const paramGroups = this.paramGroups.map((g) => {
      const { params, ...opts } = g as ParamGroup<O> & Record<string, unknown>;
      const ids = params.map((p) => {
        index.set(p, index.size);
        return index.size - 1;
      });
      return { ...structuredClone(opts), params: ids };
    });
    const state: OptimizerStateDict['state'] = {};
    for (const [p, st] of this.state) {
      const id = index.get(p);
      if (id === undefined) continue;
      const out: Record<string, number | number[]> = {};
      for (const [k, v] of Object.entries(st)) out[k] = typeof v === 'number' ? v : Array.from(v);
      state[id] = out;
    }
    return { state, paramGroups };
  }

  /**
   * Restores options and state saved by `stateDict()` from an optimizer over parameters of the same
   * sizes in the same order. Everything is checked before anything changes.
   */
  loadStateDict(sd: OptimizerStateDict): void {
    const name = this.name;
    if (!sd || !Array.isArray(sd.paramGroups) || typeof sd.state !== 'object' || sd.state === null) {
      throw new TypeError(`${name}.loadStateDict: expected { state, paramGroups }`);
    }
    if (sd.paramGroups.length !== this.paramGroups.length) {
      throw new Error(`${name}.loadStateDict: expected ${this.paramGroups.length} parameter groups, got ${sd.paramGroups.length}`);
    }
    const byId = new Map<number, Tensor>();
    sd.paramGroups.forEach((g, gi) => {
      const own = this.paramGroups[gi].params;
      if (!Array.isArray(g.params) || g.params.length !== own.length) {
        throw new Error(`${name}.loadStateDict: group ${gi} has ${own.length} parameters, the state dict has ${Array.isArray(g.params) ? g.params.length : 'none'}`);
      }
      g.params.forEach((id, i) => byId.set(id, own[i]));
    });
    const newState = new Map<Tensor, ParamState>();
    for (const [key, st] of Object.entries(sd.state)) {
      const p = byId.get(Number(key));
      if (p === undefined) throw new Error(`${name}.loadStateDict: state for unknown parameter ${key}`);
      const out: ParamState = {};
      for (const [k, v] of Object.entries(st)) {
        if (typeof v === 'number') out[k] = v;
        else if (Array.isArray(v) && v.length === p.size) {
          // Where buffer() puts state (the arena, for fused steps), so a restored optimizer steps as fast.
          const b = p.dtype === 'float32' ? allocateFloat32Persistent(p.size, false) : allocate(p.dtype, p.size);
          b.set(v);
          out[k] = b;
        } else {
          throw new Error(`${name}.loadStateDict: state '${k}' of parameter ${key} has ${Array.isArray(v) ? v.length : typeof v} values, the parameter has ${p.size}`);
        }
      }
      newState.set(p, out);
    }
    const groups = sd.paramGroups.map((g, gi) => {
      const { params: _ids, ...opts } = g;
      const full = { ...this.paramGroups[gi], ...structuredClone(opts) } as ParamGroup<O>;
      this.validate(full);
      return full;
    });
    groups.forEach((g, gi) => (this.paramGroups[gi] = g));
    this.state.clear();
    for (const [p, st] of newState) this.state.set(p, st);
  }
}

/** Throws `${opt}: invalid ${what} ${key} = ${v} (expected …)` unless lo <= v (< hi when given). */
export function checkRange(opt: string, what: string, key: string, v: unknown, lo: number, hi?: number, hiInclusive = false): void {
  const okHi = hi === undefined || (hiInclusive ? (v as number) <= hi : (v as number) < hi);
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || !okHi) {
    const range = hi === undefined ? `a finite number >= ${lo}` : `a number in [${lo}, ${hi}${hiInclusive ? ']' : ')'}`;
    throw new RangeError(`${opt}: invalid ${what} ${key} = ${String(v)} (expected ${range})`);
  }
}

export function checkBoolean(opt: string, key: string, v: unknown): void {
  if (typeof v !== 'boolean') throw new TypeError(`${opt}: ${key} must be a boolean, got ${String(v)}`);
}
