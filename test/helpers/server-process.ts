import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../tools/redis-process.js';

/** The built command, as users run it (npm test builds dist/ first). */
export const CLI = 'packages/tessera-auth-server/dist/cli/main.js';

export interface ServerProcess {
  readonly url: string;
  readonly child: ChildProcessWithoutNullStreams;
  /** Everything the process printed so far. */
  output(): string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/**
 * `tessera serve` in its own process on loopback (on `port`, or a free one); resolves once it logs
 * "listening on". With `user`, it runs as that user from `checkout`, a copy of this one it can read.
 */
export async function spawnServer(
  args: readonly string[],
  env: Record<string, string> = {},
  port?: number,
  user?: { uid: number; gid: number; checkout: string },
): Promise<ServerProcess> {
  port ??= await freePort();
  const child = spawn(process.execPath, [CLI, 'serve', '--host', '127.0.0.1', '--port', String(port), ...args], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(user && { uid: user.uid, gid: user.gid, cwd: user.checkout }),
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    const onData = () => {
      if (!output.includes('listening on')) return;
      child.stdout.off('data', onData);
      child.off('exit', onExit);
      resolve();
    };
    const onExit = () => reject(new Error(`tessera serve exited early: ${output}`));
    child.stdout.on('data', onData);
    child.once('exit', onExit);
  });
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      return code;
    },
  };
}

/** `tessera serve` (see `spawnServer`) on a data directory of its own, removed once it has stopped. */
export async function spawnServerWithFreshData(args: readonly string[]): Promise<ServerProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-serve-'));
  const removeData = () => rmSync(dataDir, { recursive: true, force: true });
  const server = await spawnServer(['--data-dir', dataDir, ...args]).catch((error: unknown) => {
    removeData();
    throw error;
  });
  return {
    ...server,
    async stop() {
      const code = await server.stop();
      removeData();
      return code;
    },
  };
}
