import { writeFileSync } from 'node:fs';
import { Generator } from '../../src/tensor/index.js';
import { runCli } from '../../src/cli/run.js';

/** Runs the CLI in process with these arguments, capturing what it prints and its exit status. */
export async function captureCli(args: readonly string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '', stderr = '';
  const status = await runCli([...args], { out: { write: (s: string) => { stdout += s; } }, err: { write: (s: string) => { stderr += s; } } });
  return { status, stdout, stderr };
}

/** A tiny CSV: a categorical and a numeric feature, a binary and a regression label. */
export function writeTinyCsv(file: string, n = 80): void {
  const g = new Generator(1);
  const lines = ['city,age,clicked,spend'];
  for (let i = 0; i < n; i++) {
    const city = ['paris', 'rome', 'oslo', ''][g.randint(4)];
    const age = (20 + g.randint(40)).toString();
    const clicked = city === 'paris' || g.random() < 0.2 ? 1 : 0;
    lines.push(`${city},${age},${clicked},${(Number(age) / 10 + g.normal()).toFixed(3)}`);
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
}
