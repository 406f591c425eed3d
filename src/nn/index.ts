export * from './module.js';
export * from './losses.js';
export * from './regularization.js';
