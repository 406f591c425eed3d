import { formatShape, type NDArray } from '../tensor/index.js';
import { checkOptionKeys, type OptionKeys } from '../validation/options.js';

/*
 * Tensor printing in PyTorch's style (torch/_tensor_str.py): one number format for the whole
 * tensor (integers as "1.", fixed with 4 decimals, or scientific when the magnitudes span too much),
 * every entry padded to one width so columns line up, and tensors over `threshold` elements
 * summarised to `edgeItems` entries at each end of every axis. Users coming from PyTorch read a
 * printed tensor at a glance; a bare "Tensor(shape=…)" tells them nothing about the values.
 */

export interface PrintOptions {
  /** Digits after the point in fixed and scientific notation. Default 4, as in PyTorch. */
  precision: number;
  /** Tensors with more elements than this are summarised. Default 1000. */
  threshold: number;
  /** Entries kept at each end of an axis when summarising. Default 3. */
  edgeItems: number;
  /** Characters per line before a row wraps. Default 80. */
  lineWidth: number;
}

const defaults: PrintOptions = { precision: 4, threshold: 1000, edgeItems: 3, lineWidth: 80 };
const current: PrintOptions = { ...defaults };

const KEYS: OptionKeys<PrintOptions> = { precision: true, threshold: true, edgeItems: true, lineWidth: true };

/** Like torch.set_printoptions; `setPrintOptions({})` keeps, `setPrintOptions('default')` restores. */
export function setPrintOptions(opts: Partial<PrintOptions> | 'default'): void {
  if (opts === 'default') { Object.assign(current, defaults); return; }
  checkOptionKeys('setPrintOptions', opts, KEYS);
  for (const k of Object.keys(opts)) {
    const v = (opts as Record<string, unknown>)[k];
    const min = k === 'edgeItems' || k === 'precision' ? 0 : 1;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      throw new RangeError(`setPrintOptions: ${k} must be an integer ≥ ${min}, got ${String(v)}`);
    }
  }
  Object.assign(current, opts);
}

export function getPrintOptions(): PrintOptions {
  return { ...current };
}

/** The indices kept along an axis of length n (all of them, or both ends when summarising). */
function keptIndices(n: number, summarize: boolean, edge: number): Array<number | null> {
  if (!summarize || n <= 2 * edge) return Array.from({ length: n }, (_, i) => i);
  const out: Array<number | null> = [];
  for (let i = 0; i < edge; i++) out.push(i);
  out.push(null); // the "..." marker
  for (let i = n - edge; i < n; i++) out.push(i);
  return out;
}

/** Every value that will be printed, so that one format fits all of them. */
function shownValues(a: NDArray, summarize: boolean, edge: number): number[] {
  const vals: number[] = [];
  const shape = a.shape;
  const strides: number[] = new Array(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) { strides[i] = s; s *= shape[i]; }
  const walk = (axis: number, off: number): void => {
    if (axis === shape.length) { vals.push(a.data[off]); return; }
    for (const i of keptIndices(shape[axis], summarize, edge)) if (i !== null) walk(axis + 1, off + i * strides[axis]);
  };
  walk(0, 0);
  return vals;
}

function makeFormatter(values: number[], precision: number): (v: number) => string {
  const finite = values.filter((v) => Number.isFinite(v));
  const special = (v: number): string | null => (Number.isNaN(v) ? 'nan' : v === Infinity ? 'inf' : v === -Infinity ? '-inf' : null);
  let fmt: (v: number) => string;
  if (finite.every((v) => Number.isInteger(v))) {
    const big = finite.some((v) => Math.abs(v) > 1e8);
    fmt = big ? (v) => v.toExponential(precision).replace(/e([+-])(\d)$/, 'e$10$2') : (v) => `${Object.is(v, -0) ? '-0' : v.toFixed(0)}.`;
  } else {
    const mags = finite.map(Math.abs).filter((v) => v !== 0);
    const max = mags.length ? Math.max(...mags) : 0;
    const min = mags.length ? Math.min(...mags) : 0;
    const sci = mags.length > 0 && (max / min > 1000 || max > 1e8 || min < 1e-4);
    fmt = sci ? (v) => v.toExponential(precision).replace(/e([+-])(\d)$/, 'e$10$2') : (v) => v.toFixed(precision);
  }
  return (v) => special(v) ?? fmt(v);
}

/** The PyTorch-style text of an array's values: `[[ 1.0000, -2.5000], …]` (no "tensor(" prefix). */
export function formatValues(a: NDArray, indent: number, opts: PrintOptions = current): string {
  const shape = a.shape;
  if (a.size === 0) return '[]';
  const summarize = a.size > opts.threshold;
  const fmt = makeFormatter(shownValues(a, summarize, opts.edgeItems), opts.precision);
  if (shape.length === 0) return fmt(a.data[0]);
  let width = 0;
  for (const v of shownValues(a, summarize, opts.edgeItems)) width = Math.max(width, fmt(v).length);
  const cell = (v: number): string => fmt(v).padStart(width);
  const strides: number[] = new Array(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) { strides[i] = s; s *= shape[i]; }
  const render = (axis: number, off: number, col: number): string => {
    const kept = keptIndices(shape[axis], summarize, opts.edgeItems);
    if (axis === shape.length - 1) {
      const items = kept.map((i) => (i === null ? ' ...' : cell(a.data[off + i])));
      // Wrap like PyTorch: as many entries per line as fit after the indentation.
      const perLine = Math.max(1, Math.floor((opts.lineWidth - col) / (width + 2)));
      const lines: string[] = [];
      for (let i = 0; i < items.length; i += perLine) lines.push(items.slice(i, i + perLine).join(', '));
      return `[${lines.join(`,\n${' '.repeat(col + 1)}`)}]`;
    }
    const sep = `,${'\n'.repeat(Math.max(1, shape.length - axis - 1))}${' '.repeat(col + 1)}`;
    const parts = kept.map((i) => (i === null ? '...' : render(axis + 1, off + i * strides[axis], col + 1)));
    return `[${parts.join(sep)}]`;
  };
  return render(0, 0, indent);
}

/** `tensor([...], dtype=float64, requiresGrad=true)`: the default dtype (float32) is not named. */
export function formatTensor(
  a: NDArray,
  extras: { requiresGrad?: boolean; gradFn?: string | null } = {},
): string {
  const prefix = 'tensor(';
  const parts = [formatValues(a, prefix.length)];
  if (a.size === 0 && a.shape.length !== 1) parts.push(`size=${formatShape(a.shape)}`);
  if (a.dtype !== 'float32') parts.push(`dtype=${a.dtype}`);
  if (extras.gradFn) parts.push(`gradFn=<${extras.gradFn}>`);
  else if (extras.requiresGrad) parts.push('requiresGrad=true');
  return `${prefix}${parts.join(', ')})`;
}
