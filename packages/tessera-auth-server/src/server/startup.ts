import { once } from 'node:events';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { ServerStore } from 'tessera-auth';
import type { ServeOptions } from './serve.js';

// What `tessera serve` says when it cannot start: one line that names what failed (the port, the
// store without its password) and what to check, instead of a stack.

/** Where the store is, for an error message: URLs without their password. */
function describeStore(options: ServeOptions): string {
  const hidden = (url: string) => {
    if (!URL.canParse(url)) return 'an unparsable URL';
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.href;
  };
  switch (options.store) {
    case 'redis':
      return options.redisCluster ? `the Redis Cluster at ${options.redisCluster.join(', ')}` : `Redis at ${hidden(options.redisUrl)}`;
    case 'postgres':
      return options.postgresUrl === undefined ? "PostgreSQL (libpq's PG* variables)" : `PostgreSQL at ${hidden(options.postgresUrl)}`;
    case 'sqlite':
      return `the SQLite database ${join(options.dataDir, 'tessera.db')}`;
    case 'memory':
      return 'the memory store';
  }
}

/** Why a TCP connection to `url`'s host fails (ECONNREFUSED, ENOTFOUND …), or undefined once one opens. */
function tcpFailure(url: string, defaultPort: number): Promise<string | undefined> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname.replace(/^\[|\]$/g, '') || '127.0.0.1', port: Number(port || defaultPort), timeout: 2_000 });
    const done = (failure: string | undefined) => {
      socket.destroy();
      resolve(failure);
    };
    socket.once('connect', () => done(undefined));
    socket.once('timeout', () => done('ETIMEDOUT'));
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
  });
}

/** What the operator should check, for a store that did not answer within the wait. */
async function whyUnreachable(options: ServeOptions, error: unknown): Promise<string> {
  const url =
    options.store === 'redis' && !options.redisCluster ? options.redisUrl : options.store === 'postgres' ? options.postgresUrl : undefined;
  const said = error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
  if (url === undefined || !URL.canParse(url)) return said;
  const failure = await tcpFailure(url, options.store === 'redis' ? 6379 : 5432);
  if (failure === 'ECONNREFUSED') return 'ECONNREFUSED: nothing listens there';
  if (failure === 'ENOTFOUND' || failure === 'EAI_AGAIN') return `${failure}: the host name does not resolve`;
  if (failure !== undefined) return failure;
  const kind = options.store === 'redis' ? 'Redis' : 'PostgreSQL';
  return `it accepts connections but did not answer: check the password, TLS and that it is ${kind} (${said})`;
}

/** Waits until the store answers, so the first requests do not fail while Redis or PostgreSQL connects. */
export async function waitForStore(store: ServerStore, options: ServeOptions, timeoutMs: number): Promise<void> {
  const started = Date.now();
  for (;;) {
    try {
      return await store.ping();
    } catch (error) {
      if (Date.now() - started >= timeoutMs) {
        const seconds = Math.round((Date.now() - started) / 1000);
        throw new StartupError(`cannot reach ${describeStore(options)} (tried for ${seconds} s): ${await whyUnreachable(options, error)}.`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** A server that cannot start, said in one line (the CLI prints it without a stack). */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

/** Listens on the options' host and port, or says in one line why it cannot. */
export async function listen(server: Server, options: ServeOptions): Promise<void> {
  server.listen(options.port, options.host);
  try {
    await once(server, 'listening');
  } catch (error) {
    const where = `${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port}`;
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'EADDRINUSE'
        ? 'the port is in use: stop what listens there, or choose another port with --port'
        : code === 'EACCES'
          ? 'permission denied (ports below 1024 need privileges): choose another port with --port'
          : code === 'EADDRNOTAVAIL'
            ? 'no such address on this machine: check --host'
            : String(error);
    throw new StartupError(`cannot listen on ${where}: ${why}.`);
  }
}
