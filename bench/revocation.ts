/**
 * Revocation propagation: three stateless instances (separate processes) share one Redis; each
 * revocation is made at one of them in turn, and the time until each of the two others hears it
 * from the feed is recorded (the moment it enters their in-memory list). Sequential revocations,
 * so this is latency, not throughput. Usage: npm run bench:revocation [-- --count N]
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { freePort, startRedis } from '../tools/redis-process.js';
import { machine, replaceReadmeSection } from './harness.js';

const { values: args } = parseArgs({ options: { count: { type: 'string' }, quick: { type: 'boolean' } } });
const COUNT = Number(args.count ?? (args.quick ? 200 : 1000));
const INSTANCES = 3;

interface Instance {
  child: ChildProcess;
  url: string;
  /** jti -> epoch ms at which this instance sent or heard it. */
  sent: Map<string, number>;
  heard: Map<string, number>;
  waiting: Map<string, () => void>;
}

async function startInstance(redisUrl: string): Promise<Instance> {
  const port = await freePort();
  const child = spawn(process.execPath, ['bench/servers/revocation-node.js'], {
    env: { ...process.env, PORT: String(port), REDIS_URL: redisUrl, NODE_ENV: 'production' },
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
      if (event === 'sent') instance.sent.set(jti, Number(at));
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

async function main() {
  execFileSync('npm', ['run', 'build', '--silent'], { stdio: 'inherit' });
  const redis = await startRedis({ durable: false });
  const instances: Instance[] = [];
  const latencies: number[] = [];
  try {
    for (let i = 0; i < INSTANCES; i++) instances.push(await startInstance(redis.url));
    // Warm-up: connections, JIT.
    for (let i = 0; i < 50; i++) await revoke(instances, i % INSTANCES, randomUUID());
    for (let i = 0; i < COUNT; i++) {
      const origin = i % INSTANCES;
      const jti = randomUUID();
      await revoke(instances, origin, jti);
      const sentAt = instances[origin]!.sent.get(jti)!;
      for (const [index, other] of instances.entries()) if (index !== origin) latencies.push(other.heard.get(jti)! - sentAt);
    }
  } finally {
    for (const instance of instances) instance.child.kill();
    await Promise.all(instances.map((instance) => (instance.child.exitCode === null ? once(instance.child, 'exit') : undefined)));
    await redis.dispose();
  }

  const sorted = latencies.sort((a, b) => a - b);
  const ms = (value: number) => value.toFixed(2);
  const m = machine();
  const text = [
    `Revocation propagation between ${INSTANCES} instance processes sharing one Redis (loopback, no persistence): ${COUNT} revocations, each made at one instance in turn and timed until each of the two others has it in memory (${sorted.length} deliveries). ${m.cpu}, ${m.cores} cores, Node ${m.node}, ${m.date}.`,
    '',
    '| deliveries | p50 ms | p90 ms | p99 ms | max ms |',
    '|---:|---:|---:|---:|---:|',
    `| ${sorted.length} | ${ms(percentile(sorted, 50))} | ${ms(percentile(sorted, 90))} | ${ms(percentile(sorted, 99))} | ${ms(sorted.at(-1)!)} |`,
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
