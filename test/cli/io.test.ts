import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeOutputs } from '../../src/cli/io.js';

describe('writeOutputs', () => {
  it('writes every file and leaves no temp file behind', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'mmoe-io-')), 'nested');
    const paths = writeOutputs(dir, { 'a.json': '{"x":1}\n', 'b.bin': new Uint8Array([1, 2, 3]) });
    expect(paths).toEqual([join(dir, 'a.json'), join(dir, 'b.bin')]);
    expect(readFileSync(join(dir, 'a.json'), 'utf8')).toBe('{"x":1}\n');
    expect([...readFileSync(join(dir, 'b.bin'))]).toEqual([1, 2, 3]);
    expect(readdirSync(dir).sort()).toEqual(['a.json', 'b.bin']);
  });

  it('a failed write removes its temp file and keeps what was there', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mmoe-io-'));
    mkdirSync(join(dir, 'model.safetensors')); // a directory where the file should go: rename fails
    expect(() => writeOutputs(dir, { 'model.safetensors': new Uint8Array(16) })).toThrow();
    expect(readdirSync(dir)).toEqual(['model.safetensors']);
  });
});
