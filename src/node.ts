/**
 * mmoe-ts/node: everything of the package root plus what needs Node (files, gzip). The root
 * itself imports no Node built-in and never touches `process`, so it bundles for browsers.
 */
export * from './index.js';
export { saveSafetensors, loadSafetensors, saveSafetensorsSync, loadSafetensorsSync, loadSafetensorsWithMetadata } from './nn/safetensors-node.js';
export { readCsv, readCsvChunks } from './data/csv-node.js';
export { loadCensusIncome, readCensusColumns, defaultCensusPath, packageRoot } from './data/census-node.js';
export { writeOnnx } from './onnx/write-node.js';
export { ModelCheckpoint, saveCheckpoint, loadCheckpoint, type ModelCheckpointOptions } from './train/checkpoint-node.js';
export { saveModel, loadModel } from './models/model-file-node.js';
export { enableRelaxedSimd } from './tensor/relaxed-simd-node.js';
