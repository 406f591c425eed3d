import { concat, linearConcat, stack, type Tensor } from '../autograd/index.js';
import { Identity, LeakyReLU, ReLU, Sigmoid, Tanh } from './activation.js';
import type { DNN } from './dnn.js';
import type { Linear } from './linear.js';
import type { Layer } from './module.js';

/*
 * Several DNNs (or Linear layers) of one architecture over the same input, as MMoE's experts and
 * gates are: their first Linear runs as one wide product [B, F]·[F, n·H] (one GEMM instead of n
 * narrow ones, and one bias add, one activation over the whole width), and their parameters stay
 * where they are, so module names, state-dict keys and checkpoints do not change.
 */

/** x [B, F] through each Linear, outputs side by side: [B, Σ out]; one product when they can share it. */
export function concatLinears(x: Tensor, linears: readonly Linear[]): Tensor {
  const withBias = linears.every((l) => l.bias !== null);
  if (!withBias && !linears.every((l) => l.bias === null)) return concat(linears.map((l) => l.forward(x)), -1);
  return linearConcat(x, linears.map((l) => l.weight), withBias ? linears.map((l) => l.bias as Tensor) : null);
}

/** Activations that act elementwise the same way on every layer of their class, with no state. */
function sharedPointwise(layers: readonly Layer[]): boolean {
  const proto = Object.getPrototypeOf(layers[0]) as object;
  const known: readonly object[] = [ReLU.prototype, Sigmoid.prototype, Tanh.prototype, Identity.prototype, LeakyReLU.prototype];
  if (!known.includes(proto)) return false;
  for (const l of layers) {
    if (Object.getPrototypeOf(l) !== proto || !l.isStateless()) return false;
    if (l instanceof LeakyReLU && l.negativeSlope !== (layers[0] as LeakyReLU).negativeSlope) return false;
  }
  return true;
}

function sameArchitecture(dnns: readonly DNN[]): boolean {
  const a = dnns[0];
  return dnns.every((d) => d.inputsDim === a.inputsDim && d.hiddenUnits.length === a.hiddenUnits.length
    && d.hiddenUnits.every((u, i) => u === a.hiddenUnits[i]) && d.linears.get(0).weight.dtype === a.linears.get(0).weight.dtype);
}

/**
 * stack(dnns.map((d) => d.forward(x)), 1): [B, n, H] for x [B, F] and n DNNs of the same widths.
 * The first layers run as one product; when the first layer's activation is the same stateless
 * function for all and nothing per-DNN follows it (no BatchNorm, no active dropout), it is applied
 * once over the whole width, and one-layer DNNs need no stack at all (the wide output already is
 * [B, n·H] = [B, n, H]). Otherwise each DNN continues from its own slice of the wide output, with
 * its own BatchNorm statistics and dropout masks, exactly as its forward would. Results equal the
 * per-DNN forward; DNNs of different widths, one DNN, or inputs other than [B, F] take that path.
 */
export function forwardStacked(dnns: readonly DNN[], x: Tensor): Tensor {
  if (dnns.length === 0) throw new RangeError('forwardStacked: needs at least one DNN');
  if (dnns.length === 1 || x.ndim !== 2 || !sameArchitecture(dnns)) return stack(dnns.map((d) => d.forward(x)), 1);
  const first = dnns[0];
  if (x.shape[1] !== first.inputsDim) {
    throw new Error(`DNN: expected input [B, ${first.inputsDim}], got [${x.shape.join(',')}]`);
  }
  const B = x.shape[0];
  const n = dnns.length;
  const H0 = first.hiddenUnits[0];
  const wide = concatLinears(x, dnns.map((d) => d.linears.get(0)));
  const acts = dnns.map((d) => d.activation_layers.get(0));
  const pointwise = dnns.every((d) => d.bn === null && (!d.dropout.training || d.dropout.p === 0)) && sharedPointwise(acts);
  if (pointwise) {
    const h = acts[0].forward(wide).reshape([B, n, H0]);
    if (first.linears.length === 1) return h;
    return stack(dnns.map((d, e) => d.forwardAfterLinear(d.linears.get(1).forward(h.narrow(1, e, 1).reshape([B, H0])), 1)), 1);
  }
  return stack(dnns.map((d, e) => d.forwardAfterLinear(wide.narrow(1, e * H0, H0), 0)), 1);
}
