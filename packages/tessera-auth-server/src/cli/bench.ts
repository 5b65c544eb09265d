import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from './parse-flags.js';

/**
 * `tessera bench`: the benchmark lab. It runs from a source checkout, where the peers it measures
 * (express-session, jsonwebtoken, fast-jwt…) are installed as development dependencies; the
 * published package does not carry them.
 */
export async function runBench(argv: string[]): Promise<void> {
  // dist/cli in packages/tessera-auth-server of the checkout.
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
  if (!existsSync(join(root, 'bench', 'lab.ts')) || !existsSync(join(root, 'node_modules', 'tsx'))) {
    throw new UsageError(
      'tessera bench runs from a source checkout with its development dependencies:\n  git clone <tessera repository> && cd tessera && npm install && npx tessera bench --quick',
    );
  }
  const child = spawn(process.execPath, ['--import', 'tsx', join('bench', 'lab.ts'), ...argv], { cwd: root, stdio: 'inherit' });
  const code = await new Promise<number>((resolve) => child.once('exit', (exitCode) => resolve(exitCode ?? 1)));
  if (code !== 0) process.exitCode = code;
}
