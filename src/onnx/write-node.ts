import { writeFileAtomic } from '../io/atomic-write-node.js';
import type { MultiTaskBase } from '../models/base.js';
import { exportOnnx, type ExportOnnxOptions } from './export.js';

/*
 * Node only (file I/O): kept out of the package root, which must bundle for a browser. The
 * exporter itself returns bytes and runs anywhere.
 */

/**
 * Exports `model` (see exportOnnx) and writes it to `file` atomically: the bytes go to a temp file
 * in the same directory, which is flushed and renamed over `file`, so a reader never sees a
 * half-written model; on failure the temp file is removed and `file` is left as it was.
 * Returns the number of bytes written.
 */
export async function writeOnnx(file: string, model: MultiTaskBase, options: ExportOnnxOptions = {}): Promise<number> {
  if (typeof file !== 'string' || file === '') throw new TypeError('writeOnnx: file must be a non-empty path');
  const bytes = exportOnnx(model, options);
  await writeFileAtomic('writeOnnx', file, bytes);
  return bytes.length;
}
