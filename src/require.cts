/*
 * require('mmoe-ts'): the package is ES modules. Node 20.19+ and 22.12+ can require() them, so this
 * hands back the same module instance an import gets; older Node cannot, and gets told to import.
 */
import { requireEsm } from './require-esm.cjs';

module.exports = requireEsm('mmoe-ts', './index.js');
