import { describe, expect, it } from 'vitest';
import { Tensor, randn } from '../../src/autograd/index.js';
import { MMoE, SharedBottom, type MultiTaskModel } from '../../src/models/index.js';
import { stackModels, unstackModels, type StackedModules } from '../../src/nn/index.js';
import { SGD } from '../../src/nn/optim/index.js';
import { Generator } from '../../src/tensor/index.js';
import {
  decodeStackedCheckpoint, encodeStackedCheckpoint, fitStacked, type FitStackedOptions, type StackedCheckpoint,
} from '../../src/train/index.js';

/*
 * A stacked fit stopped at an epoch's end and resumed from its checkpoint (as bytes) ends with the
 * bits of the fit that never stopped: weights, optimizer state and histories.
 */

const F = 10;
const build = (seed: number): MultiTaskModel => new MMoE({
  inputDim: F, taskTypes: ['binary', 'regression'], seed, numExperts: 3, expertHiddenUnits: [16], towerHiddenUnits: [4],
});
const seeds = [3, 4, 5];

function dataFor(r: number, n = 50): { x: Tensor; y: Tensor } {
  const g = new Generator(40 + r);
  const x = randn([n, F], { generator: g });
  const y = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    y[2 * i] = g.random() < 0.5 ? 1 : 0;
    y[2 * i + 1] = g.random() * 2 - 1;
  }
  return { x, y: new Tensor(y, [n, 2]) };
}

const data = seeds.map((_, r) => dataFor(r));
const base = { epochs: 5, batchSize: 16, lr: 0.01, seeds: [70, 71, 72] };

function bitsOf(models: MultiTaskModel[]): number[][] {
  return models.map((m) => Object.values(m.stateDict()).flatMap((t) => Array.from(t.data)));
}

const withoutSeconds = (c: StackedCheckpoint['histories']): unknown => c.map((h) => h.map(({ epoch, logs }) => ({ epoch, logs })));

describe('fitStacked resumeFrom', () => {
  it.each(['adam', 'sgd-momentum'])('resumed from an epoch-2 checkpoint gives the uninterrupted bits (%s)', (kind) => {
    const optimizer = (s: StackedModules<MultiTaskModel>): FitStackedOptions['optimizer'] =>
      kind === 'adam' ? 'adam' : new SGD(s.parameters(), { lr: 0.05, momentum: 0.9 });
    const whole = stackModels(seeds.map(build));
    let last: StackedCheckpoint | null = null;
    const hWhole = fitStacked(whole, data, { ...base, optimizer: optimizer(whole), onEpochEnd: (_e, take) => { last = take(); } });
    const wholeBits = bitsOf(unstackModels(whole));

    const first = stackModels(seeds.map(build));
    let saved: Uint8Array | null = null;
    const seen: number[] = [];
    fitStacked(first, data, { ...base, epochs: 2, optimizer: optimizer(first), onEpochEnd: (e, take) => { seen.push(e); if (e === 2) saved = encodeStackedCheckpoint(take()); } });
    expect(seen).toEqual([1, 2]);
    const ckpt = decodeStackedCheckpoint(saved!);
    expect(ckpt.epoch).toBe(2);
    expect(ckpt.step).toBe(2 * Math.ceil(50 / 16));

    const resumed = stackModels(seeds.map((s) => build(s + 100))); // other initial weights: the checkpoint's replace them
    const hResumed = fitStacked(resumed, data, { ...base, optimizer: optimizer(resumed), resumeFrom: saved! });
    expect(bitsOf(unstackModels(resumed))).toEqual(wholeBits);
    expect(hResumed.map((h) => h.epochs.map((e) => e.epoch))).toEqual(seeds.map(() => [1, 2, 3, 4, 5]));
    expect(withoutSeconds(hResumed.map((h) => h.epochs))).toEqual(withoutSeconds(hWhole.map((h) => h.epochs)));
    expect(last!.step).toBe(5 * Math.ceil(50 / 16));
  });

  it('keeps the caller\'s extra data, the shuffle states and the optimizer state through the bytes', () => {
    const s = stackModels(seeds.map(build));
    let c: StackedCheckpoint | null = null;
    fitStacked(s, data, { ...base, epochs: 1, onEpochEnd: (_e, take) => { c = take(); } });
    c!.extra = { curves: [[1.5, Infinity]], note: 'x' };
    const back = decodeStackedCheckpoint(encodeStackedCheckpoint(c!));
    expect(back.extra).toEqual({ curves: [[1.5, Infinity]], note: 'x' });
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
});
