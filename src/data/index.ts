export * from './synthetic.js';
export { parseCsv, parseCsvStream, type CsvValue, type CsvRow, type CsvRecord, type CsvOptions, type CsvParseOptions, type CsvChunks } from './csv.js';
export * from './census.js';
export * from './batches.js';
export { csvDataset, scanCsv, type CsvDataset, type CsvDatasetOptions, type CsvColumnsSpec, type CsvLabel, type CsvScan, type CsvBatch, type DenseStats } from './csv-dataset.js';
