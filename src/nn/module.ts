import { Tensor, bumpVersion, castStorage } from '../autograd/index.js';
import { NDArray, checkDType, formatShape, shapesEqual, toArenaStorage, type DType } from '../tensor/index.js';
import { summary, type SummaryOptions } from './summary.js';
import { checkOptionKeys, type OptionKeys } from '../validation/options.js';
import { moduleTypeName } from './type-name.js';

export interface LoadStateDictOptions {
  /**
   * As torch's `strict` (default true): every key of the module must be in the dict and every key
   * of the dict in the module. With false, the keys both have are loaded and the rest reported.
   */
  strict?: boolean;
}

/** What `loadStateDict` left out (both empty after a strict load), as torch's return value. */
export interface LoadStateDictResult {
  /** Keys of the module that the dict lacks (their tensors keep their values). */
  missingKeys: string[];
  /** Keys of the dict that the module lacks (ignored). */
  unexpectedKeys: string[];
}

const LOAD_KEYS: OptionKeys<LoadStateDictOptions> = { strict: true };

/** Throws unless opts is a valid LoadStateDictOptions (unknown keys, a non-boolean strict), naming fn. */
export function checkLoadOptions(fn: string, opts: LoadStateDictOptions): void {
  checkOptionKeys(fn, opts, LOAD_KEYS);
  if (opts.strict !== undefined && typeof opts.strict !== 'boolean') {
    throw new TypeError(`${fn}: strict must be a boolean, got ${JSON.stringify(opts.strict)}`);
  }
}

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/**
 * The base of every layer and model, after torch.nn.Module: parameters, buffers and child modules
 * are registered by name (in order), which gives dotted state-dict keys like `linears.0.weight`.
 * Subclasses define their own `forward` with whatever signature they need.
 */
/**
 * Moves a parameter's or buffer's storage into the WebAssembly arena (same values, same Tensor
 * object), so kernels and the optimizer use it in place for the module's whole life. Code holding
 * the old `.data` array from before registration keeps a copy that no longer changes.
 */
function adoptStorage(t: Tensor): void {
  const d = t.data;
  const moved = toArenaStorage(d);
  if (moved !== d) (t as { data: typeof d }).data = moved;
}

/**
 * Bumped whenever any module registers a child, a parameter or a buffer, or casts its tensors:
 * cached module lists and traced forwards (predict's plans) made before are stale.
 */
let structureVersion = 0;

/** The count of registrations so far, anywhere (see structureVersion). */
export function moduleStructureVersion(): number {
  return structureVersion;
}

export class Module {
  static readonly typeName: string = 'Module';
  training = true;
  private readonly _parameters = new Map<string, Tensor>();
  private readonly _buffers = new Map<string, Tensor>();
  private readonly _modules = new Map<string, Module>();
  private _moduleList: Module[] | null = null;
  private _moduleListVersion = -1;

  /** Registers a learnable tensor (marked requiresGrad) and returns it. */
  registerParameter(name: string, t: Tensor): Tensor {
    this.checkName('registerParameter', name);
    if (!t.isLeaf) throw new Error(`registerParameter: '${name}' must be a leaf tensor (use detach())`);
    t.requiresGrad = true;
    adoptStorage(t);
    this._parameters.set(name, t);
    structureVersion++;
    return t;
  }

  /** Registers a non-learnable state tensor (running statistics) that belongs in the state dict. */
  registerBuffer(name: string, t: Tensor): Tensor {
    this.checkName('registerBuffer', name);
    adoptStorage(t);
    this._buffers.set(name, t);
    structureVersion++;
    return t;
  }

  registerModule<M extends Module>(name: string, m: M): M {
    this.checkName('registerModule', name);
    if (!(m instanceof Module)) throw new TypeError(`registerModule: '${name}' is not a Module`);
    this._modules.set(name, m);
    structureVersion++;
    return m;
  }

