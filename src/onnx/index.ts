export { exportOnnx, ONNX_OPSET, type ExportOnnxOptions } from './export.js';
