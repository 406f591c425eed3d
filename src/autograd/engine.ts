import { NDArray, RowSparse, addInto, binary, copyStorage, formatShape, shapesEqual, sumToShape } from '../tensor/index.js';
import { checkFinite } from './function.js';
import { isAnomalyEnabled, noGrad } from './mode.js';
import { Tensor } from './tensor.js';

export interface BackwardOptions {
  /** Keep saved buffers so backward can run through this graph again. */
  retainGraph?: boolean;
}

/** Tensors reachable from root through recorded nodes, inputs before outputs (iterative DFS). */
export function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  const stack: Array<[Tensor, number]> = [[root, 0]];
  visited.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    const inputs = t.gradFn ? t.gradFn.inputs : [];
    if (i < inputs.length) {
      top[1] = i + 1;
      const child = inputs[i];
      if (child.requiresGrad && !visited.has(child)) {
        visited.add(child);
        stack.push([child, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  return order;
}

/**
 * Reverse-mode sweep from `root`: gradients flow through recorded nodes in reverse topological
 * order and accumulate (+=) into leaves. Broadcast gradients are summed back to each input's
 * shape here, once, for every op.
 */
export function runBackward(root: Tensor, gradOutput?: Tensor | NDArray, opts: BackwardOptions = {}): void {
  if (!root.requiresGrad) {
    throw new Error('backward: tensor does not require grad and has no grad_fn (did any input have requiresGrad?)');
  }
  let seed: NDArray;
  if (gradOutput === undefined) {
    if (root.size !== 1) {
      throw new Error(`backward: gradOutput can be implicit only for a scalar output; pass one of shape ${formatShape(root.shape)}`);
    }
    seed = new NDArray(root.dtype === 'float64' ? new Float64Array([1]) : new Float32Array([1]), root.shape);
  } else {
    if (!shapesEqual(gradOutput.shape, root.shape)) {
      throw new Error(`backward: gradOutput shape ${formatShape(gradOutput.shape)} does not match output shape ${formatShape(root.shape)}`);
    }
    if (gradOutput.dtype !== root.dtype) {
      throw new TypeError(`backward: gradOutput dtype ${gradOutput.dtype} does not match output dtype ${root.dtype}`);
    }
    seed = new NDArray(gradOutput.data, gradOutput.shape);
  }
  const order = topoOrder(root);
  for (const t of order) {
    if (t.gradFn?.released) {
      throw new Error(`backward: trying to backward through the graph a second time (the saved buffers of ${t.gradFn.spec.name} were freed); pass { retainGraph: true } to the first backward`);
    }
  }
  const grads = new Map<Tensor, GradEntry>();
  grads.set(root, { g: seed, owned: false });
  // Rules run with recording off: their kernels never build graph nodes.
  noGrad(() => {
    for (let k = order.length - 1; k >= 0; k--) {
      const t = order[k];
      const entry = grads.get(t);
      if (entry === undefined) continue;
      const g = entry.g;
      grads.delete(t);
      const node = t.gradFn;
      // A leaf's entry dies here, so a buffer the engine owns can become its .grad without a copy.
      if (node === null || t.retainsGrad) accumulateLeaf(t, g, entry.owned && node === null);
      if (node === null) continue;
      const { spec, ctx, inputs, attrs } = node;
      checkVersions(node);
      const inGrads = spec.backward(ctx, g, inputs, attrs);
      checkBackwardResult(spec.name, inGrads, inputs);
      for (let i = 0; i < inputs.length; i++) {
        if (!ctx.needsInputGrad[i]) continue;
        const gi = inGrads[i];
        if (gi === null || gi === undefined) continue;
        const x = inputs[i];
        const reduced = inputGrad(spec.name, i, gi, x);
        if (reduced === null) continue;
        const prev = grads.get(x);
        if (prev === undefined) grads.set(x, { g: reduced, owned: false });
        else mergeGrad(prev, reduced);
      }
      if (!opts.retainGraph) {
        node.released = true;
        ctx.saved = undefined;
      }
    }
  });
}

/** PyTorch's check and wording: an input changed in place after the op ran fails its backward. */
function checkVersions(node: NonNullable<Tensor['gradFn']>): void {
  for (let i = 0; i < node.inputs.length; i++) {
    const x = node.inputs[i];
    if (x._version !== node.versions[i]) {
      throw new Error(`backward: one of the variables needed for gradient computation has been modified by an inplace operation: ` +
        `input ${i} of ${node.spec.name}, a ${x.dtype} tensor of shape ${formatShape(x.shape)}, is at version ${x._version}; expected version ${node.versions[i]} instead ` +
        `(an optimizer step, loadStateDict or nn.init between the forward and this backward; step after backward)`);
    }
  }
}

/*
 * A custom op's backward is user code: a wrong arity or dtype would otherwise surface later as a
 * shape error in some other op, or silently as float64 gradients leaking into a float32 model.
 */
function checkBackwardResult(name: string, inGrads: unknown, inputs: readonly Tensor[]): void {
  if (!Array.isArray(inGrads)) {
    throw new TypeError(`backward: ${name}'s backward must return an array of gradients (one per input, null allowed), got ${describe(inGrads)}`);
  }
  if (inGrads.length !== inputs.length) {
    throw new Error(`backward: ${name}'s backward returned ${inGrads.length} gradient(s) for ${inputs.length} input(s); return one per input (null for an input that needs none)`);
  }
  for (let i = 0; i < inputs.length; i++) {
    const gi: unknown = inGrads[i];
    if (gi === null || gi === undefined) continue;
    if (!(gi instanceof NDArray) && !(gi instanceof RowSparse)) {
      throw new TypeError(`backward: ${name}'s backward returned ${describe(gi)} for input ${i}; expected an NDArray, a RowSparse or null`);
    }
    if (gi instanceof RowSparse && gi.numRows * gi.dim !== inputs[i].size) {
      throw new Error(`backward: ${name} returned a row-sparse gradient [${gi.numRows},${gi.dim}] for input ${i} of shape ${formatShape(inputs[i].shape)}`);
    }
    if (gi.dtype !== inputs[i].dtype) {
      throw new TypeError(`backward: ${name}'s backward returned a ${gi.dtype} gradient for input ${i}, which is ${inputs[i].dtype}`);
    }
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an Array';
  if (typeof v === 'object') return `an object (${(v as object).constructor?.name ?? 'Object'})`;
  return `${typeof v} ${String(v)}`;
}

/**
 * What a rule returned for input i, x, summed to x's shape (broadcasting); null when it went to x
 * as a row-sparse gradient (only a leaf keeps one: that is where optimizers look).
 */
export function inputGrad(name: string, i: number, gi: NDArray | RowSparse, x: Tensor): NDArray | null {
  if (gi instanceof RowSparse) {
    if (isAnomalyEnabled()) checkFinite(name, `gradient for input ${i}`, new NDArray(gi.values, [gi.values.length]));
    if (x.gradFn === null) {
      x.addSparseGrad(gi);
      return null;
    }
    gi = gi.toDense();
  }
  let reduced: NDArray;
  try {
    reduced = sumToShape(gi, x.shape);
  } catch {
    throw new Error(`backward: ${name} returned a gradient of shape ${formatShape(gi.shape)} for input ${i} of shape ${formatShape(x.shape)}`);
  }
  if (isAnomalyEnabled()) checkFinite(name, `gradient for input ${i}`, reduced);
  return reduced;
}

/** A gradient on its way to a tensor; `owned`: the engine made the buffer (no rule holds it). */
export interface GradEntry {
  g: NDArray;
  owned: boolean;
}

/** Adds another contribution `reduced` to a tensor's gradient entry. */
export function mergeGrad(prev: GradEntry, reduced: NDArray): void {
  if (prev.owned) {
    addInto(prev.g, reduced);
    return;
  }
  // A rule may hand the same buffer to several inputs (add returns [g, g]), so the first
  // accumulation writes the sum into a fresh buffer the engine owns (one pass, not a copy then
  // an add); later ones add into it in place.
  prev.g = binary('add', prev.g, reduced);
  prev.owned = true;
}

/** A leaf's gradient arrives: it becomes (or is added to) `t.grad`. */
export function accumulateLeaf(t: Tensor, g: NDArray, owned: boolean): void {
  if (t.grad === null) {
    // Own copy unless the engine owns g: otherwise g may alias a buffer another gradient uses.
    t.grad = new Tensor(owned ? g.data : copyStorage(g.data), t.shape);
  } else {
    addInto(t.grad, g);
  }
}
