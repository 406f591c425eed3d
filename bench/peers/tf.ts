import { createRequire } from 'node:module';
import { dirname } from 'node:path';
// The union package, as TF.js users import it: its Node bundle registers the gradient rules
// (tfjs-core's own Node bundle has none) and the cpu backend on top of tfjs-core.
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import type { CrossData } from '../lib/data.js';
import { MMOE, type BenchMMoE, type MmoeData } from '../lib/mmoe.js';
import { PAPER, type PaperData } from '../lib/paper-mmoe.js';
import type { MMoE } from '../../src/models/index.js';

/*
 * The benchmark workloads written for TensorFlow.js the way a TF.js user would: the cross layer
 * from tf ops (TF.js has no fused one) with gradients from tf.grads, and the MMoE step with
 * tf.variableGrads / tf.train.adam. Tensors are created per backend and only ever used under it,
 * so no timed call pays for moving data between backends.
 */

export { tf };
export type TfBackend = 'cpu' | 'wasm';

/** Registers the wasm binaries from node_modules (the SIMD one is picked when Node supports SIMD). */
export async function initTf(): Promise<{ wasmSimd: boolean; wasmThreads: boolean }> {
  const require = createRequire(import.meta.url);
  const dir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm'));
  // A path prefix, not a URL: without platform fetch the emscripten loader reads the file from disk.
  setWasmPaths(`${dir}/`);
  if (!(await tf.setBackend('wasm'))) throw new Error('bench:peers: the tfjs wasm backend failed to initialise');
  const info = {
    wasmSimd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT'),
    wasmThreads: tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT'),
  };
  if (!(await tf.setBackend('cpu'))) throw new Error('bench:peers: the tfjs cpu backend failed to initialise');
  return info;
}

export interface TfCross {
  forward(): void;
  forwardBackward(): void;
  /** Output and gradients [x0, w_0..w_{L-1}, b_0..b_{L-1}], as plain arrays, for the check. */
  values(): { out: Float32Array; grads: Float32Array[] };
}

/** Call with `backend` active; the returned functions must run with it active too. */
export function tfCross(d: CrossData): TfCross {
  const { B, D, L } = d;
  const x0 = tf.tensor2d(d.x0, [B, D]);
  const ws = d.ws.map((w) => tf.tensor2d(w, [D, 1]));
  const bs = d.bs.map((b) => tf.tensor1d(b));
  const g = tf.tensor2d(d.g, [B, D]);
  const net = (...args: tf.Tensor[]): tf.Tensor => {
    const [x, ...p] = args;
    let xl = x;
    for (let l = 0; l < L; l++) xl = tf.add(tf.add(tf.mul(x, tf.matMul(xl, p[l])), p[L + l]), xl);
    return xl;
  };
  const gradFn = tf.grads(net);
  const inputs = [x0, ...ws, ...bs];
  return {
    forward: () => tf.tidy(() => void net(...inputs)),
    forwardBackward: () => tf.tidy(() => void gradFn(inputs, g)),
    values: () => tf.tidy(() => ({
      out: net(...inputs).dataSync() as Float32Array,
      grads: gradFn(inputs, g).map((t) => t.dataSync() as Float32Array),
    })),
  };
}

export interface TfMmoe {
  /** Variables in the order of BenchMMoE.namedParameters(). */
  vars: tf.Variable[];
  step(): void;
  /** Loss and gradients (same order as vars) without updating. */
  lossAndGrads(): { loss: number; grads: Float32Array[] };
}

// TF.js variable names are global, so each instance's variables get a fresh suffix.
let instances = 0;

/** The same network as BenchMMoE, starting from `model`'s current weights. */
export function tfMmoe(model: BenchMMoE, data: MmoeData): TfMmoe {
  const { batch, inputs, experts, expertUnits, tasks } = MMOE;
  const named = model.namedParameters();
  instances++;
  const vars = named.map(([name, p]) => tf.variable(tf.tensor(Float32Array.from(p.data), p.shape.slice()), true, `${name}#${instances}`));
  const byName = new Map(named.map(([name], i) => [name, vars[i]]));
  const param = (name: string): tf.Variable => {
    const v = byName.get(name);
    if (!v) throw new Error(`tfMmoe: no parameter ${name}`);
    return v;
  };
  // Linear as nn.Linear computes it: x·Wᵀ + b with W stored [out, in].
  const linear = (x: tf.Tensor, prefix: string): tf.Tensor =>
    tf.add(tf.matMul(x, param(`${prefix}.weight`), false, true), param(`${prefix}.bias`));
  const x = tf.tensor2d(data.x, [batch, inputs]);
  const ys = data.ys.map((y) => tf.tensor2d(y, [batch, 1]));
  const loss = (): tf.Scalar => {
    const e = tf.stack(Array.from({ length: experts }, (_, i) => tf.relu(linear(x, `experts.${i}`))), 1);
    const g = tf.stack(Array.from({ length: tasks }, (_, t) => tf.softmax(linear(x, `gates.${t}`), -1)), 1);
    const mixed = tf.matMul(g, e);
    let total: tf.Scalar | null = null;
    for (let t = 0; t < tasks; t++) {
      const z = tf.reshape(tf.slice(mixed, [0, t, 0], [batch, 1, expertUnits]), [batch, expertUnits]);
      const logit = linear(tf.relu(linear(z, `towers.${t}`)), `outs.${t}`);
      const l = tf.losses.sigmoidCrossEntropy(ys[t], logit) as tf.Scalar;
      total = total === null ? l : tf.add<tf.Scalar>(total, l);
    }
    return total!;
  };
  const opt = tf.train.adam(MMOE.lr, 0.9, 0.999, 1e-8);
  return {
    vars,
    step: () => tf.tidy(() => void opt.minimize(loss, false, vars)),
    lossAndGrads: () => tf.tidy(() => {
      const { value, grads } = tf.variableGrads(loss, vars);
      return {
        loss: value.dataSync()[0],
        grads: vars.map((v) => grads[v.name].dataSync() as Float32Array),
      };
    }),
  };
}

