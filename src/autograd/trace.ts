import type { Tensor } from './tensor.js';
import type { OpSpec } from './graph.js';

/** One op application seen while tracing: the op (its name and spec), its tensor inputs, attributes and output. */
export interface TracedOp {
  readonly name: string;
  readonly spec: OpSpec<any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  readonly inputs: readonly Tensor[];
  readonly attrs: unknown;
  readonly output: Tensor;
}

/*
 * Why a hook in defineOp rather than a walk of the autograd graph: the graph holds only ops with
 * an input that requires grad, so a forward run under noGrad (or on constants) leaves none. Every
 * op, built-in or user-defined, already passes through defineOp with its name and attributes, so
 * one callback there sees a whole forward pass as the ops it ran — what an exporter (ONNX) needs.
 * When no trace is active the cost is one null check per op.
 */
let tracer: ((op: TracedOp) => void) | null = null;

/** The active trace callback, or null (read by defineOp on every op). */
export function activeTracer(): ((op: TracedOp) => void) | null {
  return tracer;
}

/**
 * Runs fn and returns what it returned together with every op it applied, in order (whether or not
 * grad recording is on). Traces do not nest: a trace inside a trace is an error.
 */
export function traceOps<T>(fn: () => T): { result: T; ops: TracedOp[] } {
  if (tracer !== null) throw new Error('traceOps: a trace is already running (traces do not nest)');
  const ops: TracedOp[] = [];
  tracer = (op) => { ops.push(op); };
  try {
    return { result: fn(), ops };
  } finally {
    tracer = null;
  }
}

/** Runs fn with the active trace (if any) paused: its ops are not recorded. */
export function untraced<T>(fn: () => T): T {
  const prev = tracer;
  tracer = null;
  try {
    return fn();
  } finally {
    tracer = prev;
  }
}
