/**
 * Revocation propagation: 3, then 10 instances (separate processes) share one Redis, then one
 * PostgreSQL; each
 * revocation is made at one of them in turn. Tokens: stateless instances, a token revoked by jti,
 * timed until each of the others hears it from the feed (the moment it enters their in-memory
 * list), and until the revocation answers at its instance, with acknowledgement (every instance
 * has applied it) and without (the store's write only, as before acknowledgements); and the
 * acknowledgements each idle instance sends per second. Cached sessions: stateful instances serving their own copies, a session every instance
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
  /** jti -> epoch ms at which this instance sent, answered or heard it. */
  sent: Map<string, number>;
  answered: Map<string, number>;
  heard: Map<string, number>;
  waiting: Map<string, () => void>;
}

/** The shared store of one measurement: where instances point, and how it is taken down. */
interface SharedStore {
  readonly env: Record<string, string>;
  /** Acknowledgements the store has received so far. */
  acknowledgements(): number;
  dispose(): Promise<void>;
}

async function startStore(kind: 'redis' | 'postgres'): Promise<SharedStore> {
  if (kind === 'postgres') {
    const server = await startPostgres({ statements: true });
    const acknowledgements = () =>
      Number(server.sql("SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE query LIKE '%INSERT INTO tessera_revocation_acks%'"));
    return { env: { POSTGRES_URL: server.url }, acknowledgements, dispose: () => server.dispose() };
  }
  const redis = await startRedis({ durable: false });
  // Idle stateless instances run one script only: the acknowledgement.
  const acknowledgements = () => Number(/cmdstat_evalsha:calls=(\d+)/.exec(redis.cli('INFO', 'commandstats'))?.[1] ?? 0);
  return { env: { REDIS_URL: redis.url }, acknowledgements, dispose: () => redis.dispose() };
}

async function startInstance(store: SharedStore, script = 'revocation-node.js', acknowledge = true): Promise<Instance> {
  const port = await freePort();
  const child = spawn(process.execPath, [join('bench/servers', script)], {
    env: { ...process.env, ...store.env, PORT: String(port), NODE_ENV: 'production', ACKNOWLEDGE: acknowledge ? 'on' : 'off' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const instance: Instance = {
    child,
    url: `http://127.0.0.1:${port}`,
    sent: new Map(),
    answered: new Map(),
    heard: new Map(),
    waiting: new Map(),
  };
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
      if (event === 'answered') instance.answered.set(jti, Number(at));
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

interface TokenRevocations {
  /** Until each other instance heard it (ms, sorted). */
  heard: number[];
  /** Until the revocation answered at its instance (ms, sorted). */
  answered: number[];
  /** Acknowledgements each idle instance sent per second. */
  heartbeatsPerSecond: number;
}

/** COUNT revocations among `count` instances, each made at one of them in turn. */
async function measure(count: number, storeKind: 'redis' | 'postgres', acknowledge: boolean): Promise<TokenRevocations> {
  const store = await startStore(storeKind);
  const instances: Instance[] = [];
  const heard: number[] = [];
  const answered: number[] = [];
  let heartbeatsPerSecond: number;
  try {
    for (let i = 0; i < count; i++) instances.push(await startInstance(store, 'revocation-node.js', acknowledge));
    // Warm-up: connections, JIT.
    for (let i = 0; i < 50; i++) await revoke(instances, i % count, randomUUID());
    for (let i = 0; i < COUNT; i++) {
      const origin = instances[i % count]!;
      const jti = randomUUID();
      await revoke(instances, i % count, jti);
      const sentAt = origin.sent.get(jti)!;
      answered.push(origin.answered.get(jti)! - sentAt);
      for (const other of instances) if (other !== origin) heard.push(other.heard.get(jti)! - sentAt);
    }
    const [before, since] = [store.acknowledgements(), performance.now()];
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    heartbeatsPerSecond = (store.acknowledgements() - before) / count / ((performance.now() - since) / 1000);
  } finally {
    for (const instance of instances) instance.child.kill();
    await Promise.all(instances.map((instance) => (instance.child.exitCode === null ? once(instance.child, 'exit') : undefined)));
    await store.dispose();
  }
  return { heard: heard.sort((a, b) => a - b), answered: answered.sort((a, b) => a - b), heartbeatsPerSecond };
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
  const storeName = (store: 'redis' | 'postgres') => (store === 'redis' ? 'Redis' : 'PostgreSQL');
  const tokenRows: string[] = [];
  const sessionRows: string[] = [];
  for (const store of STORES) {
    for (const count of INSTANCE_COUNTS) {
      if (KINDS.includes('tokens')) {
        for (const acknowledge of [false, true]) {
          const { heard, answered, heartbeatsPerSecond } = await measure(count, store, acknowledge);
          tokenRows.push(
            `| ${storeName(store)} | ${count} | ${acknowledge ? 'yes' : 'no (before)'} | ${ms(percentile(answered, 50))} | ${ms(percentile(answered, 99))} | ${ms(percentile(heard, 50))} | ${ms(percentile(heard, 99))} | ${ms(heard.at(-1)!)} | ${heartbeatsPerSecond.toFixed(2)} |`,
          );
        }
      }
      if (KINDS.includes('sessions')) {
        const sorted = await measureSessions(count, store);
        sessionRows.push(
          `| ${storeName(store)} | ${count} | ${sorted.length} | ${ms(percentile(sorted, 50))} | ${ms(percentile(sorted, 90))} | ${ms(percentile(sorted, 99))} | ${ms(sorted.at(-1)!)} |`,
        );
      }
    }
  }
  const m = machine();
  const text = [
    `Revocation between instance processes sharing one store (loopback; Redis without persistence, PostgreSQL 15 without fsync): ${COUNT} revocations per row, each made at one instance in turn. ${m.cpu}, ${m.cores} cores, Node ${m.node}, ${m.date}: ten processes share two cores here.`,
    '',
    'A token revoked by jti: how long the revocation takes to answer at its instance (with acknowledgement, once every instance has applied it; without, once the store has it), how long until each other instance has the jti in memory, and the acknowledgements each idle instance sends per second (its heartbeat). An authenticated request sends no store command either way.',
    '',
    '| store | instances | acknowledged | answered p50 ms | answered p99 ms | heard p50 ms | heard p99 ms | heard max ms | acks / instance / s idle |',
    '|---|---:|---|---:|---:|---:|---:|---:|---:|',
    ...tokenRows,
    '',
    'A cached session logged out at one instance: until every other instance, asked again and again by a client over HTTP from the moment the logout was sent, answers 401 (the time includes that request).',
    '',
    '| store | instances | deliveries | p50 ms | p90 ms | p99 ms | max ms |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...sessionRows,
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
