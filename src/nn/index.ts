export * from './module.js';
export * from './losses.js';
