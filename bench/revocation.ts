/**
 * Revocation propagation: 3, then 10 stateless instances (separate processes) share one Redis;
 * each revocation is made at one of them in turn, and the time until each of the others hears it
 * from the feed is recorded (the moment it enters their in-memory list). Sequential revocations,
 * so this is latency, not throughput. Usage: npm run bench:revocation [-- --count N --instances 3,10]
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { freePort, startRedis } from '../tools/redis-process.js';
import { machine, replaceReadmeSection } from './harness.js';

const { values: args } = parseArgs({ options: { count: { type: 'string' }, instances: { type: 'string' }, quick: { type: 'boolean' } } });
const COUNT = Number(args.count ?? (args.quick ? 200 : 1000));
const INSTANCE_COUNTS = (args.instances ?? '3,10').split(',').map(Number);

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

/** The delivery latencies (ms) of COUNT revocations among `count` instances. */
async function measure(count: number): Promise<number[]> {
  const redis = await startRedis({ durable: false });
  const instances: Instance[] = [];
  const latencies: number[] = [];
  try {
    for (let i = 0; i < count; i++) instances.push(await startInstance(redis.url));
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
    await redis.dispose();
  }
  return latencies.sort((a, b) => a - b);
}

async function main() {
  execFileSync('npm', ['run', 'build', '--silent'], { stdio: 'inherit' });
  const ms = (value: number) => value.toFixed(2);
  const rows: string[] = [];
  for (const count of INSTANCE_COUNTS) {
    const sorted = await measure(count);
    rows.push(
      `| ${count} | ${sorted.length} | ${ms(percentile(sorted, 50))} | ${ms(percentile(sorted, 90))} | ${ms(percentile(sorted, 99))} | ${ms(sorted.at(-1)!)} |`,
    );
  }
  const m = machine();
  const text = [
    `Revocation propagation between instance processes sharing one Redis (loopback, no persistence): ${COUNT} revocations per row, each made at one instance in turn and timed until every other instance has it in memory. ${m.cpu}, ${m.cores} cores, Node ${m.node}, ${m.date}: ten processes share two cores here.`,
    '',
    '| instances | deliveries | p50 ms | p90 ms | p99 ms | max ms |',
    '|---:|---:|---:|---:|---:|---:|',
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
