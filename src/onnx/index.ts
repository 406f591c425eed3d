export { exportOnnx, ONNX_OPSET, type ExportOnnxOptions } from './export.js';
export { OnnxExportError } from './lower.js';
export { ONNX_ML_OPSET } from './input-layer.js';
