import { describe, expect, it } from 'vitest';
import { checkOptions, closestMatch, editDistance } from '../../src/validation/options.js';

describe('editDistance', () => {
  it('counts insertions, deletions, substitutions and adjacent swaps, ignoring case', () => {
    expect(editDistance('epoch', 'epochs')).toBe(1);
    expect(editDistance('epochs', 'epoch')).toBe(1);
    expect(editDistance('lr', 'rl')).toBe(1);
    expect(editDistance('batchsize', 'batchSize')).toBe(0);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('abc', '')).toBe(3);
  });
});

describe('closestMatch', () => {
  it('suggests a near name and nothing for an unrelated one', () => {
    expect(closestMatch('epoch', ['epochs', 'batchSize', 'lr'])).toBe('epochs');
    expect(closestMatch('numExpert', ['numExperts', 'numTasks'])).toBe('numExperts');
    expect(closestMatch('towerHiddenUnit', ['towerHiddenUnits', 'expertHiddenUnits'])).toBe('towerHiddenUnits');
    expect(closestMatch('batch_size', ['batchSize', 'epochs'])).toBe('batchSize');
    expect(closestMatch('x', ['lr', 'seed'])).toBeUndefined();
    expect(closestMatch('optimiser', ['optimizer'])).toBe('optimizer');
    expect(closestMatch('zzzzzz', ['epochs'])).toBeUndefined();
  });
});

describe('checkOptions', () => {
  const allowed = ['epochs', 'batchSize', 'lr'];
  it('accepts undefined, an empty object and known keys', () => {
    expect(() => checkOptions('fit', undefined, allowed)).not.toThrow();
    expect(() => checkOptions('fit', {}, allowed)).not.toThrow();
    expect(() => checkOptions('fit', { epochs: 2, lr: undefined }, allowed)).not.toThrow();
  });
  it('names the function, the key, a did-you-mean and the allowed keys', () => {
    expect(() => checkOptions('fit', { epoch: 3 }, allowed))
      .toThrow(new TypeError("fit: unknown option 'epoch' (did you mean 'epochs'?); allowed: epochs, batchSize, lr"));
  });
  it('leaves the hint out when nothing is close', () => {
    expect(() => checkOptions('fit', { colour: 'red' }, allowed))
      .toThrow(new TypeError("fit: unknown option 'colour'; allowed: epochs, batchSize, lr"));
  });
  it('checks a key whose value is undefined too', () => {
    expect(() => checkOptions('fit', { epoch: undefined }, allowed)).toThrow("unknown option 'epoch'");
  });
  it('rejects options that are not an object', () => {
    expect(() => checkOptions('fit', 3, allowed)).toThrow(new TypeError('fit: options must be an object, got number'));
    expect(() => checkOptions('fit', null, allowed)).toThrow(new TypeError('fit: options must be an object, got null'));
    expect(() => checkOptions('fit', [1], allowed)).toThrow(new TypeError('fit: options must be an object, got an array'));
  });
});
