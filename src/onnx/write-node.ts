import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
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
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
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
    throw new Error(`writeOnnx: could not write '${file}': ${(e as Error).message}`, { cause: e });
  }
  return bytes.length;
}
