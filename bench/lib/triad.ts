import { measure, type Timing } from './timing.js';

/*
 * The STREAM triad a[i] = b[i] + s·c[i] over 64 MiB Float32Arrays: what this machine streams from
 * memory right now, from JavaScript, so every bandwidth below can be read as a fraction of it.
 */

export interface TriadResult extends Timing {
  bytes: number;
  gbps: number;
}

function triad(a: Float32Array, b: Float32Array, c: Float32Array, s: number): void {
  const n = a.length;
  for (let i = 0; i < n; i++) a[i] = b[i] + s * c[i];
}

export function runTriad(mib = 64): TriadResult {
  const n = (mib * 1024 * 1024) / 4;
  const a = new Float32Array(n);
  const b = new Float32Array(n).fill(1);
  const c = new Float32Array(n).fill(2);
  const t = measure('triad', () => triad(a, b, c, 3), { minSamples: 10, maxTime: 3 });
  // Two arrays read, one written (write-allocate traffic is not counted, as in STREAM).
  const bytes = 3 * n * 4;
  return { ...t, bytes, gbps: bytes / (t.medianMs * 1e6) };
}
