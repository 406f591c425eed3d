/** The `mmoe-ts` executable: bin/mmoe-ts.js imports the built copy of this file. */
import './relaxed-simd.js'; // first: before anything can compile a kernel
import { runCli } from './run.js';

const status = await runCli(process.argv.slice(2), { out: process.stdout, err: process.stderr });
process.exitCode = status;
