import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomicSync } from '../../io/atomic-write-node.js';
import type { GroupCheckpointStore } from './stacked.js';

/*
 * In-flight group checkpoints as files in one directory, one per group, named by a hash of the
 * group's key (the checkpoint holds the key itself, which runSyntheticGroup checks). Written
 * atomically, so a run killed mid-write leaves the previous checkpoint; the directory goes when
 * its last group finishes.
 */
export function groupCheckpointDir(dir: string): GroupCheckpointStore {
  const file = (key: string): string => path.join(dir, `group-${createHash('sha256').update(key).digest('hex').slice(0, 24)}.safetensors`);
  return {
    load(key) {
      try {
        return fs.readFileSync(file(key));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw new Error(`synthetic group checkpoint: cannot read ${file(key)}: ${(e as Error).message}`, { cause: e });
      }
    },
    save(key, bytes) {
      fs.mkdirSync(dir, { recursive: true });
      writeFileAtomicSync('synthetic group checkpoint', file(key), bytes);
    },
    remove(key) {
      fs.rmSync(file(key), { force: true });
      try {
        fs.rmdirSync(dir);
      } catch {
        // Not empty (another worker's group is in flight) or already gone.
      }
    },
  };
}
