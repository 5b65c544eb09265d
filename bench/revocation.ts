/**
 * Revocation propagation: 3, then 10 instances (separate processes) share one Redis, then one
 * PostgreSQL; each
 * revocation is made at one of them in turn. Tokens: stateless instances, a token revoked by jti,
 * timed until each of the others hears it from the feed (the moment it enters their in-memory
 * list). Cached sessions: stateful instances serving their own copies, a session every instance
 * has served, logged out at one, timed until each of the others answers 401 to a client polling
 * it. Sequential revocations, so this is latency, not throughput.
 *
 *   npm run bench:revocation [-- --count N --instances 3,10 --kinds tokens,sessions --stores redis,postgres]
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { startPostgres } from '../tools/postgres-process.js';
import { freePort, startRedis } from '../tools/redis-process.js';
import { machine, replaceReadmeSection } from './harness.js';

const { values: args } = parseArgs({
  options: {
    count: { type: 'string' },
    instances: { type: 'string' },
    kinds: { type: 'string' },
    stores: { type: 'string' },
    quick: { type: 'boolean' },
  },
});
const COUNT = Number(args.count ?? (args.quick ? 200 : 1000));
const INSTANCE_COUNTS = (args.instances ?? '3,10').split(',').map(Number);
const KINDS = (args.kinds ?? 'tokens,sessions').split(',') as ('tokens' | 'sessions')[];
const STORES = (args.stores ?? 'redis,postgres').split(',') as ('redis' | 'postgres')[];
const clock = () => performance.timeOrigin + performance.now();

interface Instance {
  child: ChildProcess;
  url: string;
  /** jti -> epoch ms at which this instance sent or heard it. */
  sent: Map<string, number>;
  heard: Map<string, number>;
  waiting: Map<string, () => void>;
}

/** The shared store of one measurement: where instances point, and how it is taken down. */
interface SharedStore {
  readonly env: Record<string, string>;
  dispose(): Promise<void>;
}

async function startStore(kind: 'redis' | 'postgres'): Promise<SharedStore> {
  if (kind === 'postgres') {
    const server = await startPostgres();
    return { env: { POSTGRES_URL: server.url }, dispose: () => server.dispose() };
  }
  const redis = await startRedis({ durable: false });
  return { env: { REDIS_URL: redis.url }, dispose: () => redis.dispose() };
}

async function startInstance(store: SharedStore, script = 'revocation-node.js'): Promise<Instance> {
  const port = await freePort();
  const child = spawn(process.execPath, [join('bench/servers', script)], {
    env: { ...process.env, ...store.env, PORT: String(port), NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const instance: Instance = { child, url: `http://127.0.0.1:${port}`, sent: new Map(), heard: new Map(), waiting: new Map() };
  let buffered = '';
  let ready: () => void;
  const started = new Promise<void>((resolve) => (ready = resolve));
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      const [event, jti = '', at = ''] = line.split(' ');
      if (event === 'ready') ready();
      // A session logout prints only its time: the logouts are sequential.
      if (event === 'sent') instance.sent.set(at ? jti : 'session', Number(at || jti));
      if (event === 'heard') {
        instance.heard.set(jti, Number(at));
        instance.waiting.get(jti)?.();
      }
    }
  });
  await started;
  return instance;
}

const heardBy = (instance: Instance, jti: string) =>
  instance.heard.has(jti) ? Promise.resolve() : new Promise<void>((resolve) => instance.waiting.set(jti, resolve));

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

/** The delivery latencies (ms) of COUNT revocations among `count` instances. */
async function measure(count: number, storeKind: 'redis' | 'postgres'): Promise<number[]> {
  const store = await startStore(storeKind);
  const instances: Instance[] = [];
  const latencies: number[] = [];
  try {
    for (let i = 0; i < count; i++) instances.push(await startInstance(store));
    // Warm-up: connections, JIT.
    for (let i = 0; i < 50; i++) await revoke(instances, i % count, randomUUID());
    for (let i = 0; i < COUNT; i++) {
      const origin = i % count;
      const jti = randomUUID();
      await revoke(instances, origin, jti);
      const sentAt = instances[origin]!.sent.get(jti)!;
      for (const [index, other] of instances.entries()) if (index !== origin) latencies.push(other.heard.get(jti)! - sentAt);
    }
  } finally {
    for (const instance of instances) instance.child.kill();
    await Promise.all(instances.map((instance) => (instance.child.exitCode === null ? once(instance.child, 'exit') : undefined)));
    await store.dispose();
  }
  return latencies.sort((a, b) => a - b);
}

