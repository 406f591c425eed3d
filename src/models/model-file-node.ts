/** Model files (Node only): atomic writes and reads around the byte format of model-file.ts. */
import * as fs from 'node:fs';
import { writeFileAtomic } from '../io/atomic-write-node.js';
import type { MultiTaskBase } from './base.js';
import { decodeModelAs, encodeModelAs, type LoadedModel, type SerializeModelOptions } from './model-file.js';

/**
 * Writes the whole model (weights, architecture, options, feature columns, tasks and the optional
 * row encoding: see serializeModel) to `file` atomically: a reader sees the old file or the new one.
 */
export async function saveModel(file: string, model: MultiTaskBase, opts: SerializeModelOptions = {}): Promise<void> {
  if (typeof file !== 'string' || file === '') throw new TypeError('saveModel: file must be a non-empty path');
  await writeFileAtomic('saveModel', file, encodeModelAs(`saveModel: ${file}`, model, opts));
}

/** The model saved by saveModel (or `mmoe-ts train`), rebuilt with no options, in eval mode. */
export async function loadModel(file: string): Promise<LoadedModel> {
  if (typeof file !== 'string' || file === '') throw new TypeError('loadModel: file must be a non-empty path');
  let bytes: Uint8Array;
  try {
    bytes = await fs.promises.readFile(file);
  } catch (e) {
    throw new Error(`loadModel: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return decodeModelAs(`loadModel: ${file}`, bytes);
}
