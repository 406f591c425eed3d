import { describe, expect, it } from 'vitest';
import { binaryRegressionData } from './helpers.js';
import type { Tensor } from '../../src/autograd/index.js';
import { DCN, MMoE, OMoE, PLE, SharedBottom, type MultiTaskModel } from '../../src/models/index.js';
import { stackModels, unstackModels, type StackedModules } from '../../src/nn/index.js';
import { Adagrad, AdamW, RMSprop, SGD } from '../../src/nn/optim/index.js';
import {
  decodeStackedCheckpoint, encodeStackedCheckpoint, fitStacked, type FitStackedOptions, type StackedCheckpoint,
} from '../../src/train/index.js';

/*
 * A stacked fit stopped at an epoch's end and resumed from its checkpoint (as bytes) ends with the
 * bits of the fit that never stopped: weights, optimizer state and histories.
 */

const F = 10;
const tasks = { inputDim: F, taskTypes: ['binary', 'regression'] as Array<'binary' | 'regression'> };
const build = (seed: number): MultiTaskModel => new MMoE({ ...tasks, seed, numExperts: 3, expertHiddenUnits: [16], towerHiddenUnits: [4] });
const seeds = [3, 4, 5];

const dataFor = (r: number, n = 50): { x: Tensor; y: Tensor } => binaryRegressionData(n, F, 40 + r);

const data = seeds.map((_, r) => dataFor(r));
const base = { epochs: 5, batchSize: 16, lr: 0.01, seeds: [70, 71, 72] };

function bitsOf(models: MultiTaskModel[]): number[][] {
  return models.map((m) => Object.values(m.stateDict()).flatMap((t) => Array.from(t.data)));
}

const withoutSeconds = (c: StackedCheckpoint['histories']): unknown => c.map((h) => h.map(({ epoch, logs }) => ({ epoch, logs })));

