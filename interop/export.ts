/*
 * Step 1 of the interop check (run by check.py): for every case, our model with non-trivial
 * weights, saved in DeepCTR-Torch's layout (toDeepCTRTorch), the input X in DeepCTR-Torch's
 * layout, and our predictions on it. Usage: npx tsx interop/export.ts OUT_DIR
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tensor, noGrad, serializeSafetensors, toDeepCTRTorch } from '../src/index.js';
import { BATCH, cases, inputFromX, perturb, randomX, width } from './cases.js';

const out = process.argv[2];
if (!out) throw new Error('usage: tsx interop/export.ts OUT_DIR');
mkdirSync(out, { recursive: true });
const manifest = [];
for (const [i, c] of cases.entries()) {
  const dir = join(out, c.name);
  mkdirSync(dir, { recursive: true });
  const model = c.build();
  perturb(c, model, 100 + i);
  const X = randomX(c.features, BATCH, 200 + i);
  const pred = noGrad(() => model.forward(inputFromX(c, X, BATCH)));
  writeFileSync(join(dir, 'ours.safetensors'), serializeSafetensors(toDeepCTRTorch(model)));
  writeFileSync(join(dir, 'x.safetensors'), serializeSafetensors({ X: new Tensor(X, [BATCH, width(c.features)]) }));
  writeFileSync(join(dir, 'ours-pred.safetensors'), serializeSafetensors({ pred }));
  manifest.push({ name: c.name, model: c.deepctrModel, kwargs: c.kwargs, features: c.features, keys: Object.keys(toDeepCTRTorch(model)).length });
}
writeFileSync(join(out, 'manifest.json'), JSON.stringify(manifest, null, 2));
console.log(`export: ${cases.length} cases written to ${out}`);
