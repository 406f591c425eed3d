import { describe, expect, it } from 'vitest';
import type { SyntheticExperimentOptions, SyntheticResult } from '../../../src/experiments/synthetic/experiment.js';
import { syntheticExperimentParallel } from '../../../src/experiments/synthetic/parallel.js';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { groupData, groupJobs, groupKey, runSyntheticGroup, type GroupCheckpointStore } from '../../../src/experiments/synthetic/stacked.js';
import { resolveSyntheticSettings, syntheticJobs } from '../../../src/experiments/synthetic/experiment.js';
import { clearGroupCheckpoints, groupCheckpointDir } from '../../../src/experiments/synthetic/group-checkpoints-node.js';
import { runGroupsHere } from '../../../src/experiments/synthetic/stacked.js';
import { decodeStackedCheckpoint, encodeStackedCheckpoint } from '../../../src/train/stacked-checkpoint.js';

// Three runs per cell so that a stack of 2 leaves a group of one (the unstacked path) too.
const tiny: SyntheticExperimentOptions = { runs: 3, epochs: 2, trainSize: 192, validationSize: 32, testSize: 64, batchSize: 64, correlations: [0.5, 1], seed: 5, logEvery: 2 };

function comparable(r: SyntheticResult) {
  return {
    runs: r.runs.map(({ seconds: _s, ...rest }) => rest),
    labelCorrelations: r.labelCorrelations,
    kept: r.mmoeModels.map((m) => Object.fromEntries(Object.entries(m.model.stateDict()).map(([k, t]) => [k, Array.from(t.data)]))),
  };
}

describe('synthetic experiment, stacked (--stack)', () => {
  it('groups runs of one model and rate, at most `stack` per group, across ρ, in order', () => {
    const s = resolveSyntheticSettings(tiny);
    const groups = groupJobs(syntheticJobs(s), 2);
    expect(groups.map((g) => g.map((j) => `${j.correlationIndex}/${j.model}/${j.run}`).join(' '))).toEqual([
      '0/mmoe/0 0/mmoe/1', '0/omoe/0 0/omoe/1', '0/shared-bottom/0 0/shared-bottom/1', '0/mmoe/2 1/mmoe/0', '0/omoe/2 1/omoe/0', '0/shared-bottom/2 1/shared-bottom/0',
      '1/mmoe/1 1/mmoe/2', '1/omoe/1 1/omoe/2', '1/shared-bottom/1 1/shared-bottom/2',
    ]);
    // The pilot: a group never mixes rates.
    const pilot = groupJobs(syntheticJobs(s, 'pilot', { mmoe: [1e-3, 1e-2] }).filter((j) => j.model === 'mmoe'), 8);
    expect(pilot.map((g) => [g.length, new Set(g.map((j) => j.lr)).size])).toEqual([[6, 1], [6, 1]]);
    expect(() => groupJobs([], 0)).toThrow(/^groupJobs: stack must be an integer ≥ 1, got 0/);
  });

  it('gives the same results table, bit for bit, with --stack 1, 2, 3 and 6 (across ρ), in this thread and on 2 workers', async () => {
    const one = comparable(await syntheticExperimentParallel(tiny, { workers: 1, stack: 1 }));
    expect(one.runs.length).toBe(18);
    expect(one.runs.every((r) => r.curve.length === 3 && Number.isFinite(r.finalLoss))).toBe(true);
    expect(comparable(await syntheticExperimentParallel(tiny, { workers: 1, stack: 3 }))).toEqual(one);
    expect(comparable(await syntheticExperimentParallel(tiny, { workers: 2, stack: 2 }))).toEqual(one);
    expect(comparable(await syntheticExperimentParallel(tiny, { workers: 1, stack: 6 }))).toEqual(one);
  });
});

function marked(bytes: Uint8Array): Uint8Array {
  const c = decodeStackedCheckpoint(bytes);
  (c.extra as { curves: number[][] }).curves[0][0] = 12345;
  return encodeStackedCheckpoint(c);
}

