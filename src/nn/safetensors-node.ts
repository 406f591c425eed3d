/** Safetensors files (Node only): atomic writes and reads around the byte format of safetensors.ts. */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Tensor } from '../autograd/index.js';
import type { NDArray } from '../tensor/index.js';
import { decodeSafetensorsAs, encodeSafetensorsAs, type SafetensorsContents, type SafetensorsMetadata } from './safetensors.js';

/** A sibling temp name: same directory, so the final rename stays on one filesystem and is atomic. */
function tempPath(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * Writes the state dict atomically: the bytes go to a temp file in the same directory, which is
 * flushed and then renamed over `file`. On any failure the temp file is removed and `file` is
 * left as it was.
 */
export async function saveSafetensors(file: string, dict: Record<string, NDArray>, metadata?: SafetensorsMetadata): Promise<void> {
  const bytes = encodeSafetensorsAs('saveSafetensors:', dict, metadata);
  const tmp = tempPath(file);
  try {
    const h = await fs.promises.open(tmp, 'wx');
    try {
      await h.writeFile(bytes);
      await h.sync();
    } finally {
      await h.close();
    }
    await fs.promises.rename(tmp, file);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
    throw new Error(`saveSafetensors: cannot write ${file}: ${(e as Error).message}`);
  }
}

/** Synchronous saveSafetensors, for scripts and exit handlers. */
export function saveSafetensorsSync(file: string, dict: Record<string, NDArray>, metadata?: SafetensorsMetadata): void {
  const bytes = encodeSafetensorsAs('saveSafetensors:', dict, metadata);
  const tmp = tempPath(file);
  try {
    const fd = fs.openSync(tmp, 'wx');
    try {
      fs.writeFileSync(fd, bytes);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new Error(`saveSafetensors: cannot write ${file}: ${(e as Error).message}`);
  }
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
