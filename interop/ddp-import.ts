/*
 * Step 3 of the DDP check (run by interop/ddp.py): the weights DeepCTR-Torch's MMOE reached under
 * DistributedDataParallel, loaded back into our MMoE with fromDeepCTRTorch (strict); our
 * predictions on the evaluation rows must match PyTorch's to 1e-5, and training continues here with
 * our `fit`. Prints one line, writes ddp-import-report.json; exit status 1 on a mismatch.
 * Usage: npx tsx interop/ddp-import.ts OUT_DIR
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deserializeSafetensors, evaluate, fit, fromDeepCTRTorch, noGrad } from '../src/index.js';
import { inputFromX } from './cases.js';
import { DDP_CASE, N_EVAL, N_TRAIN } from './ddp-case.js';

const out = process.argv[2];
if (!out) throw new Error('usage: tsx interop/ddp-import.ts OUT_DIR');
const TOL = 1e-5;
const read = (f: string) => deserializeSafetensors(readFileSync(join(out, f)));
const data = read('data.safetensors');
const model = DDP_CASE.build();
const res = fromDeepCTRTorch(model, read('torch-ddp.safetensors')); // strict
model.eval();
const got = noGrad(() => model.forward(inputFromX(DDP_CASE, data.X_eval.data as Float32Array, N_EVAL))).data;
const want = read('torch-ddp-pred.safetensors').pred.data;
let maxDiff = 0;
for (let i = 0; i < want.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i] - want[i]));
const train = { x: inputFromX(DDP_CASE, data.X.data as Float32Array, N_TRAIN), y: data.Y.data as Float32Array };
const before = evaluate(model, train).tasks;
const h = fit(model, train, { epochs: 2, batchSize: 64, optimizer: 'adam', lr: 0.005, seed: 1, verbose: 0 });
const after = evaluate(model, train).tasks;
const ok = got.length === want.length && maxDiff <= TOL && res.missingKeys.length === 0 && res.unexpectedKeys.length === 0;
const report = {
  ok, tolerance: TOL, maxAbsDiff: maxDiff, keys: Object.keys(model.stateDict()).length,
  continued: { epochs: 2, loss: h.series('loss'), loglossBefore: { a: before.a.logloss, b: before.b.logloss }, loglossAfter: { a: after.a.logloss, b: after.b.logloss } },
};
writeFileSync(join(out, 'ddp-import-report.json'), JSON.stringify(report, null, 2));
console.log(`ddp-import: fromDeepCTRTorch (strict) of the DDP result, predictions within ${maxDiff.toExponential(2)} of PyTorch's (tolerance ${TOL}); `
  + `training continued in mmoe-ts for 2 epochs: train logloss a ${before.a.logloss!.toFixed(4)} -> ${after.a.logloss!.toFixed(4)}, b ${before.b.logloss!.toFixed(4)} -> ${after.b.logloss!.toFixed(4)}`);
process.exit(ok ? 0 : 1);