describe('synthetic groups checkpointed in flight', () => {
  const opts: SyntheticExperimentOptions = { ...tiny, epochs: 4, logEvery: 1 };
  const s = resolveSyntheticSettings(opts);
  const jobs = groupJobs(syntheticJobs(s), 3)[0];
  const plain = (out: ReturnType<typeof runSyntheticGroup>) => out.map(({ run: { seconds: _s, ...rest }, model }) => ({ rest, state: Object.values(model.stateDict()).map((t) => Array.from(t.data)) }));

  it('a group stopped after an epoch goes on from its checkpoint with the bits of one that never stopped, leaving the file to the caller', () => {
    const want = plain(runSyntheticGroup(s, jobs, groupData(s, jobs, new Map())));
    for (const stopAfter of [1, 2, 3]) {
      const files = new Map<string, Uint8Array>();
      let saves = 0;
      const store: GroupCheckpointStore = {
        load: (k) => files.get(k) ?? null,
        save: (k, b) => {
          files.set(k, b);
          if (++saves === stopAfter) throw new Error('stopped');
        },
        remove: (k) => void files.delete(k),
        where: (k) => `memory:${k.length}`,
      };
      expect(() => runSyntheticGroup(s, jobs, groupData(s, jobs, new Map()), store)).toThrow('stopped');
      expect([...files.keys()]).toEqual([groupKey(s, jobs)]);
      const got = runSyntheticGroup(s, jobs, groupData(s, jobs, new Map()), store);
      expect(plain(got)).toEqual(want);
      // The group leaves its checkpoint for the caller to remove once the results are recorded.
      expect(files.size).toBe(1);
      expect(saves).toBe(3); // epochs 1–3 (never after the last): the resumed group saved only the rest
    }
  });

  it('ignores a checkpoint saved under another key (another group or settings)', () => {
    const want = plain(runSyntheticGroup(s, jobs, groupData(s, jobs, new Map())));
    const other = groupJobs(syntheticJobs(s), 3)[1];
    let foreign: Uint8Array | null = null;
    const grab: GroupCheckpointStore = { load: () => null, save: (_k, b) => { foreign ??= b; }, remove: () => {}, where: () => '' };
    runSyntheticGroup(s, other, groupData(s, other, new Map()), grab);
    const store: GroupCheckpointStore = { load: () => foreign, save: () => {}, remove: () => {}, where: () => '' };
    expect(plain(runSyntheticGroup(s, jobs, groupData(s, jobs, new Map()), store))).toEqual(want);
  });

  it('on disk (groupCheckpointDir) through the parallel runner: the same table, each group\'s file removed once recorded', async () => {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mmoe-groups-')), 'results.jsonl.in-flight');
    const store = groupCheckpointDir(dir);
    expect(store.load('k')).toBeNull();
    store.save('k', new Uint8Array([1, 2]));
    expect(Array.from(store.load('k')!)).toEqual([1, 2]);
    store.remove('k');
    expect(store.load('k')).toBeNull();
    // Workers share the directory: removing a group's file leaves it (a worker may be about to write there).
    expect(fs.existsSync(dir)).toBe(true);
    clearGroupCheckpoints(dir);
    const one = comparable(await syntheticExperimentParallel(opts, { workers: 1, stack: 3 }));
    for (const workers of [1, 2]) {
      // A group stopped after epoch 2, its checkpoint marked (a logged loss changed) to show it is read.
      let n = 0;
      const stopping: GroupCheckpointStore = { ...store, save: (k, b) => { if (++n === 2) { store.save(k, marked(b)); throw new Error('stopped'); } } };
      expect(() => runSyntheticGroup(s, jobs, groupData(s, jobs, new Map()), stopping)).toThrow('stopped');
      expect(fs.readdirSync(dir)).toHaveLength(1);
      const got = comparable(await syntheticExperimentParallel(opts, { workers, stack: 3, checkpointDir: dir }));
      expect(got.runs[0].curve[0]).toBe(12345);
      got.runs[0].curve[0] = one.runs[0].curve[0];
      expect(got).toEqual(one);
      expect(fs.readdirSync(dir)).toEqual([]);
    }
  });

  it('keeps a group\'s checkpoint when its results could not be recorded, and names an unusable one', async () => {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mmoe-groups-')), 'in-flight');
    const store = groupCheckpointDir(dir);
    expect(() => runGroupsHere(s, [jobs], () => { throw new Error('disk full'); }, store)).toThrow('disk full');
    expect(fs.readdirSync(dir)).toHaveLength(1);
    const file = store.where(groupKey(s, jobs));
    fs.writeFileSync(file, new Uint8Array([9, 9, 9]));
    expect(() => runSyntheticGroup(s, jobs, groupData(s, jobs, new Map()), store))
      .toThrow(`runSyntheticGroup: the group's checkpoint ${file} cannot be used`);
    await expect(syntheticExperimentParallel(opts, { workers: 1, checkpointdir: dir } as never)).rejects.toThrow(/runSyntheticJobs: unknown option 'checkpointdir'/);
    clearGroupCheckpoints(dir);
    expect(fs.existsSync(dir)).toBe(false);
  });
});