export interface TfPaperMmoe {
  vars: tf.Variable[];
  /** One Adam step on the next batch (cycling as OurPaperMmoe does). */
  step(): void;
  /** Loss and gradients (same order as vars) on batch `b`, without updating. */
  lossAndGrads(b: number): { loss: number; grads: Float32Array[] };
}

/**
 * The paper-size MMoE (bench/lib/paper-mmoe.ts) as a TF.js user writes it: 8 dense ReLU experts,
 * 2 softmax gates without bias, per-task tower → final layer without bias → bias, MSE summed
 * over tasks, tf.train.adam, the same batches in the same order, from `model`'s weights.
 */
export function tfPaperMmoe(model: MMoE, data: PaperData): TfPaperMmoe {
  const { batch, experts, expertUnits, tasks, lr } = PAPER;
  const named = model.namedParameters();
  instances++;
  const vars = named.map(([name, p]) => tf.variable(tf.tensor(Float32Array.from(p.data), p.shape.slice()), true, `${name}#${instances}`));
  const byName = new Map(named.map(([name], i) => [name, vars[i]]));
  const param = (name: string): tf.Variable => {
    const v = byName.get(name);
    if (!v) throw new Error(`tfPaperMmoe: no parameter ${name}`);
    return v;
  };
  const dense = (x: tf.Tensor, prefix: string, bias: boolean): tf.Tensor => {
    const y = tf.matMul(x, param(`${prefix}.weight`), false, true);
    return bias ? tf.add(y, param(`${prefix}.bias`)) : y;
  };
  const F = data.x.shape[1];
  const xs = data.batchRows.map((rows) => {
    const xb = new Float32Array(rows.length * F), yb = new Float32Array(rows.length * tasks);
    rows.forEach((r, i) => {
      xb.set(data.x.data.subarray(r * F, (r + 1) * F) as Float32Array, i * F);
      yb.set(data.y.subarray(r * tasks, (r + 1) * tasks), i * tasks);
    });
    return { x: tf.tensor2d(xb, [rows.length, F]), y: tf.tensor2d(yb, [rows.length, tasks]) };
  });
  const loss = (b: number) => (): tf.Scalar => {
    const { x, y } = xs[b];
    const e = tf.stack(Array.from({ length: experts }, (_, i) => tf.relu(dense(x, `expert_dnn.${i}.linears.0`, true))), 1);
    const g = tf.stack(Array.from({ length: tasks }, (_, t) => tf.softmax(dense(x, `gate_dnn_final_layer.${t}`, false), -1)), 1);
    const mixed = tf.matMul(g, e);
    const logits = tf.concat(Array.from({ length: tasks }, (_, t) => {
      const z = tf.reshape(tf.slice(mixed, [0, t, 0], [batch, 1, expertUnits]), [batch, expertUnits]);
      const tower = tf.relu(dense(z, `tower_dnn.${t}.linears.0`, true));
      return tf.add(dense(tower, `tower_dnn_final_layer.${t}`, false), param(`out.${t}.bias`));
    }), 1);
    return tf.div(tf.sum(tf.square(tf.sub(logits, y))), batch) as tf.Scalar;
  };
  const opt = tf.train.adam(lr, 0.9, 0.999, 1e-8);
  let k = 0;
  return {
    vars,
    step: () => tf.tidy(() => void opt.minimize(loss(k++ % xs.length), false, vars)),
    lossAndGrads: (b) => tf.tidy(() => {
      const { value, grads } = tf.variableGrads(loss(b), vars);
      return { loss: value.dataSync()[0], grads: vars.map((v) => grads[v.name].dataSync() as Float32Array) };
    }),
  };
}
