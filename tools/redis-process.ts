import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Real redis-server processes on loopback, for the tests and the benchmarks. */

export const hasRedisServer = (): boolean => spawnSync('redis-server', ['--version']).status === 0;

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** Runs redis-cli against this server and returns its output. */
  cli(...args: string[]): string;
  stop(): Promise<void>;
  /** Starts the server again on the same port and data directory (AOF keeps the data). */
  start(): Promise<void>;
  /** Freezes the server (SIGSTOP): connections stay open but nothing answers. */
  pause(): void;
  resume(): void;
  /** Stops for good and removes the data directory. */
  dispose(): Promise<void>;
}

/**
 * A real redis-server on a free loopback port. `durable` (the default) turns on append-only
 * persistence with an fsync per write, so a restart keeps everything; benchmarks turn it off.
 */
export async function startRedis(options: { durable?: boolean } = {}): Promise<RedisServer> {
  const persistence = options.durable === false ? ['--appendonly', 'no'] : ['--appendonly', 'yes', '--appendfsync', 'always'];
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tessera-redis-'));
  let child: ChildProcess | undefined;

  const cli = (...args: string[]): string => {
    const result = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { encoding: 'utf8' });
    return result.stdout.trim();
  };

  const start = async (): Promise<void> => {
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, ...persistence, '--save', '', '--protected-mode', 'yes'],
      { stdio: 'ignore' },
    );
    const deadline = Date.now() + 10_000;
    while (cli('PING') !== 'PONG') {
      if (Date.now() > deadline) throw new Error(`redis-server did not start on port ${port}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  const stop = async (): Promise<void> => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = once(running, 'exit');
    running.kill('SIGCONT');
    running.kill('SIGTERM');
    await exited;
  };

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    cli,
    stop,
    start,
    pause: () => void child?.kill('SIGSTOP'),
    resume: () => void child?.kill('SIGCONT'),
    async dispose() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
