/**
 * The revocation stream (`GET /revocations/stream`), measured against a real `tessera serve` on
 * Redis:
 * - propagation: three followers of the stream and, beside them, three followers of the Redis feed
 *   itself (each a process of its own); COUNT revocations are written to the store one at a time,
 *   as another instance of the identity server would, each timed from just before the write until
 *   each follower has it in memory;
 * - what followers cost the server: logins (latency, server CPU per login) and the idle server's
 *   CPU, with no follower and with FOLLOWERS connected, in interleaved rounds.
 *
 *   npm run bench:stream [-- --count N --followers N --quick]
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createRedisStore } from 'tessera-auth/redis';
import { freePort, startRedis } from '../tools/redis-process.js';
import { cpuMicros, machine, median, replaceReadmeSection } from './harness.js';

const { values: args } = parseArgs({ options: { count: { type: 'string' }, followers: { type: 'string' }, quick: { type: 'boolean' } } });
const COUNT = Number(args.count ?? (args.quick ? 200 : 1000));
const FOLLOWERS = Number(args.followers ?? 1000);
const LOGINS = args.quick ? 30 : 100;
const ROUNDS = args.quick ? 1 : 3;
const FAN_OUT = args.quick ? 50 : 200;
const CLIENT = { id: 'bench', secret: 'a-bench-client-secret-of-32-characters' };
const ADMIN = { username: 'admin', password: 'a long admin password' };
const now = () => performance.timeOrigin + performance.now();
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

interface Follower {
  readonly kind: 'stream' | 'redis';
  readonly child: ChildProcess;
  readonly heard: Map<string, number>;
  readonly waiting: Map<string, () => void>;
}

/** A node script from bench/servers, once it prints "ready"; `onLine` sees every other line. */
async function startScript(script: string, env: Record<string, string>, onLine: (line: string) => void = () => {}): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join('bench/servers', script)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let buffered = '';
  let ready: () => void;
  const started = new Promise<void>((resolve) => (ready = resolve));
  child.stdout!.on('data', (chunk: Buffer) => {
    const lines = (buffered + chunk.toString()).split('\n');
    buffered = lines.pop()!;
    for (const line of lines) (line === 'ready' ? ready : () => onLine(line))();
  });
  await Promise.race([started, once(child, 'exit').then(() => Promise.reject(new Error(`${script} exited`)))]);
  return child;
}

async function startFollower(kind: Follower['kind'], env: Record<string, string>): Promise<Follower> {
  const heard = new Map<string, number>();
  const waiting = new Map<string, () => void>();
  const child = await startScript('revocation-follower.js', { ...env, FOLLOW: kind }, (line) => {
    const [event, value = '', at = ''] = line.split(' ');
    if (event !== 'heard') return;
    heard.set(value, Number(at));
    waiting.get(value)?.();
  });
  return { kind, child, heard, waiting };
}

const heardBy = (follower: Follower, value: string) =>
  follower.heard.has(value) ? Promise.resolve() : new Promise<void>((resolve) => follower.waiting.set(value, resolve));

/** `tessera serve` on the given Redis, allowed as many connections from loopback as the crowd needs. */
async function startIdentity(redisUrl: string, dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const flags = ['--port', String(port), '--strategy', 'stateless', '--store', 'redis', '--redis-url', redisUrl];
  flags.push('--issuer', `http://127.0.0.1:${port}`, '--data-dir', dataDir, '--client', `${CLIENT.id}:${CLIENT.secret}`);
  flags.push('--bootstrap-admin', `${ADMIN.username}:${ADMIN.password}`, '--log-level', 'warn');
  flags.push('--max-connections', String(FOLLOWERS + 1000), '--max-connections-per-client', '0');
  // No session cap: a login past it would end the oldest session, a revocation, measured on its own below.
  flags.push('--max-sessions-per-user', '1000000');
  const child = spawn(process.execPath, ['packages/tessera-auth-server/dist/cli/main.js', 'serve', ...flags], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()).includes('listening on') && resolve());
    child.once('exit', () => reject(new Error(`tessera serve exited: ${output}`)));
  });
  return { child, url: `http://127.0.0.1:${port}` };
}

