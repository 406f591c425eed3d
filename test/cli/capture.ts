import { runCli } from '../../src/cli/run.js';

/** Runs the CLI in process with these arguments, capturing what it prints and its exit status. */
export async function captureCli(args: readonly string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '', stderr = '';
  const status = await runCli([...args], { out: { write: (s: string) => { stdout += s; } }, err: { write: (s: string) => { stderr += s; } } });
  return { status, stdout, stderr };
}
