import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

/*
 * Which CPU the numbers come from, by lscpu's "Model name" (os.cpus() can say less inside a VM),
 * and whether it has the vector extensions native peers use (AVX2, AVX-512): a peer built for
 * AVX-512 has registers 4× wider than WebAssembly SIMD's 128 bits.
 */

export interface CpuInfo {
  model: string;
  cores: number;
  avx2: boolean;
  avx512f: boolean;
  /** Every avx512* flag the kernel reports. */
  avx512: string[];
  fma: boolean;
}

export function cpuInfo(): CpuInfo {
  let model = os.cpus()[0]?.model ?? 'unknown';
  let flags: string[] = [];
  try {
    const out = execFileSync('lscpu', { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, LC_ALL: 'C' } }).toString();
    model = /^Model name:\s*(.+)$/m.exec(out)?.[1].trim() ?? model;
    flags = (/^Flags:\s*(.+)$/m.exec(out)?.[1] ?? '').split(/\s+/);
  } catch { /* no lscpu: /proc/cpuinfo below */ }
  if (flags.length <= 1) {
    try {
      flags = (/^flags\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '').split(/\s+/);
    } catch { /* not Linux */ }
  }
  const has = new Set(flags);
  return {
    model, cores: os.cpus().length, avx2: has.has('avx2'), avx512f: has.has('avx512f'),
    avx512: flags.filter((f) => f.startsWith('avx512')), fma: has.has('fma'),
  };
}

export function describeCpu(c: CpuInfo): string {
  const v = [c.avx2 ? 'AVX2' : 'no AVX2', c.avx512f ? `AVX-512 (${c.avx512.join(' ')})` : 'no AVX-512', c.fma ? 'FMA' : 'no FMA'];
  return `${c.model}, ${c.cores} cores, ${v.join(', ')}`;
}