describe('fitStacked resumeFrom', () => {
  const architectures: Record<string, (seed: number) => MultiTaskModel> = {
    MMoE: build,
    OMoE: (seed) => new OMoE({ ...tasks, seed, numExperts: 2, expertHiddenUnits: [8], towerHiddenUnits: [4] }),
    SharedBottom: (seed) => new SharedBottom({ ...tasks, seed, bottomHiddenUnits: [8], towerHiddenUnits: [4] }),
    PLE: (seed) => new PLE({ ...tasks, seed, sharedExpertNum: 2, specificExpertNum: 1, expertHiddenUnits: [6], towerHiddenUnits: [3] }),
    DCN: (seed) => new DCN({ ...tasks, seed, crossNum: 2, dnnHiddenUnits: [8] }),
  };
  const optimizers: Record<string, (s: StackedModules<MultiTaskModel>) => FitStackedOptions['optimizer']> = {
    Adam: () => 'adam',
    AdamW: (s) => new AdamW(s.parameters(), { lr: 0.01, weightDecay: 0.1 }),
    'SGD (Nesterov, weight decay)': (s) => new SGD(s.parameters(), { lr: 0.001, momentum: 0.5, nesterov: true, weightDecay: 0.01 }),
    Adagrad: (s) => new Adagrad(s.parameters(), { lr: 0.05 }),
    'RMSprop (centered, momentum)': (s) => new RMSprop(s.parameters(), { lr: 0.005, momentum: 0.5, centered: true }),
  };
  const cases = Object.keys(architectures).flatMap((a) => Object.keys(optimizers).map((o) => [a, o]));

  it.each(cases)('%s with %s, resumed from an epoch-2 checkpoint, gives the uninterrupted bits', (arch, kind) => {
    const make = (): StackedModules<MultiTaskModel> => stackModels(seeds.map(architectures[arch]));
    const whole = make();
    let last: StackedCheckpoint | null = null;
    const hWhole = fitStacked(whole, data, { ...base, optimizer: optimizers[kind](whole), onEpochEnd: (_e, take) => { last = take(); } });
    const wholeBits = bitsOf(unstackModels(whole));

    const first = make();
    let saved: Uint8Array | null = null;
    const seen: number[] = [];
    fitStacked(first, data, { ...base, epochs: 2, optimizer: optimizers[kind](first), onEpochEnd: (e, take) => { seen.push(e); if (e === 2) saved = encodeStackedCheckpoint(take()); } });
    expect(seen).toEqual([1, 2]);
    const ckpt = decodeStackedCheckpoint(saved!);
    expect(ckpt.epoch).toBe(2);
    expect(ckpt.step).toBe(2 * Math.ceil(50 / 16));

    const resumed = stackModels(seeds.map((s) => architectures[arch](s + 100))); // other initial weights: the checkpoint's replace them
    let end: StackedCheckpoint | null = null;
    const hResumed = fitStacked(resumed, data, { ...base, optimizer: optimizers[kind](resumed), resumeFrom: saved!, onEpochEnd: (_e, take) => { end = take(); } });
    // The optimizer's state too (an uninterrupted fit and a resumed one would go on alike).
    expect(end!.optimizer).toEqual(last!.optimizer);
    expect(bitsOf(unstackModels(resumed))).toEqual(wholeBits);
    expect(hResumed.map((h) => h.epochs.map((e) => e.epoch))).toEqual(seeds.map(() => [1, 2, 3, 4, 5]));
    expect(withoutSeconds(hResumed.map((h) => h.epochs))).toEqual(withoutSeconds(hWhole.map((h) => h.epochs)));
    expect(last!.step).toBe(5 * Math.ceil(50 / 16));
  });

  it('keeps the caller\'s extra data, the shuffle states and the optimizer state through the bytes', () => {
    const s = stackModels(seeds.map(build));
    let c: StackedCheckpoint | null = null;
    fitStacked(s, data, { ...base, epochs: 1, onEpochEnd: (_e, take) => { c = take(); } });
    c!.extra = { curves: [[1.5, Infinity, NaN, -0]], note: 'x', none: null };
    const back = decodeStackedCheckpoint(encodeStackedCheckpoint(c!));
    expect(back.extra).toEqual({ curves: [[1.5, Infinity, NaN, -0]], note: 'x', none: null });
    expect(Object.is((back.extra as { curves: number[][] }).curves[0][3], -0)).toBe(true);
    expect(decodeStackedCheckpoint(encodeStackedCheckpoint({ ...c!, extra: null })).extra).toBeNull();
    expect('extra' in decodeStackedCheckpoint(encodeStackedCheckpoint({ ...c!, extra: undefined }))).toBe(false);
    expect(back.shuffle).toEqual(c!.shuffle);
    expect(Object.keys(back.model)).toEqual(Object.keys(c!.model));
    expect(back.optimizer).toEqual(c!.optimizer);
  });

  it('refuses a checkpoint of another stack, optimizer or length, naming resumeFrom', () => {
    const s = stackModels(seeds.map(build));
    let c: StackedCheckpoint | null = null;
    fitStacked(s, data, { ...base, epochs: 2, onEpochEnd: (_e, take) => { c = take(); } });
    const two = stackModels(seeds.slice(0, 2).map(build));
    expect(() => fitStacked(two, data.slice(0, 2), { ...base, seeds: [1, 2], resumeFrom: c! })).toThrow(/resumeFrom: the checkpoint holds 3 runs, this stack 2/);
    const sgd = stackModels(seeds.map(build));
    expect(() => fitStacked(sgd, data, { ...base, optimizer: 'sgd', resumeFrom: c! })).toThrow(/resumeFrom: the checkpoint holds Adam state, this fit's optimizer is SGD/);
    const short = stackModels(seeds.map(build));
    expect(() => fitStacked(short, data, { ...base, epochs: 1, resumeFrom: c! })).toThrow(/checkpoint is at epoch 2, past this fit's 1 epochs/);
    const other = stackModels(seeds.map((seed) => new SharedBottom({ inputDim: F, taskTypes: ['binary', 'regression'], seed, bottomHiddenUnits: [8], towerHiddenUnits: [4] })));
    expect(() => fitStacked(other, data, { ...base, resumeFrom: c! })).toThrow(/fitStacked: resumeFrom: the checkpoint does not fit this stack and optimizer: StackedModules.loadStateDict: unexpected key/);
    expect(() => fitStacked(other, data, { ...base, resumeFrom: { epoch: 1 } as unknown as StackedCheckpoint })).toThrow(/resumeFrom must be a stacked checkpoint/);
    expect(() => decodeStackedCheckpoint(new Uint8Array([1, 2, 3]))).toThrow(/decodeStackedCheckpoint/);
  });

  it('checkpoint() works only inside onEpochEnd; a bad checkpoint is refused before anything changes', () => {
    const s = stackModels(seeds.map(build));
    let later: (() => StackedCheckpoint) | null = null;
    let c: StackedCheckpoint | null = null;
    fitStacked(s, data, { ...base, epochs: 2, onEpochEnd: (e, take) => { if (e === 1) later = take; else c = take(); } });
    expect(() => later!()).toThrow(/^fitStacked: onEpochEnd's checkpoint\(\) was called after onEpochEnd returned \(epoch 1\)/);
    const fresh = () => stackModels(seeds.map(build));
    expect(() => fitStacked(fresh(), data, { ...base, resumeFrom: { ...c!, epoch: -1 } })).toThrow(/resumeFrom: the checkpoint's epoch -1 and step 8 must be ≥ 0/);
    expect(() => fitStacked(fresh(), data, { ...base, resumeFrom: { ...c!, shuffle: c!.shuffle.slice(1) } })).toThrow(/resumeFrom: the checkpoint holds 2 shuffle states and 3 histories for its 3 runs/);
    expect(() => fitStacked(fresh(), data, { ...base, resumeFrom: { ...c!, histories: c!.histories.map((h, r) => (r === 1 ? h.slice(1) : h)) } }))
      .toThrow(/resumeFrom: run 1's history has 1 epochs, the checkpoint is at epoch 2/);
    // The optimizer's state does not fit: the weights stay as they were.
    const target = fresh();
    const before = Object.values(target.stateDict()).map((t) => Array.from(t.data));
    const broken = structuredClone(c!.optimizer);
    const first = Object.values(broken.state)[0] as Record<string, unknown>;
    first.expAvg = [1, 2, 3];
    expect(() => fitStacked(target, data, { ...base, resumeFrom: { ...c!, optimizer: broken } })).toThrow(/resumeFrom: the checkpoint does not fit this stack and optimizer: Adam.loadStateDict/);
    expect(Object.values(target.stateDict()).map((t) => Array.from(t.data))).toEqual(before);
    expect(() => fitStacked(target, data, { ...base, resumeFrom: { ...c!, shuffle: c!.shuffle.map(() => [0, 0, 0, 0, null] as StackedCheckpoint['shuffle'][number]) } }))
      .toThrow(/resumeFrom: the checkpoint does not fit this stack and optimizer: Generator.setState/);
    expect(Object.values(target.stateDict()).map((t) => Array.from(t.data))).toEqual(before);
  });
});
