/** mmoe-ts: the public API. Re-exports only. */
export * from './autograd/index.js';
export { NDArray, RowSparse, Generator, manualSeed, defaultGenerator, AllocationError, type DType, type Storage, type Indices } from './tensor/index.js';
export { setBackend, getBackend, setNumThreads, getNumThreads, backendInfo, backendReady, type Backend, type BackendOptions, type BackendInfo } from './tensor/backend.js';
export { storageStats } from './tensor/storage.js';
export * as nn from './nn/index.js';
export { stackModels, unstackModels, stackTensors, runSlice, StackedModules } from './nn/stacked.js';
export * as optim from './nn/optim/index.js';
// Bytes only: the file forms (saveSafetensors, loadSafetensors, readCsv, loadCensusIncome) are in mmoe-ts/node (src/node.ts).
export { serializeSafetensors, deserializeSafetensors, deserializeSafetensorsWithMetadata, FormatError } from './nn/safetensors.js';
export { setSavedDType, savedDType, type SavedDType } from './nn/saved-dtype.js';
export * from './models/index.js';
export * from './data/index.js';
export * from './train/index.js';
export * from './onnx/index.js';
