#!/usr/bin/env node
// The published entry point: runs the compiled CLI (`npm run build` writes dist/).
//
// Node 20 accepts relaxed-SIMD WebAssembly (f32x4.relaxed_madd, the GEMM's fused multiply-add)
// only under --experimental-wasm-relaxed-simd, a V8 flag NODE_OPTIONS refuses. So when this
// runtime rejects a tiny relaxed-SIMD module and the flag exists (Node < 22; from 22 it is on by
// default), the command re-runs itself once under the flag; MMOE_TS_REEXEC=1 marks the child so
// it never re-runs again, and backendInfo().reason reports it. MMOE_TS_NO_REEXEC=1 turns this off.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const FLAG = '--experimental-wasm-relaxed-simd';
// A module of one function doing f32x4.relaxed_madd on zeros; only validated, never run.
const PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 2, 15, 1, 3, 101, 110, 118, 6, 109, 101, 109, 111, 114, 121, 2, 0, 1, 3, 2, 1,
  0, 7, 1, 0, 10, 61, 1, 59, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 253, 133, 2, 11,
]);

function relaxedSimdAccepted() {
  try {
    return WebAssembly.validate(PROBE);
  } catch {
    return false;
  }
}

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('mmoe-ts: dist/cli/main.js is missing; run `npm run build` first\n');
  process.exit(1);
}

const major = Number(process.versions.node.split('.')[0]);
const reexec = major < 22 && process.env.MMOE_TS_REEXEC !== '1' && process.env.MMOE_TS_NO_REEXEC !== '1'
  && !process.execArgv.includes(FLAG) && !relaxedSimdAccepted();

if (reexec) {
  const child = spawn(process.execPath, [...process.execArgv, FLAG, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit', env: { ...process.env, MMOE_TS_REEXEC: '1' },
  });
  // Ctrl-C reaches the child through the terminal's process group, so the parent only waits for
  // its exit; a signal sent to the parent alone (kill PID) is passed on.
  process.on('SIGINT', () => {});
  for (const signal of ['SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('error', (e) => {
    process.stderr.write(`mmoe-ts: cannot re-run node with ${FLAG}: ${e.message}\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
} else {
  await import(main.href);
}
