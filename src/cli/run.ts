import { readFileSync } from 'node:fs';
import { UsageError, formatFlagHelp, parseFlags, type FlagSpec, type FlagValues } from './args.js';
import { ConfigError } from './config.js';
import { censusFlags, runCensus } from './commands/census.js';
import { crossClaimsFlags, runCrossClaims } from './commands/cross-claims.js';
import { runSynthetic, syntheticFlags } from './commands/synthetic.js';
import { runTrain, trainFlags } from './commands/train.js';
import { predictFlags, runPredict } from './commands/predict.js';
import { exportOnnxFlags, runExportOnnx } from './commands/export-onnx.js';
import type { CliIO } from './io.js';

interface Command {
  summary: string;
  usage: string;
  flags: Record<string, FlagSpec>;
  /** Flags that may also come as leading positional arguments, in order (export-onnx MODEL OUT). */
  positionals?: readonly string[];
  run(flags: FlagValues, io: CliIO): number | Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  synthetic: {
    summary: "the MMoE paper's synthetic experiment: MMoE vs OMoE vs Shared-Bottom over task correlations (npm run demo)",
    usage: 'mmoe-ts synthetic [--paper | --pilot | --full] [--runs N] [--results FILE] [--out DIR] …',
    flags: syntheticFlags,
    run: runSynthetic,
  },
  census: {
    summary: "the MMoE paper's census-income tables: MMoE, OMoE, Shared-Bottom, Single-Task, PLE on both task groups, AUC over seeds (npm run census)",
    usage: 'mmoe-ts census [--seeds N] [--groups …] [--models …] [--out DIR] …',
    flags: censusFlags,
    run: runCensus,
  },
  'cross-claims': {
    summary: "the cross network's own claims (DCN): parameters = d·L·2, and fitting polynomials of degree L+1 against a ReLU net of equal size",
    usage: 'mmoe-ts cross-claims [--d N] [--layers 1,2,3] [--seeds N] [--out DIR] …',
    flags: crossClaimsFlags,
    run: runCrossClaims,
  },
  train: {
    summary: "train a model on your own CSV/TSV, described by a JSON config",
    usage: 'mmoe-ts train --config FILE [--out DIR] [--epochs N] [--resume CKPT]',
    flags: trainFlags,
    run: runTrain,
  },
  predict: {
    summary: 'score new rows of a CSV/TSV with the model file that train wrote (model.safetensors)',
    usage: 'mmoe-ts predict --model FILE --data FILE [--out FILE] [--id COLUMN]',
    flags: predictFlags,
    run: runPredict,
  },
  'export-onnx': {
    summary: 'write the model file of train as an ONNX graph that takes raw CSV values (category text, raw numbers)',
    usage: 'mmoe-ts export-onnx MODEL.safetensors OUT.onnx [--encoded] [--output logits]',
    flags: exportOnnxFlags,
    positionals: ['model', 'out'],
    run: runExportOnnx,
  },
};

/** Leading positional arguments as the flags they stand for (`a b --x` → `--model a --out b --x`). */
function positionalsAsFlags(command: string, argv: readonly string[], names: readonly string[] = []): string[] {
  let k = 0;
  while (k < argv.length && k < names.length && !argv[k].startsWith('--')) k++;
  const given = argv.slice(0, k);
  for (let i = 0; i < k; i++) {
    if (argv.slice(k).some((a) => a === `--${names[i]}` || a.startsWith(`--${names[i]}=`))) {
      throw new UsageError(`${command}: ${names[i].toUpperCase()} given both as an argument and as --${names[i]}`);
    }
  }
  return [...given.flatMap((v, i) => [`--${names[i]}`, v]), ...argv.slice(k)];
}

const HELP_FLAG: FlagSpec = { type: 'boolean', description: 'show this help' };

function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length)) + 4;
  return [
    'mmoe-ts: multi-task recommender models (MMoE and its baselines) on a from-scratch TypeScript tensor engine',
    '',
    'Usage: mmoe-ts <command> [flags]',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}${c.summary}`),
    '',
    'Run `mmoe-ts <command> --help` for the flags of a command; `mmoe-ts --version` for the version.',
    'Bad flags or configs exit with status 2; other failures with 1.',
  ].join('\n');
}

function commandHelp(name: string, c: Command): string {
  return [`Usage: ${c.usage}`, '', c.summary, '', 'Flags:', formatFlagHelp({ ...c.flags, help: HELP_FLAG })].join('\n');
}

/**
 * The whole CLI as a function of its arguments, so tests can call it in-process. Returns the exit
 * status: 0 success, 2 a usage or config problem (one line on stderr), 1 any other failure (one
 * line too; the stack only with MMOE_TS_DEBUG=1).
 */
export async function runCli(argv: readonly string[], io: CliIO): Promise<number> {
  try {
    const [first, ...rest] = argv;
    if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
      io.out.write(`${mainHelp()}\n`);
      return 0;
    }
    if (first === '--version' || first === '-V' || first === 'version') {
      io.out.write(`${packageVersion()}\n`);
      return 0;
    }
    const cmd = Object.prototype.hasOwnProperty.call(COMMANDS, first) ? COMMANDS[first] : undefined;
    if (!cmd) {
      throw new UsageError(first.startsWith('-')
        ? `unknown flag ${first} before a command; commands: ${Object.keys(COMMANDS).join(', ')}`
        : `unknown command '${first}'; commands: ${Object.keys(COMMANDS).join(', ')} (see mmoe-ts --help)`);
    }
    if (rest.includes('--help') || rest.includes('-h')) {
      io.out.write(`${commandHelp(first, cmd)}\n`);
      return 0;
    }
    const flags = parseFlags(first, positionalsAsFlags(first, rest, cmd.positionals), cmd.flags);
    return await cmd.run(flags, io);
  } catch (e) {
    if (e instanceof UsageError || e instanceof ConfigError) {
      io.err.write(`mmoe-ts: ${oneLine(e.message)}\n`);
      return 2;
    }
    const msg = e instanceof Error ? e.message : String(e);
    io.err.write(`mmoe-ts: error: ${oneLine(msg)}\n`);
    if (process.env.MMOE_TS_DEBUG === '1' && e instanceof Error && e.stack) io.err.write(`${e.stack}\n`);
    return 1;
  }
}

/** The version in package.json: two folders up from both src/cli/run.ts and dist/cli/run.js. */
function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}
