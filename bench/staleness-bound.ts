/**
 * The staleness bound: how long an instance trusts its copy of the revocation list without hearing
 * from the feed, and how long a change waits for an instance that has gone silent. Three stateless
 * instances (processes) share one Redis, then one PostgreSQL; for each bound:
 * - load: every instance saturated; requests refused with 503 although nothing is down;
 * - the store frozen (SIGSTOP) for 1 s, then 3 s, under the same load: a failover that leaves
 *   connections hanging instead of closing them, the case an instance cannot detect but by silence;
 * - the store restarted under load: connections closed, which every instance sees at once;
 * - one instance frozen: how long a logout at another waits before it answers.
 *
 *   npm run bench:staleness [-- --bounds 1,2,5 --stores redis,postgres --seconds 10]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { startPostgres } from '../tools/postgres-process.js';
import { startRedis } from '../tools/redis-process.js';
import { login, machine, median, replaceReadmeSection, startServers, type ServerProcess } from './harness.js';
import { load, type LoadResult } from './load.js';

const { values: args } = parseArgs({
  options: { bounds: { type: 'string' }, stores: { type: 'string' }, seconds: { type: 'string' }, quick: { type: 'boolean' } },
});
const BOUNDS = (args.bounds ?? '1,2,5').split(',').map(Number);
const STORES = (args.stores ?? 'redis,postgres').split(',') as ('redis' | 'postgres')[];
const SECONDS = Number(args.seconds ?? (args.quick ? 4 : 10));
const CONNECTIONS = 8;
const FROZEN_SAMPLES = args.quick ? 1 : 3;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Store {
  readonly env: Record<string, string>;
  pause(): void;
  resume(): void;
  restart(): Promise<void>;
  dispose(): Promise<void>;
}

async function startStore(kind: 'redis' | 'postgres'): Promise<Store> {
  const server = kind === 'redis' ? await startRedis({ durable: false }) : await startPostgres();
  return {
    env: kind === 'redis' ? { REDIS_URL: server.url } : { POSTGRES_URL: server.url },
    pause: () => server.pause(),
    resume: () => server.resume(),
    async restart() {
      await server.stop();
      await server.start();
    },
    dispose: () => server.dispose(),
  };
}

/** Every instance loaded at once for SECONDS while `during` runs: the requests refused, of all. */
async function loaded(instances: readonly ServerProcess[], tokens: readonly Record<string, string>[], during = async () => {}) {
  const [results] = await Promise.all([
    Promise.all(instances.map((instance, i) => load(`${instance.url}/me`, tokens[i]!, SECONDS, CONNECTIONS))),
    during(),
  ]);
  const sum = (pick: (result: LoadResult) => number) => results.reduce((total, result) => total + pick(result), 0);
  return { refused: sum((result) => result.failed), requests: sum((result) => result.requests) };
}

/** Until every instance serves its token again (after a store restart, reconnecting takes a moment). */
async function allServing(instances: readonly ServerProcess[], tokens: readonly Record<string, string>[]): Promise<void> {
  for (const [i, instance] of instances.entries())
    while ((await fetch(`${instance.url}/me`, { headers: tokens[i]! })).status !== 200) await sleep(50);
}

/** A logout at the first instance while the second is frozen: milliseconds until it answers. */
async function logoutWithOneFrozen(instances: readonly ServerProcess[]): Promise<number> {
  const [a, b] = instances;
  const { headers } = await login(a!.url);
  b!.child.kill('SIGSTOP');
  try {
    const started = performance.now();
    const response = await fetch(`${a!.url}/logout`, { method: 'POST', headers });
    if (response.status !== 204) throw new Error(`logout answered ${response.status}`);
    return performance.now() - started;
  } finally {
    b!.child.kill('SIGCONT');
  }
}

interface Row {
  store: string;
  bound: number;
  scenarios: Record<string, { refused: number; requests: number }>;
  frozenWaitMs: number;
}

async function measure(kind: 'redis' | 'postgres', bound: number): Promise<Row> {
  const store = await startStore(kind);
  const env = { ...store.env, MAX_STALENESS: String(bound) };
  const spec = (name: string) => ({ script: 'tessera-stateless.js', env, name });
  const instances = await startServers([spec('a'), spec('b'), spec('c')]);
  try {
    const tokens = await Promise.all(instances.map(async (instance) => (await login(instance.url)).headers));
    const scenarios: Row['scenarios'] = {};
    scenarios.load = await loaded(instances, tokens);
    for (const pauseMs of [1000, 3000]) {
      scenarios[`frozen ${pauseMs / 1000} s`] = await loaded(instances, tokens, async () => {
        await sleep(1000);
        store.pause();
        await sleep(pauseMs);
        store.resume();
      });
      await allServing(instances, tokens);
    }
    scenarios.restarted = await loaded(instances, tokens, async () => {
      await sleep(1000);
      await store.restart();
    });
    await allServing(instances, tokens);
    const waits: number[] = [];
    for (let sample = 0; sample < FROZEN_SAMPLES; sample++) {
      waits.push(await logoutWithOneFrozen(instances));
      await allServing(instances, tokens);
    }
    const row = { store: kind === 'redis' ? 'Redis' : 'PostgreSQL', bound, scenarios, frozenWaitMs: median(waits) };
    console.log(JSON.stringify(row));
    return row;
  } finally {
    await Promise.all(instances.map((instance) => instance.stop()));
    await store.dispose();
  }
}

function report(rows: readonly Row[]): void {
  const share = ({ refused, requests }: { refused: number; requests: number }) =>
    `${refused.toLocaleString('en-US')} (${((100 * refused) / Math.max(1, requests)).toFixed(1)}%)`;
  const m = machine();
  const text = [
    `Three stateless instances (processes, Express adapter) sharing one store on loopback, each loaded for ${SECONDS} s by ${CONNECTIONS} connections (autocannon, in the benchmark's process) per scenario; the store frozen (SIGSTOP) or restarted 1 s into it. A cell is the requests answered 503 of all requests to the three instances; nothing revoked is ever accepted in any of them (acknowledged revocation). The last column: a logout at one instance while another is frozen, median of ${FROZEN_SAMPLES}, until it answers. ${m.cpu}, ${m.cores} cores, Node ${m.node}, ${m.date}.`,
    '',
    `| store | bound | 503s under load | store frozen 1 s | store frozen 3 s | store restarted | logout, one instance frozen |`,
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (row) =>
        `| ${row.store} | ${row.bound} s | ${share(row.scenarios.load!)} | ${share(row.scenarios['frozen 1 s']!)} | ${share(row.scenarios['frozen 3 s']!)} | ${share(row.scenarios.restarted!)} | ${(row.frozenWaitMs / 1000).toFixed(2)} s |`,
    ),
  ].join('\n');
  console.log(`\n${text}\n`);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(`bench/results/staleness-bound${args.quick ? '-quick' : ''}.md`, `${text}\n`);
  if (!args.quick) replaceReadmeSection('staleness-bound', text);
}

const rows: Row[] = [];
for (const kind of STORES) for (const bound of BOUNDS) rows.push(await measure(kind, bound));
report(rows);
