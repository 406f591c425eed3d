/** The census-income loader on files (Node only): the packaged copy by default, or any path. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCensusIncomeFrom, parseCensusColumns, type CensusIncome, type CensusOptions } from './census.js';
import { fileChunks } from './csv-node.js';

/**
 * The directory of this package (the first one up from this file holding package.json and the
 * data folder), so the default path works from src/ under tsx, from dist/, and in a clone. The npm
 * tarball leaves the data out (3.4 MB for every installer): there, pass a path.
 */
export function packageRoot(): string {
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'data', 'census-income'))) return dir;
    if (dirname(dir) === dir) {
      throw new Error(`packageRoot: no directory holding package.json and data/census-income above ${start} ` +
        '(the npm package does not ship the census data: download census-income.test.gz and census-income.names from UCI, ' +
        'then pass the .gz file: mmoe-ts census --data FILE, or loadCensusIncome({ path }))');
    }
  }
}

export function defaultCensusPath(): string {
  return join(packageRoot(), 'data', 'census-income', 'census-income.test.gz');
}

/** Column names and kinds from the UCI .names file, in file order, plus the trailing label. */
export function readCensusColumns(namesPath: string): { name: string; continuous: boolean }[] {
  return parseCensusColumns(readFileSync(namesPath, 'utf8'), namesPath);
}

/** loadCensusIncomeFrom on files: `path` (gzipped when it ends in .gz) and census-income.names beside it. */
export async function loadCensusIncome(options: CensusOptions = {}): Promise<CensusIncome> {
  const { path: given, namesPath: givenNames, ...rest } = options;
  const path = given ?? defaultCensusPath();
  const namesPath = givenNames ?? join(dirname(path), 'census-income.names');
  // The data file first: a missing one must be reported as itself, not as the names file beside it.
  if (!existsSync(path)) throw new Error(`loadCensusIncome: no file ${path}`);
  if (!existsSync(namesPath)) throw new Error(`loadCensusIncome: no file ${namesPath}${givenNames === undefined ? ` (the column names census-income.names must sit beside ${path}, or give namesPath)` : ''}`);
  const names = readFileSync(namesPath, 'utf8');
  return loadCensusIncomeFrom({ names, data: fileChunks('readCsv', path, path.endsWith('.gz')), dataName: path, namesName: namesPath }, rest);
}
