import { NDArray, RowSparse, allocate, expandArray, formatShape, sizeOf, sumToShape, type Shape } from '../../tensor/index.js';
import { defineOp, type Op, type OpContext, type OpSpec } from '../function.js';

/*
 * The two physical forms a batching rule maps an op to. Both are ordinary ops (defineOp), named
 * after the op they batch, so the autograd records one physical node per logical op: the graph,
 * its topological order and therefore the order gradients accumulate in are the same as in a
 * run trained alone.
 *
 * - vmapOp: the op's own kernel (or a per-run-aware replacement) on the physical [R, ...] arrays,
 *   each input presented in a shape the kernel batches over (axes shifted, ranks aligned for
 *   broadcasting, the run axis folded into a batch axis). A gradient the engine would sum back
 *   to an input's shape is summed here run by run with the very call a lone run's engine makes
 *   (sumToShape on that run's slice), so the summation order is the lone run's.
 * - loopOp: the op's forward and backward once per run on that run's slices (JAX's fallback):
 *   trivially the lone run's arithmetic; for fused ops (cross layers, losses, lookups).
 */

/** How an input is handed to the kernel: viewed as `from`, broadcast (copied) to `to`, viewed as `as`. */
export interface Presentation {
  from?: Shape;
  to?: Shape;
  as?: Shape;
}

export interface VmapAttrs {
  kernel: OpSpec<unknown, unknown>;
  kattrs: unknown;
  runs: number;
  /** Per input: stacked (its physical tensor is [R, ...logical]) or shared by every run. */
  stacked: readonly boolean[];
  logical: ReadonlyArray<Shape>;
  present: ReadonlyArray<Presentation | null>;
  /** The logical output shape (the physical one is [R, ...out]). */
  out: Shape;
}

interface VmapSaved {
  inner: OpContext<unknown>;
  /** The kernel's own output shape (the run axis may be folded into a batch axis there). */
  shape: Shape;
}

function present(x: NDArray, p: Presentation | null): NDArray {
  if (p === null) return x;
  let v = p.from ? new NDArray(x.data, p.from) : x;
  if (p.to) v = expandArray(v, p.to);
  return p.as ? new NDArray(v.data, p.as) : v;
}

/** The per-run shape of a gradient whose leading axis is R runs (or R·b, runs folded into a batch). */
function perRunShape(g: NDArray, runs: number): number[] {
  const lead = g.shape[0];
  return lead === runs ? g.shape.slice(1) : [lead / runs, ...g.shape.slice(1)];
}

/** A kernel's gradient for input i reduced to that input's physical shape, run by run. */
function reduceGrad(g: NDArray, i: number, a: VmapAttrs): NDArray {
  const R = a.runs;
  const logical = a.logical[i];
  const n = sizeOf(logical);
  if (!a.stacked[i]) {
    if (g.ndim === 0 || g.shape[0] % R !== 0) return sumToShape(g, logical);
    return sumToShape(new NDArray(g.data, [R, ...perRunShape(g, R)]), logical);
  }
  if (g.size === R * n) return new NDArray(g.data, [R, ...logical]);
  const per = perRunShape(g, R);
  const m = sizeOf(per);
  const out = allocate(g.dtype, R * n);
  for (let r = 0; r < R; r++) {
    const red = sumToShape(new NDArray(g.data.subarray(r * m, (r + 1) * m), per), logical);
    out.set(red.data, r * n);
  }
  return new NDArray(out, [R, ...logical]);
}

const vmapOps = new Map<OpSpec<unknown, unknown>, Op<VmapAttrs>>();

