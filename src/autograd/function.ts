import { AllocationError, formatShape, type NDArray } from '../tensor/index.js';
import type { GraphNode, OpContext, OpSpec } from './graph.js';
import { isAnomalyEnabled, isGradEnabled } from './mode.js';
import { Tensor } from './tensor.js';
import { activeTracer } from './trace.js';
import { physicalTensor, stackedInUse } from './stacked/view.js';

export type { OpContext, OpSpec } from './graph.js';

/** A differentiable op produced by defineOp: tensors in, one tensor out. */
export type Op<A> = (inputs: readonly Tensor[], attrs: A) => Tensor;

/**
 * How an op runs when an input is stacked (R runs on a hidden leading axis; see stacked/): set
 * by stacked/rules.ts, which imports the ops, so this file does not.
 */
type StackedHandler = (spec: OpSpec<any, any>, inputs: readonly Tensor[], attrs: unknown) => Tensor; // eslint-disable-line @typescript-eslint/no-explicit-any
let stackedHandler: StackedHandler | null = null;

export function setStackedHandler(h: StackedHandler): void {
  stackedHandler = h;
}

function anyStacked(inputs: readonly Tensor[]): boolean {
  for (let i = 0; i < inputs.length; i++) if (physicalTensor(inputs[i]) !== undefined) return true;
  return false;
}

/** Throws, naming the op, when an array holds NaN or Inf (anomaly mode). */
export function checkFinite(opName: string, what: string, a: NDArray): void {
  const d = a.data;
  for (let i = 0; i < d.length; i++) {
    if (!Number.isFinite(d[i])) {
      throw new Error(`detectAnomaly: ${opName} produced ${d[i]} in its ${what} (shape ${formatShape(a.shape)}, flat index ${i})`);
    }
  }
}

/**
 * Defines a differentiable op from a forward kernel call and a backward rule. Every built-in op
 * is made through this function; users define their own ops with it the same way.
 *
 * All inputs must share a dtype (the error names the op). Nothing is recorded unless grad mode is
 * on and at least one input requires a gradient.
 */
export function defineOp<A = undefined, S = undefined>(spec: OpSpec<A, S>): Op<A> {
  const name = spec.name;
  return (inputs: readonly Tensor[], attrs: A): Tensor => {
    if (stackedInUse() && anyStacked(inputs)) {
      if (stackedHandler === null) throw new Error(`${name}: stacked inputs, but no batching rules are loaded`);
      return stackedHandler(spec, inputs, attrs);
    }
    let record = false;
    for (let i = 0; i < inputs.length; i++) {
      const t = inputs[i];
      if (!(t instanceof Tensor)) throw new TypeError(`${name}: input ${i} is not a Tensor (got ${typeof t})`);
      if (t.dtype !== inputs[0].dtype) {
        throw new TypeError(`${name}: dtype mismatch ${inputs[0].dtype} vs ${t.dtype}; cast with .to('${inputs[0].dtype}') first`);
      }
      if (t.requiresGrad) record = true;
    }
    record = record && isGradEnabled();
    const ctx: OpContext<S> = {
      opName: name,
      needsInputGrad: inputs.map((t) => record && t.requiresGrad),
      recording: record,
      saved: undefined as S,
    };
    let outArr: NDArray;
    try {
      outArr = spec.forward(ctx, inputs, attrs);
    } catch (e) {
      // The kernel knows the size it asked for; the op's name is what the user called.
      throw e instanceof AllocationError ? e.in(name) : e;
    }
    if (isAnomalyEnabled()) checkFinite(name, 'output', outArr);
    const out = new Tensor(outArr.data, outArr.shape, record);
    const trace = activeTracer();
    if (trace !== null) trace({ name, spec, inputs: inputs.slice(), attrs, output: out });
    if (record) {
      const node: GraphNode<Tensor> = { spec, ctx: ctx as OpContext<unknown>, inputs: inputs.slice(), versions: inputs.map((t) => t._version), attrs, released: false };
      out.gradFn = node;
    }
    return out;
  };
}
