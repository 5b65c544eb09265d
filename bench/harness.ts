/** What every HTTP benchmark shares: contender processes, a measured round (CPU time, Redis commands), medians, the machine. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { freePort, type RedisServer } from '../tools/redis-process.js';
import { load } from './load.js';

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** Starts `bench/servers/<script>` on a free loopback port and waits for it to print "ready". */
export async function startServer(script: string, env: Record<string, string>, name = script): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [join('bench/servers', script)], {
    env: { ...process.env, ...env, PORT: String(port), NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code} before it was ready`)));
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill();
    await exited;
  };
  return { child, url: `http://127.0.0.1:${port}`, port, stop };
}

/** Starts several servers at once; if one fails, stops the others before throwing. */
export async function startServers(
  specs: readonly { script: string; env: Record<string, string>; name: string }[],
): Promise<ServerProcess[]> {
  const started = await Promise.allSettled(specs.map((spec) => startServer(spec.script, spec.env, spec.name)));
  const failure = started.find((outcome) => outcome.status === 'rejected');
  if (!failure) return started.map((outcome) => (outcome as PromiseFulfilledResult<ServerProcess>).value);
  await Promise.all(started.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value.stop() : undefined)));
  throw failure.reason;
}

/** Logs in once and returns the headers that authenticate: a cookie, or a bearer token, plus the login response. */
export async function login(url: string): Promise<{ headers: Record<string, string>; setCookie: string | undefined }> {
  const response = await fetch(`${url}/login`, { method: 'POST' });
  if (response.status !== 200) throw new Error(`${url}: login answered ${response.status}`);
  const body = (await response.json()) as { token?: string };
  const setCookie = response.headers.getSetCookie()[0];
  const headers: Record<string, string> = body.token
    ? { authorization: `Bearer ${body.token}` }
    : setCookie
      ? { cookie: setCookie.split(';')[0]! }
      : {};
  const me = await fetch(`${url}/me`, { headers });
  if (me.status !== 200) throw new Error(`${url}: the authenticated route answered ${me.status}`);
  return { headers, setCookie };
}

export interface RoundResult {
  rps: number;
  p50: number;
  p99: number;
  failed: number;
  /** Server CPU time per request, in µs. */
  cpu: number;
  /** Commands (Redis) or statements (PostgreSQL) the store served per request, when one is watched. */
  store: number;
}

/**
 * One round of load on a server's `GET /me`, with the server's CPU and, given a counter of what
 * the store has served so far (`redisCalls`, `PostgresServer.statements`), the store's work per request.
 */
export async function measureRound(
  server: ServerProcess,
  headers: Record<string, string>,
  seconds: number,
  connections: number,
  storeCalls?: () => number,
): Promise<RoundResult> {
  const calls = storeCalls ? storeCalls() : 0;
  const cpu = cpuMicros(server.child.pid!);
  const result = await load(`${server.url}/me`, headers, seconds, connections);
  return {
    rps: result.rps,
    p50: result.p50,
    p99: result.p99,
    failed: result.failed,
    cpu: (cpuMicros(server.child.pid!) - cpu) / result.requests,
    store: storeCalls ? (storeCalls() - calls) / result.requests : 0,
  };
}

/** User plus system CPU time of a process, in microseconds (from /proc). */
export function cpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) / 100) * 1e6; // utime, stime in 1/100 s ticks
}

/**
 * Commands Redis has served so far for requests, from INFO commandstats: not INFO itself, nor what
 * Tessera's instances send whatever the traffic, the revocation feed's polls (XREAD) and
 * acknowledgements (each an EVALSHA that runs TIME and HSET; nothing else calls TIME).
 */
export function redisCalls(redis: RedisServer): number {
  const calls = new Map<string, number>();
  for (const line of redis.cli('INFO', 'commandstats').split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (match) calls.set(match[1]!, Number(match[2]));
  }
  const total = [...calls].reduce((sum, [command, count]) => (command === 'info' || command === 'xread' ? sum : sum + count), 0);
  return total - 3 * (calls.get('time') ?? 0);
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export interface Machine {
  cpu: string;
  cores: number;
  node: string;
  date: string;
}

export function machine(): Machine {
  return { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version, date: new Date().toISOString().slice(0, 10) };
}

/** Keeps a docs section (between `<!-- bench:NAME -->` markers, in one of docs/*.md) equal to the committed results. */
export function replaceReadmeSection(marker: string, content: string): void {
  const pattern = new RegExp(`(<!-- bench:${marker} -->\\n)[\\s\\S]*?(<!-- /bench:${marker} -->)`);
  const file = readdirSync('docs')
    .map((name) => `docs/${name}`)
    .find((path) => path.endsWith('.md') && pattern.test(readFileSync(path, 'utf8')));
  if (!file) throw new Error(`no docs/*.md has a bench:${marker} section`);
  writeFileSync(file, readFileSync(file, 'utf8').replace(pattern, `$1${content}\n$2`));
}
