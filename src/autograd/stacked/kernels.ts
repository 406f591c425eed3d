import { NDArray, addRowInPlace, allocateUninit, copyBlocks, matmulArray, reduce } from '../../tensor/index.js';
import type { OpSpec } from '../function.js';

/*
 * Kernels whose batched form must know the run count: the GEMM chooses WebAssembly or JavaScript
 * from the work of one product set, and a run alone makes that choice on its own work (matmul
 * accumulates in float32 on one, float64 on the other). With `runs`, matmulArray makes the lone
 * run's choice for every run of the stack.
 */

export interface RunMatmulAttrs {
  transA: boolean;
  transB: boolean;
  runs: number;
}

/** matmul over [R·b, ., .] operands (a 2-D operand shared), gradients as matmul's, per-run dispatch. */
export const runMatmulKernel: OpSpec<RunMatmulAttrs, undefined> = {
  name: 'matmul',
  forward: (_c, [a, b], { transA, transB, runs }) => matmulArray(a, b, { transA, transB, runs }, 'matmul'),
  backward: (c, g, [a, b], { transA, transB, runs }) => [
    c.needsInputGrad[0]
      ? transA
        ? matmulArray(b, g, { transA: transB, transB: true, runs })
        : matmulArray(g, b, { transA: false, transB: !transB, runs })
      : null,
    c.needsInputGrad[1]
      ? transB
        ? matmulArray(g, a, { transA: true, transB: transA, runs })
        : matmulArray(a, g, { transA: !transA, transB: false, runs })
      : null,
  ],
};

export interface RunLinearConcatAttrs {
  widths: readonly number[];
  bias: boolean;
  runs: number;
}

/**
 * linearConcat over stacked runs: x [R, B, F], weights [R, O_i, F], biases [R, O_i]. Each run's
 * weights are packed [ΣO, F] as linearConcat packs them, the products batched over R, the bias
 * added row by row, and backward's weight and bias gradients formed as linearConcat forms them
 * (one gᵀ·x product and a column sum per run), then split per layer.
 */
export const runLinearConcatKernel: OpSpec<RunLinearConcatAttrs, NDArray | null> = {
  name: 'linearConcat',
  forward: (c, inputs, { widths, bias, runs }) => {
    const n = widths.length;
    const x = inputs[0];
    const F = x.shape[2];
    let total = 0;
    for (const w of widths) total += w;
    const W = packRuns(inputs.slice(1, 1 + n), runs, total, F);
    const y = matmulArray(x, W, { transA: false, transB: true, runs }, 'linearConcat');
    if (bias) {
      // Each run's rows get its own bias row, by the kernel a run alone uses (linearConcat's).
      const yd = y.data;
      const b = packRuns(inputs.slice(1 + n), runs, total, 1).data;
      const perRun = yd.length / runs;
      for (let r = 0; r < runs; r++) {
        addRowInPlace(new NDArray(yd.subarray(r * perRun, (r + 1) * perRun), [perRun]), b.subarray(r * total, (r + 1) * total));
      }
    }
    c.saved = c.recording && c.needsInputGrad[0] ? W : null;
    return y;
  },
  backward: (c, g, inputs, { widths, bias, runs }) => {
    const n = widths.length;
    const x = inputs[0];
    const need = c.needsInputGrad;
    const out: Array<NDArray | null> = new Array<NDArray | null>(inputs.length).fill(null);
    if (need[0] && c.saved) out[0] = matmulArray(g, c.saved, { transA: false, transB: false, runs });
    if (need.slice(1, 1 + n).some(Boolean)) {
      const gw = matmulArray(g, x, { transA: true, transB: false, runs });
      unpackRuns(gw, inputs.slice(1, 1 + n), runs, need.slice(1, 1 + n)).forEach((v, i) => (out[1 + i] = v));
    }
    if (bias && need.slice(1 + n).some(Boolean)) {
      const gb = reduce('sum', g, 1);
      unpackRuns(gb, inputs.slice(1 + n), runs, need.slice(1 + n)).forEach((v, i) => (out[1 + n + i] = v));
    }
    return out;
  },
};

/** Parts [R, O_i, cols] packed per run into [R, ΣO, cols]. */
function packRuns(parts: readonly NDArray[], runs: number, rows: number, cols: number): NDArray {
  const w = allocateUninit(parts[0].dtype, runs * rows * cols);
  let off = 0;
  for (const p of parts) {
    const per = p.size / runs;
    copyBlocks(runs, per, p.data, 0, per, w, off, rows * cols);
    off += per;
  }
  return new NDArray(w, [runs, rows, cols]);
}

/** The inverse of packRuns: [R, ΣO, ...] back into one [R, O_i, ...] array per part (null where not needed). */
function unpackRuns(g: NDArray, parts: readonly NDArray[], runs: number, need: readonly boolean[]): Array<NDArray | null> {
  const perRun = g.size / runs;
  const out: Array<NDArray | null> = [];
  let off = 0;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    const per = p.size / runs;
    if (need[i]) {
      const d = allocateUninit(g.dtype, p.size);
      copyBlocks(runs, per, g.data, off, perRun, d, 0, per);
      out.push(new NDArray(d, p.shape));
    } else out.push(null);
    off += per;
  }
  return out;
}
