import { broadcastShapes, keptShape, sizeOf, type Shape } from '../../tensor/index.js';
import { setStackedHandler, type OpSpec } from '../function.js';
import type { Tensor } from '../tensor.js';
import { runLinearConcatKernel, runMatmulKernel } from './kernels.js';
import { loopOp, vmapOp, type Presentation } from './physical.js';
import { physicalTensor, stackedView } from './view.js';

/*
 * The batching rules: how each op runs when some input is stacked (R runs on a hidden leading
 * axis, physical [R, ...logical]). A rule either maps the op to its kernel on the physical arrays
 * (a Plan: inputs presented with axes shifted / ranks aligned, the output's logical shape), or
 * says 'loop' (the op once per run). The table is typed over every built-in op's name, so a new
 * op without a rule is a compile error; a user's op needs defineBatchRule. Which rule an op gets
 * is decided by bit-identity with a run trained alone: a plan only where each run's slice goes
 * through the same kernel with the same summation order (see physical.ts and kernels.ts).
 */

export interface RuleInput {
  runs: number;
  logical: readonly Shape[];
  stacked: readonly boolean[];
  attrs: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface Plan {
  /** Replaces the op's own kernel (for kernels that must know the run count). */
  kernel?: OpSpec<any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  kattrs: unknown;
  present: ReadonlyArray<Presentation | null>;
  out: Shape;
}

export type BatchRule = 'loop' | { refuse: string } | ((c: RuleInput) => Plan);

/** Every op the library defines with defineOp (test/autograd/stacked checks the list against src). */
export type BuiltinOpName =
  | 'add' | 'sub' | 'mul' | 'div' | 'neg' | 'exp' | 'log' | 'log1p' | 'sqrt' | 'abs' | 'tanh' | 'sigmoid' | 'relu'
  | 'leakyRelu' | 'clamp' | 'pow' | 'sum' | 'mean' | 'max' | 'softmax' | 'logSoftmax' | 'reshape' | 'permute'
  | 'expand' | 'concat' | 'slice' | 'indexSelect' | 'where' | 'cast' | 'clone' | 'matmul' | 'crossLayer'
  | 'crossNetVector' | 'linearConcat' | 'embedding' | 'embeddingBag' | 'l1Penalty' | 'l2Penalty' | 'bceWithLogits'
  | 'binaryCrossEntropy' | 'batchNorm';

const ones = (n: number): number[] => new Array<number>(Math.max(n, 0)).fill(1);

/** Elementwise on one input: the kernel runs on the physical array as it is. */
const elementwise = (c: RuleInput): Plan => ({ kattrs: c.attrs, present: [null], out: c.logical[0] });

/** Broadcasting ops: stacked operands get 1s between the run axis and their axes, so they align. */
function broadcasting(c: RuleInput): Plan {
  const out = c.logical.reduce((s, l) => broadcastShapes('stack', s, l), [] as number[]);
  const present = c.logical.map((l, i) => (c.stacked[i] ? { as: [c.runs, ...ones(out.length - l.length), ...l] } : null));
  return { kattrs: c.attrs, present, out };
}

/** Every input as [R, ...logical]: shared ones copied per run (their gradient sums over runs). */
const perRun = (c: RuleInput): Array<Presentation | null> =>
  c.logical.map((l, i) => (c.stacked[i] ? null : { to: [c.runs, ...l] }));

interface ReduceAttrs { axes: number[]; keepdim: boolean }

/*
 * A reduction over every axis sums in one float64 pass over the flat array (reduce's whole-array
 * path); the same axes shifted behind the run axis would sum axis by axis instead. So a full
 * reduction is presented as [R, N] and reduced over axis 1, which is that same flat pass per run.
 */
function reduction(c: RuleInput): Plan {
  const l = c.logical[0];
  const { axes, keepdim } = c.attrs as ReduceAttrs;
  const out = keepdim ? keptShape(l, axes) : l.filter((_, i) => !axes.includes(i));
  if (l.length > 0 && axes.length === l.length) {
    return { kattrs: { axes: [1], keepdim: false }, present: [{ as: [c.runs, sizeOf(l)] }], out };
  }
  return { kattrs: { axes: axes.map((a) => a + 1), keepdim }, present: [null], out };
}

const shiftAxis = (c: RuleInput): Plan => ({ kattrs: (c.attrs as number) + 1, present: [null], out: c.logical[0] });

function matmulPlan(c: RuleInput): Plan {
  const [la, lb] = c.logical;
  const { transA, transB } = c.attrs as { transA: boolean; transB: boolean };
  const R = c.runs;
  const batch = la.length === 3 ? la[0] : lb.length === 3 ? lb[0] : 0;
  const present = [la, lb].map((l, i): Presentation | null => {
    // Both 2-D: a stacked [R, ., .] is the batch as it is; a shared one is shared by every run.
    if (batch === 0) return null;
    if (l.length === 3) return c.stacked[i] ? { as: [R * batch, l[1], l[2]] } : { to: [R, ...l], as: [R * batch, l[1], l[2]] };
    // A 2-D operand against a batch: shared ones stay shared; a stacked one is repeated per batch.
    return c.stacked[i] ? { from: [R, 1, ...l], to: [R, batch, ...l], as: [R * batch, ...l] } : null;
  });
  const M = transA ? la[la.length - 1] : la[la.length - 2];
  const N = transB ? lb[lb.length - 2] : lb[lb.length - 1];
  return { kernel: runMatmulKernel, kattrs: { transA, transB, runs: R }, present, out: batch ? [batch, M, N] : [M, N] };
}

const RULES: Record<BuiltinOpName, BatchRule> = {
  add: broadcasting, sub: broadcasting, mul: broadcasting, div: broadcasting, where: broadcasting,
  neg: elementwise, exp: elementwise, log: elementwise, log1p: elementwise, sqrt: elementwise, abs: elementwise,
  tanh: elementwise, sigmoid: elementwise, relu: elementwise, leakyRelu: elementwise, clamp: elementwise,
  pow: elementwise, cast: elementwise, clone: elementwise,
  sum: reduction, mean: reduction, max: reduction,
  softmax: shiftAxis, logSoftmax: shiftAxis,
  reshape: (c) => ({ kattrs: [c.runs, ...(c.attrs as number[])], present: [null], out: c.attrs as number[] }),
  permute: (c) => ({ kattrs: [0, ...(c.attrs as number[]).map((p) => p + 1)], present: [null], out: (c.attrs as number[]).map((p) => c.logical[0][p]) }),
  expand: (c) => {
    const target = c.attrs as number[];
    const l = c.logical[0];
    return { kattrs: [c.runs, ...target], present: [{ as: [c.runs, ...ones(target.length - l.length), ...l] }], out: target };
  },
  concat: (c) => {
    const axis = c.attrs as number;
    const out = c.logical[0].slice();
    out[axis] = c.logical.reduce((s, l) => s + l[axis], 0);
    return { kattrs: axis + 1, present: perRun(c), out };
  },
  slice: (c) => {
    const [axis, start, length] = c.attrs as [number, number, number];
    const out = c.logical[0].slice();
    out[axis] = length;
    return { kattrs: [axis + 1, start, length], present: [null], out };
  },
  indexSelect: (c) => {
    const [axis, idx] = c.attrs as [number, ArrayLike<number>];
    const out = c.logical[0].slice();
    out[axis] = idx.length;
    return { kattrs: [axis + 1, idx], present: [null], out };
  },
  matmul: matmulPlan,
  linearConcat: (c) => {
    const { widths, bias } = c.attrs as { widths: readonly number[]; bias: boolean };
    const total = widths.reduce((s, w) => s + w, 0);
    return { kernel: runLinearConcatKernel, kattrs: { widths, bias, runs: c.runs }, present: perRun(c), out: [c.logical[0][0], total] };
  },
  crossLayer: 'loop', crossNetVector: 'loop', embedding: 'loop', embeddingBag: 'loop', l1Penalty: 'loop',
  l2Penalty: 'loop', bceWithLogits: 'loop', binaryCrossEntropy: 'loop',
  batchNorm: { refuse: 'its running statistics are buffers shared by the module, not per run' },
};

const custom = new Map<string, BatchRule>();

/** The names that have a built-in batching rule (for tests). */
export function builtinBatchRuleNames(): string[] {
  return Object.keys(RULES);
}

/**
 * Gives a user-defined op (by its defineOp name) a batching rule for stacked training: 'loop'
 * runs its forward and backward once per run, which is always exact.
 */
export function defineBatchRule(name: string, rule: 'loop'): void {
  if (typeof name !== 'string' || name === '') throw new TypeError('defineBatchRule: name must be an op name');
  if (rule !== 'loop') throw new RangeError(`defineBatchRule: the only rule for a user's op is 'loop', got ${String(rule)}`);
  if (Object.prototype.hasOwnProperty.call(RULES, name)) throw new Error(`defineBatchRule: '${name}' is a built-in op and has its rule`);
  custom.set(name, rule);
}

function runStacked(spec: OpSpec<any, any>, inputs: readonly Tensor[], attrs: unknown): Tensor { // eslint-disable-line @typescript-eslint/no-explicit-any
  const name = spec.name;
  let runs = -1;
  const phys: Tensor[] = [];
  const stacked: boolean[] = [];
  const logical: Shape[] = [];
  for (const t of inputs) {
    const p = physicalTensor(t);
    if (p !== undefined) {
      if (runs < 0) runs = p.shape[0];
      else if (p.shape[0] !== runs) throw new Error(`${name}: stacked inputs of ${runs} and ${p.shape[0]} runs`);
    }
    phys.push(p ?? t);
    stacked.push(p !== undefined);
    logical.push(t.shape);
  }
  const rule = (RULES as Record<string, BatchRule>)[name] ?? custom.get(name);
  if (rule === undefined) {
    throw new Error(`${name}: no batching rule for stacked (multi-run) inputs; give it one with defineBatchRule('${name}', 'loop')`);
  }
  if (typeof rule === 'object') throw new Error(`${name}: cannot run on stacked (multi-run) inputs: ${rule.refuse}`);
  let out: Tensor;
  if (rule === 'loop') {
    out = loopOp(spec)(phys, { spec, kattrs: attrs, runs, stacked, logical });
  } else {
    const plan = rule({ runs, logical, stacked, attrs });
    const kernel = plan.kernel ?? spec;
    out = vmapOp(kernel)(phys, { kernel, kattrs: plan.kattrs, runs, stacked, logical, present: plan.present, out: plan.out });
  }
  return stackedView(out);
}

setStackedHandler(runStacked);
