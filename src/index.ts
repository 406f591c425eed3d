/** mmoe-ts: the public API. Re-exports only. */
export * from './autograd/index.js';
export { NDArray, Generator, manualSeed, defaultGenerator, type DType, type Storage, type Indices } from './tensor/index.js';
export * as nn from './nn/index.js';
