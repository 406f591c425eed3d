import { ModuleBuilder } from './assembler.js';
import { emitCrossBackward, emitCrossForward } from './cross-kernel.js';
import { emitGemm, emitKernel, emitPack, type GemmModuleOptions } from './gemm-kernel.js';
import { emitNarrowGemm } from './gemm-narrow-kernel.js';
import { emitMapKernels } from './map-kernel.js';
import { emitOptimKernels } from './optim-kernel.js';
import { emitRowKernels } from './row-kernel.js';

/*
 * The one WebAssembly module every thread instantiates over the shared arena: the GEMM
 * (gemm-kernel.ts), the vector cross stack (cross-kernel.ts), and the glue: elementwise ops
 * (map-kernel.ts), row kernels (row-kernel.ts) and optimizer steps (optim-kernel.ts), whose
 * JavaScript entry points are glue.ts. One module, so one compile, one instance per thread and one
 * set of exports. The glue kernels never use relaxed SIMD: their bits do not depend on it.
 */

export function buildKernelModule(opts: GemmModuleOptions): Uint8Array {
  if (opts.nr % 4 !== 0 || opts.nr < 4 || opts.mr < 1) throw new RangeError(`buildKernelModule: bad tile ${opts.mr}x${opts.nr}`);
  const m = new ModuleBuilder({ shared: opts.shared, maximumPages: opts.maximumPages });
  const packA = emitPack(m, 'packA', opts.mr);
  const packB = emitPack(m, 'packB', opts.nr);
  const kernel = emitKernel(m, opts);
  m.export(emitGemm(m, opts, packA, packB, kernel));
  m.export(emitNarrowGemm(m, opts, packB));
  m.export(emitCrossForward(m, opts.relaxed));
  m.export(emitCrossBackward(m, opts.relaxed));
  emitMapKernels(m);
  emitRowKernels(m);
  emitOptimKernels(m);
  return m.finish();
}
