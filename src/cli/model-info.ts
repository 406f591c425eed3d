import type { RowEncoding, TaskType } from '../models/index.js';
import { ConfigError, type LabelSpec } from './config.js';

/*
 * What `mmoe-ts train` keeps in the model file besides the model and its RowEncoding (category
 * vocabularies, dense statistics: src/models/row-encoding.ts) so that `mmoe-ts predict` and
 * `export-onnx` need nothing else: the label columns (task names and types) and how the CSV is
 * read. It travels as the model file's `extra.cli` (serializeModel's `extra`).
 */

export interface CliModelInfo {
  labels: LabelSpec[];
  csv: { separator: string; header: boolean; columns?: string[]; missing?: string[] };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The CLI's part of a model file's `extra`, checked; every problem is a ConfigError naming `file`. */
export function parseCliModelInfo(fn: string, extra: Record<string, unknown> | null, encoding: RowEncoding | null, file: string): { info: CliModelInfo; encoding: RowEncoding } {
  const bad = (what: string): never => {
    throw new ConfigError(`${fn}: ${file}: ${what}`);
  };
  const raw = extra?.cli;
  if (!isObject(raw) || encoding === null) return bad('a model file without the row encoding and CSV settings of mmoe-ts train (saved by saveModel without encoding/extra?); predict needs a model written by mmoe-ts train');
  if (!Array.isArray(raw.labels) || raw.labels.length === 0 || !raw.labels.every((l) => isObject(l) && typeof l.name === 'string' && typeof l.column === 'string'
    && (l.type === 'binary' || l.type === 'regression' || (l.type === 'multiclass' && Array.isArray(l.classes) && l.classes.length >= 2)))) {
    return bad("extra.cli.labels must be a non-empty array of { column, name, type, classes? (multiclass) }");
  }
  const csv = raw.csv;
  if (!isObject(csv) || typeof csv.separator !== 'string' || typeof csv.header !== 'boolean') return bad("extra.cli.csv must be { separator, header, columns?, missing? }");
  return { info: raw as unknown as CliModelInfo, encoding };
}

/** The model options the labels decide: task names and types, and numClasses when a task is multiclass. */
export function taskOptionsOf(labels: readonly LabelSpec[]): { taskNames: string[]; taskTypes: TaskType[]; numClasses?: number[] } {
  const taskTypes = labels.map((l) => l.type);
  return {
    taskNames: labels.map((l) => l.name), taskTypes,
    ...(taskTypes.includes('multiclass') ? { numClasses: labels.map((l) => l.classes?.length ?? 1) } : {}),
  };
}

/** Output column names: the task name, or `<task>:<class>` for each class of a multiclass task. */
export function outputColumnsOf(labels: readonly LabelSpec[]): string[] {
  return labels.flatMap((l) => (l.type === 'multiclass' ? l.classes!.map((c) => `${l.name}:${c}`) : [l.name]));
}
