/** Safetensors files (Node only): atomic writes and reads around the byte format of safetensors.ts. */
import * as fs from 'node:fs';
import type { Tensor } from '../autograd/index.js';
import type { NDArray } from '../tensor/index.js';
import { writeFileAtomic, writeFileAtomicSync } from '../io/atomic-write-node.js';
import { decodeSafetensorsAs, encodeSafetensorsAs, type SafetensorsContents, type SafetensorsMetadata } from './safetensors.js';

/**
 * Writes the state dict atomically (atomic-write-node.ts): a reader sees the old file or the new
 * one, never half of one; on failure `file` is left as it was and no temp file stays behind.
 */
export async function saveSafetensors(file: string, dict: Record<string, NDArray>, metadata?: SafetensorsMetadata): Promise<void> {
  await writeFileAtomic('saveSafetensors', file, encodeSafetensorsAs('saveSafetensors:', dict, metadata));
}

/** Synchronous saveSafetensors, for scripts and exit handlers. */
export function saveSafetensorsSync(file: string, dict: Record<string, NDArray>, metadata?: SafetensorsMetadata): void {
  writeFileAtomicSync('saveSafetensors', file, encodeSafetensorsAs('saveSafetensors:', dict, metadata));
}

async function readFile(file: string): Promise<Uint8Array> {
  try {
    return await fs.promises.readFile(file);
  } catch (e) {
    throw new Error(`loadSafetensors: cannot read ${file}: ${(e as Error).message}`);
  }
}

function parseFile(file: string, bytes: Uint8Array): SafetensorsContents {
  return decodeSafetensorsAs(`loadSafetensors: ${file}:`, bytes);
}

/** Tensors and metadata from a safetensors file. */
export async function loadSafetensorsWithMetadata(file: string): Promise<SafetensorsContents> {
  return parseFile(file, await readFile(file));
}

/** Tensors from a safetensors file, ready for `module.loadStateDict`. */
export async function loadSafetensors(file: string): Promise<Record<string, Tensor>> {
  return (await loadSafetensorsWithMetadata(file)).tensors;
}

/** Synchronous loadSafetensors. */
export function loadSafetensorsSync(file: string): Record<string, Tensor> {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new Error(`loadSafetensors: cannot read ${file}: ${(e as Error).message}`);
  }
  return parseFile(file, bytes).tensors;
}
