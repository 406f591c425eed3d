import { describe, expect, it } from 'vitest';
import { randn, zeros } from '../../src/autograd/index.js';
import * as nn from '../../src/nn/index.js';
import { AllocationError, allocate, empty } from '../../src/tensor/index.js';

/* Sizes V8 refuses at once (beyond its typed-array length limit), so nothing is really allocated. */
describe('storage that cannot be allocated', () => {
  it('allocate and empty name the function, the size and the shape', () => {
    expect(() => allocate('float64', 1e12)).toThrow(/^allocate: cannot allocate 1000000000000 float64 elements \(7\.28 TiB\): /);
    expect(() => empty([1e6, 1e6])).toThrow(/^empty: cannot allocate 1000000000000 float32 elements for shape \[1000000, 1000000\] \(3\.64 TiB\): /);
  });
  it('creation functions and ops name themselves', () => {
    expect(() => zeros([1e6, 1e6])).toThrow(/^zeros: cannot allocate 1000000000000 float32 elements for shape \[1000000, 1000000\]/);
    expect(() => randn([1e7, 1e6])).toThrow(/^randn: cannot allocate 10000000000000 float32 elements for shape \[10000000, 1000000\]/);
    // The outer product of two long vectors.
    const e = (() => { try { randn([1e5, 1]).matmul(randn([1, 1e5])); } catch (x) { return x; } return null; })();
    expect(e).toBeInstanceOf(AllocationError);
    expect(e).toBeInstanceOf(RangeError);
    expect((e as Error).message).toMatch(/^matmul: cannot allocate 10000000000 float32 elements \(37\.3 GiB\)/);
  });
  it('a vocabulary of 1e9 names the layer and the table shape', () => {
    expect(() => new nn.Embedding(1e9, 8)).toThrow(/^Embedding: cannot allocate 8000000000 float32 elements for shape \[1000000000, 8\] \(29\.8 GiB\)/);
  });
});
