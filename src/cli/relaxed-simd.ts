import { setFlagsFromString } from 'node:v8';

/*
 * Node 20 validates relaxed-SIMD WebAssembly (f32x4.relaxed_madd, the GEMM's fused multiply-add)
 * only behind --experimental-wasm-relaxed-simd; Node 22's V8 has it on by default. The CLI turns
 * the flag on at startup — before any kernel is compiled, which happens lazily at the first
 * float32 product — so `mmoe-ts`, `npm run demo` and `npm run census` get the FMA kernels without
 * a flag on the command line. (V8 reads wasm feature flags when it validates a module, so setting
 * one after startup is honoured; the library itself never touches V8 flags: see README,
 * Performance.)
 */
if (Number(process.versions.node.split('.')[0]) < 22) setFlagsFromString('--experimental-wasm-relaxed-simd');
