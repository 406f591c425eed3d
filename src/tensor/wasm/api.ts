/*
 * The slice of the WebAssembly JavaScript API the backend uses, typed here: the project compiles
 * against ES2022 without the DOM library (which is where TypeScript declares `WebAssembly`), and
 * the published .d.ts files must not need it either.
 */

export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(pages: number): number;
}

export interface WasmModule {
  readonly __brand?: 'WebAssembly.Module';
}

export interface WasmInstance {
  readonly exports: Record<string, unknown>;
}

export interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  compile(bytes: Uint8Array): Promise<WasmModule>;
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: Record<string, Record<string, unknown>>) => WasmInstance;
}

/** The host's WebAssembly object, or undefined where there is none. */
export function wasmApi(): WasmApi | undefined {
  const wa = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  return typeof wa === 'object' && wa !== null && typeof wa.validate === 'function' ? wa : undefined;
}
