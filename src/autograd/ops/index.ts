export * from './elementwise.js';
export * from './reduce.js';
export * from './shape.js';
export * from './linalg.js';
