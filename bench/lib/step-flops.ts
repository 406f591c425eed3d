import { MMOE } from './mmoe.js';
import { PAPER } from './paper-mmoe.js';

/*
 * The arithmetic of a training step or a forward pass, for "% of the WASM SIMD peak": 2 flops per
 * multiply-add of every matrix product. A product [M, K]·[K, N] costs 2MKN forward; backward
 * costs 2MKN for the weight gradient and another 2MKN for the input gradient when its input needs
 * one (layers that read the data do not). Elementwise work (bias, ReLU, softmax, loss, Adam) is
 * left out: it is memory-bound and small next to the products, so this is the GEMM work the step
 * cannot avoid, and "% peak" is how close the whole step comes to doing only that at peak speed.
 */

export interface Product { m: number; k: number; n: number; inputGrad: boolean }

function mmoeProducts(B: number, d: number, E: number, H: number, T: number, towers: readonly number[]): Product[] {
  const p: Product[] = [
    { m: B, k: d, n: E * H, inputGrad: false }, // experts, one wide product
    { m: B, k: d, n: T * E, inputGrad: false }, // linear gates, one wide product
    { m: B * T, k: E, n: H, inputGrad: true }, // mixing: [B, T, E]·[B, E, H], both operands need gradients
  ];
  for (let t = 0; t < T; t++) {
    let inDim = H;
    for (const u of [...towers, 1]) { p.push({ m: B, k: inDim, n: u, inputGrad: true }); inDim = u; }
  }
  return p;
}

export const PAPER_PRODUCTS = mmoeProducts(PAPER.batch, PAPER.dim, PAPER.experts, PAPER.expertUnits, PAPER.tasks, [PAPER.towerUnits]);
export const BENCH_PRODUCTS = mmoeProducts(MMOE.batch, MMOE.inputs, MMOE.experts, MMOE.expertUnits, MMOE.tasks, [MMOE.towerUnits]);

/** Flops of forward + backward over these products. */
export function stepFlops(ps: readonly Product[]): number {
  return ps.reduce((s, p) => s + 2 * p.m * p.k * p.n * (p.inputGrad ? 3 : 2), 0);
}

/** Flops of the forward products for `rows` rows (products were listed for their own batch). */
export function forwardFlops(ps: readonly Product[], batch: number, rows: number): number {
  return (ps.reduce((s, p) => s + 2 * p.m * p.k * p.n, 0) * rows) / batch;
}
