import { ModuleBuilder } from './assembler.js';
import { emitCrossBackward, emitCrossForward } from './cross-kernel.js';
import { emitGemm, emitKernel, emitPack, type GemmModuleOptions } from './gemm-kernel.js';

/*
 * The one WebAssembly module every thread instantiates over the shared arena: the GEMM
 * (gemm-kernel.ts) and the vector cross stack (cross-kernel.ts). One module, so one compile, one
 * instance per thread and one set of exports for runtime.ts. A kernel added here (an elementwise
 * op, say) is a function emitted with the assembler and exported by name.
 */

export function buildKernelModule(opts: GemmModuleOptions): Uint8Array {
  if (opts.nr % 4 !== 0 || opts.nr < 4 || opts.mr < 1) throw new RangeError(`buildKernelModule: bad tile ${opts.mr}x${opts.nr}`);
  const m = new ModuleBuilder({ shared: opts.shared, maximumPages: opts.maximumPages });
  const packA = emitPack(m, 'packA', opts.mr);
  const packB = emitPack(m, 'packB', opts.nr);
  const kernel = emitKernel(m, opts);
  m.export(emitGemm(m, opts, packA, packB, kernel));
  m.export(emitCrossForward(m, opts.relaxed));
  m.export(emitCrossBackward(m, opts.relaxed));
  return m.finish();
}
