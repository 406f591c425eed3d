import { basename, dirname } from 'node:path';
import { exportOnnx } from '../../onnx/export.js';
import { UsageError, getString, type FlagSpec, type FlagValues } from '../args.js';
import { writeOutputs, type CliIO } from '../io.js';
import { loadTrainedModel } from './predict.js';

export const exportOnnxFlags: Record<string, FlagSpec> = {
  model: { type: 'string', placeholder: 'FILE', description: 'the model.safetensors that `train` wrote (or its --out folder); also the first positional argument' },
  out: { type: 'string', placeholder: 'FILE', description: 'the .onnx file to write; also the second positional argument' },
  encoded: { type: 'boolean', description: 'take encoded ids and standardised numbers instead of raw CSV values' },
  output: { type: 'string', choices: ['predictions', 'logits'], description: "the graph's output: predictions (default) or logits" },
};

/**
 * `mmoe-ts export-onnx MODEL OUT`: the model file of `train` as an ONNX graph that takes the CSV's
 * raw values — category text and raw numbers, encoded inside the graph with the vocabularies and
 * statistics of training — so ONNX Runtime serves the rows `mmoe-ts predict` reads, unchanged.
 */
export async function runExportOnnx(flags: FlagValues, io: CliIO): Promise<number> {
  const modelPath = getString(flags, 'model');
  const out = getString(flags, 'out');
  if (modelPath === undefined || out === undefined) throw new UsageError('export-onnx: give the model file and the output file: mmoe-ts export-onnx MODEL.safetensors OUT.onnx');
  const { model, encoding, info } = loadTrainedModel('export-onnx', 'MODEL', modelPath);
  const raw = flags.encoded !== true;
  const output = getString(flags, 'output') as 'predictions' | 'logits' | undefined;
  const bytes = exportOnnx(model, { output, ...(raw ? { encoding } : {}) });
  writeOutputs(dirname(out), { [basename(out)]: bytes });
  const inputs = raw
    ? `raw inputs: ${[...encoding.sparse.map((s) => `${s.column} (string)`), ...encoding.dense.map((d) => `${d.column} (float64, NaN = missing)`)].join(', ')}`
    : 'encoded inputs (ids int64, standardised numbers float32)';
  io.err.write(`export-onnx: ${model.architecture} for ${info.labels.map((l) => l.name).join(', ')}; ${inputs}; wrote ${out} (${bytes.length} bytes)\n`);
  return 0;
}
