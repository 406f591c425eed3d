/** The element types the engine stores. float64 exists for gradient checks and reference math. */
export type DType = 'float32' | 'float64';
export type Storage = Float32Array | Float64Array;

export function allocate(dtype: DType, size: number): Storage {
  return dtype === 'float64' ? new Float64Array(size) : new Float32Array(size);
}

export function dtypeOf(data: Storage): DType {
  return data instanceof Float64Array ? 'float64' : 'float32';
}

export function isStorage(x: unknown): x is Storage {
  return x instanceof Float32Array || x instanceof Float64Array;
}