/** Sequential logins: each one's latency (ms), and the server's CPU per login (ms). */
async function logins(url: string, pid: number): Promise<{ latencies: number[]; cpuMs: number }> {
  const latencies: number[] = [];
  const cpu = cpuMicros(pid);
  for (let i = 0; i < LOGINS; i++) {
    const started = now();
    const response = await fetch(`${url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...ADMIN, transport: 'body' }),
    });
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`login answered ${response.status}`);
    latencies.push(now() - started);
  }
  return { latencies, cpuMs: (cpuMicros(pid) - cpu) / 1000 / LOGINS };
}

/** The server's CPU per revocation written to the store, which it then sends to every follower (ms). */
async function fanOut(writer: ReturnType<typeof createRedisStore>, pid: number): Promise<number> {
  const cpu = cpuMicros(pid);
  for (let i = 0; i < FAN_OUT; i++) await writer.revocations.add({ kind: 'jti', value: randomUUID(), expiresAt: Date.now() + 600_000 });
  await new Promise((resolve) => setTimeout(resolve, 200)); // the last ones reach the server
  return (cpuMicros(pid) - cpu) / 1000 / FAN_OUT;
}

/** The server's CPU while nothing but the followers' heartbeats happens (ms of CPU per second). */
async function idleCpu(pid: number): Promise<number> {
  const cpu = cpuMicros(pid);
  await new Promise((resolve) => setTimeout(resolve, 5_000));
  return (cpuMicros(pid) - cpu) / 1000 / 5;
}

async function main() {
  execFileSync('npm', ['run', 'build', '--silent'], { stdio: 'inherit' });
  const redis = await startRedis({ durable: false });
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-bench-stream-'));
  const children: ChildProcess[] = [];
  const writer = createRedisStore({ url: redis.url });
  try {
    const identity = await startIdentity(redis.url, dataDir);
    children.push(identity.child);
    const env = {
      STREAM_URL: `${identity.url}/revocations/stream`,
      CLIENT_ID: CLIENT.id,
      CLIENT_SECRET: CLIENT.secret,
      REDIS_URL: redis.url,
    };

    // Propagation, stream and feed side by side.
    const followers: Follower[] = [];
    for (const kind of ['stream', 'redis'] as const) for (let i = 0; i < 3; i++) followers.push(await startFollower(kind, env));
    children.push(...followers.map((follower) => follower.child));
    const latencies = { stream: [] as number[], redis: [] as number[] };
    for (let i = 0; i < COUNT + 50; i++) {
      const value = randomUUID();
      const everyone = Promise.all(followers.map((follower) => heardBy(follower, value)));
      const sentAt = now();
      await writer.revocations.add({ kind: 'jti', value, expiresAt: Date.now() + 600_000 });
      await everyone;
      if (i < 50) continue; // warm-up: connections, JIT
      for (const follower of followers) latencies[follower.kind].push(follower.heard.get(value)! - sentAt);
    }
    for (const follower of followers) follower.child.kill();

    // What a crowd of followers costs the server: interleaved rounds without and with it.
    await logins(identity.url, identity.child.pid!); // warm-up, and past the per-user session cap
    const without = { latencies: [] as number[], cpuMs: [] as number[], idle: [] as number[], fanOut: [] as number[] };
    const withCrowd = { latencies: [] as number[], cpuMs: [] as number[], idle: [] as number[], fanOut: [] as number[] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const crowd of [false, true]) {
        const into = crowd ? withCrowd : without;
        const crowdProcess = crowd ? await startScript('stream-crowd.js', { ...env, FOLLOWERS: String(FOLLOWERS) }) : undefined;
        const measured = await logins(identity.url, identity.child.pid!);
        into.latencies.push(...measured.latencies);
        into.cpuMs.push(measured.cpuMs);
        into.idle.push(await idleCpu(identity.child.pid!));
        into.fanOut.push(await fanOut(writer, identity.child.pid!));
        if (crowdProcess) {
          crowdProcess.kill();
          await once(crowdProcess, 'exit');
        }
      }
    }
    report(latencies, without, withCrowd);
  } finally {
    await writer.close();
    for (const child of children) child.kill();
    await Promise.all(children.map((child) => (child.exitCode === null && child.signalCode === null ? once(child, 'exit') : undefined)));
    await redis.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function report(
  latencies: Record<'stream' | 'redis', number[]>,
  without: { latencies: number[]; cpuMs: number[]; idle: number[]; fanOut: number[] },
  withCrowd: { latencies: number[]; cpuMs: number[]; idle: number[]; fanOut: number[] },
) {
  const ms = (value: number) => value.toFixed(2);
  const propagation = (['stream', 'redis'] as const).map((kind) => {
    const sorted = [...latencies[kind]].sort((a, b) => a - b);
    const how = kind === 'stream' ? "the identity server's stream (SSE, client credentials)" : 'the Redis feed itself (store credentials)';
    return `| ${how} | 3 | ${sorted.length} | ${ms(percentile(sorted, 50))} | ${ms(percentile(sorted, 90))} | ${ms(percentile(sorted, 99))} | ${ms(sorted.at(-1)!)} |`;
  });
  const crowdRow = (label: string, run: typeof without) => {
    const sorted = [...run.latencies].sort((a, b) => a - b);
    return `| ${label} | ${ms(percentile(sorted, 50))} | ${ms(percentile(sorted, 99))} | ${ms(median(run.cpuMs))} | ${ms(median(run.idle))} | ${ms(median(run.fanOut))} |`;
  };
  const m = machine();
  const text = [
    `Revocations through the stream, against followers of the Redis feed itself: one \`tessera serve\` (stateless, Redis on loopback without persistence), three followers of each kind, each a process of its own; ${COUNT} revocations written to the store one at a time (as another instance would), each timed from just before the write until a follower has it in memory. Then ${FOLLOWERS.toLocaleString('en-US')} followers connected at once (one process, raw connections): ${LOGINS} sequential logins per round (none past a session cap, so none revokes), 5 s of idle, then ${FAN_OUT} revocations written to the store, ${ROUNDS} interleaved round${ROUNDS > 1 ? 's' : ''} with and without them. ${m.cpu}, ${m.cores} cores, Node ${m.node}, ${m.date}.`,
    '',
    '| a follower of | followers | deliveries | p50 ms | p90 ms | p99 ms | max ms |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...propagation,
    '',
    '| followers connected | login p50 ms | login p99 ms | server CPU per login, ms | idle server CPU, ms per s | server CPU per revocation, ms |',
    '|---|---:|---:|---:|---:|---:|',
    crowdRow('none', without),
    crowdRow(FOLLOWERS.toLocaleString('en-US'), withCrowd),
  ].join('\n');
  console.log(`\n${text}\n`);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(`bench/results/revocation-stream${args.quick ? '-quick' : ''}.md`, `${text}\n`);
  if (!args.quick) replaceReadmeSection('revocation-stream', text);
}

await main();