  private checkName(op: string, name: string): void {
    if (name === '' || name.includes('.')) throw new Error(`${op}: invalid name '${name}' (non-empty, no dots)`);
    if (this._parameters.has(name) || this._buffers.has(name) || this._modules.has(name)) {
      throw new Error(`${op}: '${name}' is already registered on ${moduleTypeName(this)}`);
    }
  }

  *namedChildren(): IterableIterator<[string, Module]> {
    yield* this._modules.entries();
  }

  children(): Module[] {
    return [...this._modules.values()];
  }

  /** This module and every descendant, depth first, each once. */
  *namedModules(prefix = '', seen = new Set<Module>()): IterableIterator<[string, Module]> {
    if (seen.has(this)) return;
    seen.add(this);
    yield [prefix, this];
    for (const [name, m] of this._modules) yield* m.namedModules(prefix ? `${prefix}.${name}` : name, seen);
  }

  modules(): Module[] {
    return this.moduleList().slice();
  }

  /**
   * The descendants as `modules()` lists them, cached until any module anywhere registers a child
   * (predict at batch 1 spent a third of its time re-walking the tree to switch modes).
   */
  private moduleList(): readonly Module[] {
    if (this._moduleListVersion !== structureVersion || this._moduleList === null) {
      this._moduleList = [...this.namedModules()].map(([, m]) => m);
      this._moduleListVersion = structureVersion;
    }
    return this._moduleList;
  }

  /** Parameters with dotted paths, in registration order; a shared tensor appears once. */
  namedParameters(): Array<[string, Tensor]> {
    const out: Array<[string, Tensor]> = [];
    const seen = new Set<Tensor>();
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, p] of m._parameters) {
        if (seen.has(p)) continue;
        seen.add(p);
        out.push([prefix ? `${prefix}.${name}` : name, p]);
      }
    }
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  namedBuffers(): Array<[string, Tensor]> {
    const out: Array<[string, Tensor]> = [];
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, b] of m._buffers) out.push([prefix ? `${prefix}.${name}` : name, b]);
    }
    return out;
  }

  buffers(): Tensor[] {
    return this.namedBuffers().map(([, b]) => b);
  }

  /** Whether neither this module nor any descendant holds a parameter or a buffer (no walk: the cached module list). */
  isStateless(): boolean {
    const list = this.moduleList();
    for (let i = 0; i < list.length; i++) if (list[i]._parameters.size > 0 || list[i]._buffers.size > 0) return false;
    return true;
  }

  /** Number of learnable scalars. */
  numParameters(): number {
    return this.parameters().reduce((n, p) => n + p.size, 0);
  }

  /** Sets training mode recursively (BatchNorm, Dropout and Dice behave differently in eval). */
  train(mode = true): this {
    const list = this.moduleList();
    for (let i = 0; i < list.length; i++) list[i].training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /**
   * Parameters and buffers by dotted name, in PyTorch's order (each module's parameters, then its
   * buffers, then its children). The tensors are the live ones, not copies.
   */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    const visit = (m: Module, prefix: string): void => {
      for (const [n, p] of m._parameters) out[prefix + n] = p;
      for (const [n, b] of m._buffers) out[prefix + n] = b;
      for (const [n, c] of m._modules) visit(c, `${prefix}${n}.`);
    };
    visit(this, '');
    return out;
  }

  /**
   * Copies values from `dict` into this module's tensors, with torch's semantics: `strict` (the
   * default) rejects missing and unexpected keys, `strict: false` loads the keys both sides have
   * and returns the others; a shape mismatch is always an error; a value of another dtype is cast
   * to the tensor's dtype (rounded to nearest, as torch's `copy_`). Every problem is collected
   * and reported in one error before anything is written, so a failed load never leaves a partial
   * model.
   */
  loadStateDict(dict: Record<string, NDArray>, opts: LoadStateDictOptions = {}): LoadStateDictResult {
    checkLoadOptions('loadStateDict', opts);
    const strict = opts.strict ?? true;
    if (dict === null || typeof dict !== 'object' || Array.isArray(dict) || dict instanceof NDArray) {
      throw new TypeError(`loadStateDict: expected a state dict (an object of name → Tensor), got ${dict === null ? 'null' : Array.isArray(dict) ? 'an array' : dict instanceof NDArray ? 'a Tensor' : typeof dict}`);
    }
    for (const [k, v] of Object.entries(dict)) {
      if (!(v instanceof NDArray)) {
        throw new TypeError(`loadStateDict: the value of '${k}' is not a Tensor (got ${v === null ? 'null' : typeof v === 'object' ? (v as object).constructor?.name ?? 'object' : typeof v})`);
      }
    }
    const own = this.stateDict();
    const missingKeys = Object.keys(own).filter((k) => !hasOwn(dict, k));
    const unexpectedKeys = Object.keys(dict).filter((k) => !hasOwn(own, k));
    const problems: string[] = [];
    if (strict && missingKeys.length) problems.push(`missing keys: ${missingKeys.join(', ')}`);
    if (strict && unexpectedKeys.length) problems.push(`unexpected keys: ${unexpectedKeys.join(', ')}`);
    for (const [k, t] of Object.entries(own)) {
      if (!hasOwn(dict, k)) continue;
      const src = dict[k];
      if (!shapesEqual(src.shape, t.shape)) problems.push(`wrong shape for ${k}: expected ${formatShape(t.shape)}, got ${formatShape(src.shape)}`);
    }
    if (problems.length) throw new Error(`loadStateDict: ${problems.join('; ')}`);
    for (const [k, t] of Object.entries(own)) {
      // TypedArray.set converts element by element: float64 → float32 rounds to nearest even.
      if (hasOwn(dict, k)) {
        t.data.set(dict[k].data);
        bumpVersion(t);
      }
    }
    return { missingKeys, unexpectedKeys };
  }

  /**
   * A table of layers, output shapes and parameter counts (Keras's `model.summary()`), as a
   * string. Output shapes need a sample input (`{ input }`); the models make their own.
   */
  summary(opts: SummaryOptions = {}): string {
    return summary(this, opts, () => this.sampleInput());
  }

  /** A small input forward accepts, for summary(); undefined when the module cannot tell. */
  protected sampleInput(): unknown {
    return undefined;
  }

  /**
   * Converts every parameter and buffer to `dtype` in place (the tensor objects stay the same, so
   * references held elsewhere remain valid). Gradients are dropped.
   */
  to(dtype: DType): this {
    // Checked before the loop: a bad dtype must not leave some parameters cast and others not.
    checkDType('Module.to', dtype);
    for (const t of [...this.parameters(), ...this.buffers()]) {
      if (t.dtype !== dtype) castStorage(t, dtype);
      t.grad = null;
    }
    // Traced forwards read the tensors of one dtype.
    structureVersion++;
    return this;
  }
}

