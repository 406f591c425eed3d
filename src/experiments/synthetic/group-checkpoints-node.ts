import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomicSync } from '../../io/atomic-write-node.js';
import type { GroupCheckpointStore } from './stacked.js';

/*
 * In-flight group checkpoints as files in one directory, one per group, named by a hash of the
 * group's key (the checkpoint holds the key itself, which runSyntheticGroup checks). Written
 * atomically, so a run killed mid-write leaves the previous checkpoint. Workers share the
 * directory, so a finished group removes only its own file; the directory goes at the run's end
 * (clearGroupCheckpoints), with whatever a different --stack or --runs left there.
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
    },
    where: file,
  };
}

/** Removes the checkpoint directory and all in it: call when every group of the run is recorded. */
export function clearGroupCheckpoints(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}
