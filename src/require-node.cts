/* require('mmoe-ts/node'): see require.cts. */
import { requireEsm } from './require-esm.cjs';

module.exports = requireEsm('mmoe-ts/node', './node.js');