/** The latencies (ms) until the other instances refuse a cached session logged out at one. */
async function measureSessions(count: number, storeKind: 'redis' | 'postgres'): Promise<number[]> {
  const store = await startStore(storeKind);
  const instances: Instance[] = [];
  const latencies: number[] = [];
  try {
    for (let i = 0; i < count; i++) instances.push(await startInstance(store, 'session-node.js'));
    const total = COUNT + 50; // the first 50 warm up connections and the JIT
    for (let i = 0; i < total; i++) {
      const origin = instances[i % count]!;
      const login = await fetch(`${origin.url}/login`, { method: 'POST' });
      const cookie = login.headers.getSetCookie()[0]!.split(';')[0]!;
      // Every instance serves it once, so each holds its own copy.
      for (const instance of instances) {
        const me = await fetch(`${instance.url}/me`, { headers: { cookie } });
        if (me.status !== 200) throw new Error(`a fresh session answered ${me.status}`);
      }
      const logout = await fetch(`${origin.url}/logout`, { method: 'POST', headers: { cookie } });
      if (logout.status !== 200) throw new Error(`logout answered ${logout.status}`);
      const refusedAt = await Promise.all(
        instances.filter((instance) => instance !== origin).map((instance) => firstRefusal(instance.url, cookie)),
      );
      while (!origin.sent.has('session')) await new Promise((resolve) => setTimeout(resolve, 1));
      const sentAt = origin.sent.get('session')!;
      origin.sent.delete('session');
      if (i >= 50) latencies.push(...refusedAt.map((at) => at - sentAt));
    }
  } finally {
    for (const instance of instances) instance.child.kill();
    await Promise.all(instances.map((instance) => (instance.child.exitCode === null ? once(instance.child, 'exit') : undefined)));
    await store.dispose();
  }
  return latencies.sort((a, b) => a - b);
}

/** Asks `url` for the session until it answers 401; the moment that answer arrived. */
async function firstRefusal(url: string, cookie: string): Promise<number> {
  for (;;) {
    const me = await fetch(`${url}/me`, { headers: { cookie } });
    if (me.status === 401) return clock();
    if (me.status !== 200) throw new Error(`/me answered ${me.status}`);
  }
}

async function main() {
  execFileSync('npm', ['run', 'build', '--silent'], { stdio: 'inherit' });
  const ms = (value: number) => value.toFixed(2);
  const rows: string[] = [];
  for (const store of STORES) {
    for (const kind of KINDS) {
      for (const count of INSTANCE_COUNTS) {
        const sorted = kind === 'tokens' ? await measure(count, store) : await measureSessions(count, store);
        rows.push(
          `| ${store === 'redis' ? 'Redis' : 'PostgreSQL'} | ${kind === 'tokens' ? 'a token (jti), heard from the feed' : 'a cached session (logout), refused'} | ${count} | ${sorted.length} | ${ms(percentile(sorted, 50))} | ${ms(percentile(sorted, 90))} | ${ms(percentile(sorted, 99))} | ${ms(sorted.at(-1)!)} |`,
        );
      }
    }
  }
  const m = machine();
  const text = [
    `Revocation propagation between instance processes sharing one store (loopback; Redis without persistence, PostgreSQL 15 without fsync): ${COUNT} revocations per row, each made at one instance in turn. A token is timed until every other instance has its jti in memory; a cached session until every other instance, asked again and again by a client over HTTP, answers 401 (the time includes that request). ${m.cpu}, ${m.cores} cores, Node ${m.node}, ${m.date}: ten processes share two cores here.`,
    '',
    '| store | revoked | instances | deliveries | p50 ms | p90 ms | p99 ms | max ms |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
    ...rows,
  ].join('\n');
  console.log(`\n${text}\n`);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(`bench/results/revocation-propagation${args.quick ? '-quick' : ''}.md`, `${text}\n`);
  if (!args.quick) replaceReadmeSection('revocation-propagation', text);
}

/** Revokes `jti` at instance `origin` and waits until every instance has heard it. */
async function revoke(instances: Instance[], origin: number, jti: string): Promise<void> {
  const everyone = Promise.all(instances.map((instance) => heardBy(instance, jti)));
  const response = await fetch(`${instances[origin]!.url}/revoke/${jti}`, { method: 'POST' });
  if (response.status !== 204) throw new Error(`revoke answered ${response.status}`);
  await everyone;
}

await main();