/** The physical op running `kernel` over stacked inputs (one per kernel, named after it). */
export function vmapOp(kernel: OpSpec<unknown, unknown>): Op<VmapAttrs> {
  let op = vmapOps.get(kernel);
  if (op === undefined) {
    op = defineOp<VmapAttrs, VmapSaved>({
      name: kernel.name,
      forward: (c, xs, a) => {
        const inner: OpContext<unknown> = { opName: kernel.name, needsInputGrad: c.needsInputGrad, recording: c.recording, saved: undefined };
        const y = a.kernel.forward(inner, xs.map((x, i) => present(x, a.present[i])), a.kattrs);
        c.saved = { inner, shape: y.shape };
        return new NDArray(y.data, [a.runs, ...a.out]);
      },
      backward: (c, g, xs, a) => {
        const views = xs.map((x, i) => present(x, a.present[i]));
        const kg = new NDArray(g.data, c.saved.shape);
        const grads = a.kernel.backward(c.saved.inner, kg, views, a.kattrs);
        return xs.map((_, i) => {
          const gi = grads[i];
          // A row-sparse gradient (a sparse embedding) is densified: runs are stacked dense.
          return c.needsInputGrad[i] && gi ? reduceGrad(gi instanceof RowSparse ? gi.toDense() : gi, i, a) : null;
        });
      },
    });
    vmapOps.set(kernel, op);
  }
  return op;
}

export interface LoopAttrs {
  spec: OpSpec<unknown, unknown>;
  kattrs: unknown;
  runs: number;
  stacked: readonly boolean[];
  logical: ReadonlyArray<Shape>;
}

interface LoopSaved {
  ctxs: Array<OpContext<unknown>>;
  out: Shape;
}

function runSlice(x: NDArray, r: number, logical: Shape): NDArray {
  const n = sizeOf(logical);
  return new NDArray(x.data.subarray(r * n, (r + 1) * n), logical);
}

const loopOps = new Map<OpSpec<unknown, unknown>, Op<LoopAttrs>>();

/** The physical op running `spec` once per run (one per spec, named after it). */
export function loopOp(spec: OpSpec<unknown, unknown>): Op<LoopAttrs> {
  let op = loopOps.get(spec);
  if (op === undefined) {
    op = defineOp<LoopAttrs, LoopSaved>({
      name: spec.name,
      forward: (c, xs, a) => {
        const ctxs: Array<OpContext<unknown>> = [];
        let out: NDArray | null = null;
        let shape: Shape = [];
        for (let r = 0; r < a.runs; r++) {
          const ctx: OpContext<unknown> = { opName: spec.name, needsInputGrad: c.needsInputGrad, recording: c.recording, saved: undefined };
          const y = spec.forward(ctx, xs.map((x, i) => (a.stacked[i] ? runSlice(x, r, a.logical[i]) : x)), a.kattrs);
          if (out === null) {
            shape = y.shape;
            out = new NDArray(allocate(y.dtype, a.runs * y.size), [a.runs, ...y.shape]);
          } else if (formatShape(y.shape) !== formatShape(shape)) {
            throw new Error(`${spec.name}: stacked runs produced different shapes ${formatShape(shape)} and ${formatShape(y.shape)}`);
          }
          out.data.set(y.data, r * y.size);
          ctxs.push(ctx);
        }
        c.saved = { ctxs, out: shape };
        return out!;
      },
      backward: (c, g, xs, a) => {
        const { ctxs, out } = c.saved;
        const grads: Array<NDArray | null> = xs.map((x, i) => (c.needsInputGrad[i] ? new NDArray(allocate(g.dtype, x.size), x.shape) : null));
        for (let r = 0; r < a.runs; r++) {
          const ins = xs.map((x, i) => (a.stacked[i] ? runSlice(x, r, a.logical[i]) : x));
          const gr = spec.backward(ctxs[r], runSlice(g, r, out), ins, a.kattrs);
          for (let i = 0; i < xs.length; i++) {
            const gi = gr[i];
            const dst = grads[i];
            if (!gi || dst === null) continue;
            // The reduction a lone run's engine makes, on this run's gradient alone.
            const red = sumToShape(gi instanceof RowSparse ? gi.toDense() : gi, a.logical[i]).data;
            if (a.stacked[i]) dst.data.set(red, r * red.length);
            else for (let k = 0; k < red.length; k++) dst.data[k] += red[k];
          }
        }
        return grads;
      },
    });
    loopOps.set(spec, op);
  }
  return op;
}
