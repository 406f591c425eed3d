import { Tensor, noGrad } from '../autograd/index.js';
import { formatShape } from '../tensor/index.js';
import { checkOptionKeys, type OptionKeys } from '../validation/options.js';
import { moduleTypeName } from './type-name.js';

/**
 * What summary needs of a module: declared here rather than imported from module.ts, which
 * imports summary, so the two files do not form an import circle.
 */
interface Module {
  training: boolean;
  modules(): Module[];
  namedModules(): Iterable<[string, Module]>;
  parameters(): Tensor[];
  buffers(): Tensor[];
  eval(): unknown;
}

export interface SummaryOptions {
  /**
   * A sample input to run forward on, which fills in each layer's output shape (Keras's
   * summary, torchinfo's `input_data`). Without one there is no Output column, unless the module
   * knows how to make its own sample (the models make a batch of one).
   */
  input?: unknown;
  /** How many levels of submodules to list (default: all). */
  depth?: number;
}

const KEYS: OptionKeys<SummaryOptions> = { input: true, depth: true };

interface Row {
  name: string;
  type: string;
  depth: number;
  output: string;
  params: number;
}

function describeOutput(v: unknown): string {
  if (v instanceof Tensor) return formatShape(v.shape);
  if (Array.isArray(v)) return `(${v.map(describeOutput).join(', ')})`;
  return '—';
}

/**
 * Runs forward once with every submodule's forward wrapped to record what it returned, in eval
 * mode and without recording a graph, then puts everything back: a summary never changes running
 * statistics, gradients or training flags. A layer whose forward was not called — one that runs
 * fused into a wider product, such as MMoE's expert and gate layers (dnn-stack.ts) — shows no shape.
 */
function traceOutputs(module: Module, input: unknown): Map<Module, string> {
  const shapes = new Map<Module, string>();
  const forwardOf = (m: Module): unknown => (m as unknown as { forward?: unknown }).forward;
  const mods = module.modules();
  const modes = mods.map((m) => m.training);
  const patched: Module[] = [];
  try {
    for (const m of mods) {
      const f = forwardOf(m);
      if (typeof f !== 'function') continue;
      // An own property shadows the prototype's method; deleting it later restores the method.
      Object.defineProperty(m, 'forward', {
        configurable: true,
        writable: true,
        value: (...args: unknown[]): unknown => {
          const out = (f as (...a: unknown[]) => unknown).apply(m, args);
          if (!shapes.has(m)) shapes.set(m, describeOutput(out));
          return out;
        },
      });
      patched.push(m);
    }
    module.eval();
    const root = forwardOf(module);
    if (typeof root !== 'function') throw new Error(`summary: ${moduleTypeName(module)} has no forward to run the sample input through`);
    noGrad(() => (root as (x: unknown) => unknown).call(module, input));
  } finally {
    for (const m of patched) delete (m as unknown as { forward?: unknown }).forward;
    mods.forEach((m, i) => { m.training = modes[i]; });
  }
  return shapes;
}

function numParams(m: Module): number {
  let n = 0;
  for (const p of m.parameters()) n += p.size;
  return n;
}

/**
 * A table of the module's layers — name, type, output shape for the sample input, parameter count
 * (each row counts its whole subtree) — and the totals, as a string (print it with console.log).
 */
export function summary(module: Module, opts: SummaryOptions = {}, defaultInput?: () => unknown): string {
  checkOptionKeys('summary', opts, KEYS);
  const maxDepth = opts.depth ?? Infinity;
  if (!(maxDepth >= 0) || (maxDepth !== Infinity && !Number.isInteger(maxDepth))) {
    throw new RangeError(`summary: depth must be an integer ≥ 0, got ${String(opts.depth)}`);
  }
  const input = opts.input !== undefined ? opts.input : defaultInput?.();
  const shapes = input !== undefined ? traceOutputs(module, input) : null;
  const rows: Row[] = [];
  for (const [name, m] of module.namedModules()) {
    const depth = name === '' ? 0 : name.split('.').length;
    if (depth > maxDepth) continue;
    rows.push({
      // Indentation shows the nesting, so each row names only its own segment.
      name: name === '' ? '(root)' : name.slice(name.lastIndexOf('.') + 1),
      type: moduleTypeName(m),
      depth,
      output: shapes ? (shapes.get(m) ?? '—') : '',
      params: numParams(m),
    });
  }
  const header = ['Layer (type)', ...(shapes ? ['Output shape'] : []), 'Param #'];
  const cells = rows.map((r) => [
    `${'  '.repeat(r.depth)}${r.name} (${r.type})`,
    ...(shapes ? [r.output] : []),
    r.params.toLocaleString('en-US'),
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...cells.map((row) => row[c].length)));
  const line = (row: string[]): string => row.map((s, c) => (c === row.length - 1 ? s.padStart(widths[c]) : s.padEnd(widths[c]))).join('  ');
  const total = numParams(module);
  let bufferCount = 0;
  for (const b of module.buffers()) bufferCount += b.size;
  const rule = '='.repeat(widths.reduce((a, w) => a + w, 0) + 2 * (widths.length - 1));
  const out = [
    `${moduleTypeName(module)}${shapes && opts.input === undefined ? ' (output shapes for a sample batch of 1)' : ''}`,
    rule,
    line(header),
    rule.replace(/=/g, '-'),
    ...cells.map(line),
    rule,
    `Total params: ${total.toLocaleString('en-US')}`,
    `Trainable params: ${module.parameters().filter((p) => p.requiresGrad).reduce((n, p) => n + p.size, 0).toLocaleString('en-US')}`,
    `Buffers (not trained): ${bufferCount.toLocaleString('en-US')}`,
  ];
  return out.join('\n');
}
