/*
 * Step 3 of the interop check (run by check.py after PyTorch wrote its files): for every case and
 * every variant PyTorch saved (F32, F16, BF16 floats; I64 num_batches_tracked), load the file into
 * a fresh model of ours with fromDeepCTRTorch (strict), predict on the same X, and compare with
 * PyTorch's predictions. Prints one JSON object; exit status 1 if any check fails.
 * Usage: npx tsx interop/import.ts OUT_DIR
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deserializeSafetensors, fromDeepCTRTorch, noGrad, savedDType, serializeSafetensors, toDeepCTRTorch } from '../src/index.js';
import { BATCH, cases, inputFromX } from './cases.js';

const out = process.argv[2];
if (!out) throw new Error('usage: tsx interop/import.ts OUT_DIR');
const TOL = 1e-5;
const results: Array<Record<string, unknown>> = [];
let failed = 0;
const read = (file: string) => deserializeSafetensors(readFileSync(file));

for (const c of cases) {
  const dir = join(out, c.name);
  const X = read(join(dir, 'x.safetensors')).X.data as Float32Array;
  const preds = read(join(dir, 'torch-pred.safetensors'));
  for (const variant of ['f32', 'f16', 'bf16']) {
    const r: Record<string, unknown> = { case: c.name, variant };
    try {
      const file = join(dir, `torch-${variant}.safetensors`);
      const dict = read(file);
      const dtypes = [...new Set(Object.values(dict).map((t) => savedDType(t) ?? (t.dtype === 'float64' ? 'F64' : 'F32')))].sort();
      r.fileDtypes = dtypes;
      const model = c.build();
      const res = fromDeepCTRTorch(model, dict); // strict
      model.eval();
      const got = noGrad(() => model.forward(inputFromX(c, X, BATCH))).data;
      const want = preds[variant].data;
      let maxDiff = 0;
      for (let i = 0; i < want.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i] - want[i]));
      r.maxAbsDiff = maxDiff;
      r.ok = got.length === want.length && maxDiff <= TOL && res.missingKeys.length === 0 && res.unexpectedKeys.length === 0;
      const nbt = Object.entries(model.stateDict()).filter(([k]) => k.endsWith('num_batches_tracked'));
      if (nbt.length) {
        r.numBatchesTracked = [...new Set(nbt.map(([, t]) => t.item()))];
        // Written back, the counters are I64 again, as PyTorch wrote them.
        const again = deserializeSafetensors(serializeSafetensors(toDeepCTRTorch(model)));
        r.rewrittenCounterDtype = [...new Set(Object.keys(again).filter((k) => k.endsWith('num_batches_tracked')).map((k) => savedDType(again[k])))];
        r.ok = r.ok && (r.rewrittenCounterDtype as unknown[]).length === 1 && (r.rewrittenCounterDtype as unknown[])[0] === 'I64';
      }
    } catch (e) {
      r.ok = false;
      r.error = (e as Error).message;
    }
    if (!r.ok) failed += 1;
    results.push(r);
  }
}
const report = { tolerance: TOL, checks: results.length, failed, results };
writeFileSync(join(out, 'import-report.json'), JSON.stringify(report, null, 2));
console.log(`import: ${results.length} checks, ${failed} failed (details in ${join(out, "import-report.json")})`);
process.exit(failed ? 1 : 0);
