export * from './synthetic.js';
export { parseCsv, parseCsvStream, type CsvValue, type CsvRow, type CsvRecord, type CsvOptions, type CsvChunks } from './csv.js';
export * from './census.js';
export * from './batches.js';
