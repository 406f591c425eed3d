/*
 * Step 1 of the DDP check (run by interop/ddp.py): an mmoe-ts MMoE (the 'mmoe_features' case:
 * sparse, var-len and dense columns, two binary tasks) trained for a few epochs with our own `fit`,
 * saved in DeepCTR-Torch's layout (toDeepCTRTorch), with the training rows (X, Y in DeepCTR-Torch's
 * layout), evaluation rows and our predictions on them. Usage: npx tsx interop/ddp-export.ts OUT_DIR
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tensor, fit, noGrad, serializeSafetensors, toDeepCTRTorch } from '../src/index.js';
import { inputFromX, randomX, width } from './cases.js';
import { DDP_CASE, N_EVAL, N_TRAIN, labels } from './ddp-case.js';

const out = process.argv[2];
if (!out) throw new Error('usage: tsx interop/ddp-export.ts OUT_DIR');
mkdirSync(out, { recursive: true });
const W = width(DDP_CASE.features);
const X = randomX(DDP_CASE.features, N_TRAIN, 31);
const Y = labels(X, N_TRAIN);
const Xe = randomX(DDP_CASE.features, N_EVAL, 32);
const model = DDP_CASE.build();
const h = fit(model, { x: inputFromX(DDP_CASE, X, N_TRAIN), y: Y }, { epochs: 3, batchSize: 64, optimizer: 'adam', lr: 0.01, seed: 0, verbose: 0 });
model.eval();
const pred = noGrad(() => model.forward(inputFromX(DDP_CASE, Xe, N_EVAL)));
writeFileSync(join(out, 'ours.safetensors'), serializeSafetensors(toDeepCTRTorch(model)));
writeFileSync(join(out, 'data.safetensors'), serializeSafetensors({
  X: new Tensor(X, [N_TRAIN, W]), Y: new Tensor(Y, [N_TRAIN, 2]), X_eval: new Tensor(Xe, [N_EVAL, W]),
}));
writeFileSync(join(out, 'ours-pred.safetensors'), serializeSafetensors({ pred }));
writeFileSync(join(out, 'manifest.json'), JSON.stringify({ name: DDP_CASE.name, model: DDP_CASE.deepctrModel, kwargs: DDP_CASE.kwargs, features: DDP_CASE.features }, null, 2));
const loss = h.series('loss');
console.log(`ddp-export: mmoe-ts trained ${DDP_CASE.name} for 3 epochs (loss ${loss[0].toFixed(4)} -> ${loss[loss.length - 1].toFixed(4)}); wrote ${out}`);