/** Anything with a single-tensor forward, the unit Sequential chains. */
export interface Layer extends Module {
  forward(x: Tensor): Tensor;
}

/** Holds submodules in a list; names are their indices ('0', '1', …). */
export class ModuleList<M extends Module = Module> extends Module {
  static override readonly typeName: string = 'ModuleList';
  private readonly items: M[] = [];

  constructor(modules: Iterable<M> = []) {
    super();
    for (const m of modules) this.append(m);
  }

  append(m: M): this {
    this.registerModule(String(this.items.length), m);
    this.items.push(m);
    return this;
  }

  get length(): number {
    return this.items.length;
  }

  get(i: number): M {
    const m = this.items[i < 0 ? i + this.items.length : i];
    if (!m) throw new RangeError(`ModuleList: index ${i} out of range for length ${this.items.length}`);
    return m;
  }

  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }

  map<T>(fn: (m: M, i: number) => T): T[] {
    return this.items.map(fn);
  }
}

/** Chains layers: forward(x) = layers[n-1](…layers[0](x)). */
export class Sequential extends ModuleList<Layer> implements Layer {
  static override readonly typeName: string = 'Sequential';
  constructor(...layers: Layer[]) {
    super(layers);
  }

  forward(x: Tensor): Tensor {
    let h = x;
    for (const l of this) h = l.forward(h);
    return h;
  }
}
