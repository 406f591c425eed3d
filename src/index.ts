/** mmoe-ts: the public API. Re-exports only. */
export * from './autograd/index.js';
export { NDArray, Generator, manualSeed, defaultGenerator, type DType, type Storage, type Indices } from './tensor/index.js';
export { setBackend, getBackend, setNumThreads, getNumThreads, backendInfo, backendReady, type Backend, type BackendOptions, type BackendInfo } from './tensor/backend.js';
export * as nn from './nn/index.js';
export * as optim from './nn/optim/index.js';
export {
  saveSafetensors, loadSafetensors, saveSafetensorsSync, loadSafetensorsSync, serializeSafetensors, deserializeSafetensors,
} from './nn/safetensors.js';
export * from './models/index.js';
export * from './data/index.js';
export * from './train/index.js';
