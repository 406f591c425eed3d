import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    pool: 'forks',
    // Node 20 accepts relaxed-SIMD WebAssembly (f32x4.relaxed_madd) only behind this flag; with it
    // the suite runs the FMA kernels by default, and test/tensor/wasm-*.test.ts forces the plain
    // mul+add ones as well.
    execArgv: ['--experimental-wasm-relaxed-simd'],
  },
});
