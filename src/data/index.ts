export * from './synthetic.js';
export * from './csv.js';
export * from './census.js';
export * from './batches.js';
