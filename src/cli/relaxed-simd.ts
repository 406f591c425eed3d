import { enableRelaxedSimd } from '../tensor/relaxed-simd-node.js';

/*
 * The CLI turns relaxed SIMD on at startup — before any kernel is compiled — so that `npm run demo`
 * and `npm run census` (tsx, without the bin's re-run under the flag) get the FMA kernels too.
 * A no-op where the runtime already accepts relaxed SIMD (Node 22, or the bin's re-run).
 */
enableRelaxedSimd();
