/**
 * The benchmark lab: Tessera's strategies and the libraries people would pick instead, each its
 * own server process on loopback serving the same authenticated route, loaded in interleaved
 * rounds after a warm-up (median round reported). Every contender that uses Redis or PostgreSQL
 * runs twice: on loopback, and through a proxy that delays each direction by about 1 ms, as a trip
 * to another zone would. Then each contender's revocation is timed (log out at one instance, poll it and a
 * second one). Writes bench/results/lab{-quick}.{md,json,svg}; a full run also updates docs/benchmarks.md.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { startPostgres, type PostgresServer } from '../tools/postgres-process.js';
import { startRedis } from '../tools/redis-process.js';
import { renderChart } from './chart.js';
import { contenders, type Contender } from './lab-contenders.js';
import { renderReport, type LabResult, type LabRow } from './lab-report.js';
import { hasWrk, load } from './load.js';
import {
  login,
  machine,
  measureRound,
  redisCalls,
  median,
  replaceReadmeSection,
  startServer,
  startServers,
  type RoundResult,
  type ServerProcess,
} from './harness.js';
import { createProgress } from './progress.js';
import { probeRevocation, type RevocationTiming } from './revocation-probe.js';

const USAGE = `Usage: npm run bench -- [options]   (or: tessera bench [options])

  --quick            one round of 2 s per contender: a minute or two
  --rounds N         interleaved rounds; the median is reported (default 5)
  --duration S       seconds of load per contender and round (default 5)
  --connections N    concurrent connections of the load generator (default 32)
  --delay MS         the delaying proxy's hold, each way, in front of Redis (default 1)
  --out DIR          where results are written (default bench/results; a full run there also updates docs/benchmarks.md)
  --no-build         use the package as built (skip tsc)`;

function usageError(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

const OPTIONS = {
  help: { type: 'boolean', short: 'h', default: false },
  quick: { type: 'boolean', default: false },
  rounds: { type: 'string' },
  duration: { type: 'string' },
  connections: { type: 'string' },
  delay: { type: 'string' },
  out: { type: 'string', default: 'bench/results' },
  'no-build': { type: 'boolean', default: false },
} as const;

function parseOptions() {
  try {
    return parseArgs({ options: OPTIONS }).values;
  } catch (error) {
    return usageError((error as Error).message);
  }
}

const args = parseOptions();
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}
const number = (value: string | undefined, fallback: number, name: string) => {
  const parsed = Number(value ?? fallback);
  if (!Number.isFinite(parsed) || parsed <= 0) usageError(`--${name} must be a positive number`);
  return parsed;
};
const ROUNDS = number(args.rounds, args.quick ? 1 : 5, 'rounds');
const DURATION = number(args.duration, args.quick ? 2 : 5, 'duration');
const WARMUP = args.quick ? 1 : 2;
const CONNECTIONS = number(args.connections, 32, 'connections');
const DELAY_MS = number(args.delay, 1, 'delay');
/** How long a revocation probe polls before it reports the credential as still accepted. */
const GIVE_UP_MS = args.quick ? 500 : 3000;

interface Running {
  contender: Contender;
  server: ServerProcess;
  headers: Record<string, string>;
  setCookie: string | undefined;
  rounds: RoundResult[];
  revocation?: RevocationTiming;
}

async function main() {
  // Contenders run the built package, as users do: compile the current sources first.
  if (!args['no-build']) execFileSync('npm', ['run', 'build', '--silent'], { stdio: 'inherit' });
  const tmp = mkdtempSync(join(tmpdir(), 'tessera-lab-'));
  const redis = await startRedis({ durable: false });
  let postgres: PostgresServer | undefined;
  let proxy: ServerProcess | undefined;
  let postgresProxy: ServerProcess | undefined;
  const all = contenders(tmp);
  const running: Running[] = [];
  const progress = createProgress(all.length * (ROUNDS + 2) + 2);
  try {
    proxy = await startServer('delay-proxy.js', { TARGET_PORT: String(redis.port), DELAY_MS: String(DELAY_MS) });
    const proxyUrl = `redis://127.0.0.1:${proxy.port}`;
    postgres = await startPostgres({ statements: true });
    postgresProxy = await startServer('delay-proxy.js', { TARGET_PORT: String(postgres.port), DELAY_MS: String(DELAY_MS) });
    // A database of its own for each PostgreSQL contender, as a key prefix is for Redis ones.
    const database = (c: Contender) => c.id.replace(/[^a-z0-9]/g, '_');
    for (const c of all.filter((c) => c.usesPostgres)) postgres.sql(`CREATE DATABASE ${database(c)}`);
    const postgresUrl = (c: Contender) => {
      const url = new URL(postgres!.url);
      if (c.delayed) url.port = String(postgresProxy!.port);
      url.pathname = `/${database(c)}`;
      return url.href;
    };
    /** Each contender as a server: the same script and environment, its store direct or through the proxy. */
    const specOf = (c: Contender) => ({
      script: c.script,
      name: c.name,
      env: {
        ...c.env,
        ...(c.usesRedis && { REDIS_URL: c.delayed ? proxyUrl : redis.url }),
        ...(c.usesPostgres && { POSTGRES_URL: postgresUrl(c) }),
      },
    });
    const roundTrip = { loopback: await pingMillis(redis.url), delayed: await pingMillis(proxyUrl) };
    progress.note(
      `Redis round trip: ${roundTrip.loopback.toFixed(2)} ms on loopback, ${roundTrip.delayed.toFixed(2)} ms through the delaying proxy`,
    );
    progress.step(`starting ${all.length} contenders`);
    const servers = await startServers(all.map(specOf));
    running.push(...all.map((contender, i) => ({ contender, server: servers[i]!, headers: {}, setCookie: undefined, rounds: [] })));
    for (const entry of running) Object.assign(entry, await login(entry.server.url));
    // Warm-up is for the JIT, not a measurement: two contenders at a time, one per core.
    for (let i = 0; i < running.length; i += 2) {
      const pair = running.slice(i, i + 2);
      for (const entry of pair) progress.step(`warming up ${label(entry.contender)}`);
      await Promise.all(pair.map((entry) => load(`${entry.server.url}/me`, entry.headers, WARMUP, CONNECTIONS)));
    }
    for (let round = 0; round < ROUNDS; round++) {
      // Rotate the order so no contender always runs first or last.
      for (const entry of running.map((_, i) => running[(i + round * 3) % running.length]!)) {
        progress.step(`round ${round + 1}/${ROUNDS}: ${label(entry.contender)}`);
        const { contender } = entry;
        const storeCalls = contender.usesRedis
          ? () => redisCalls(redis)
          : contender.usesPostgres
            ? () => postgres!.statements(database(contender))
            : undefined;
        entry.rounds.push(await measureRound(entry.server, entry.headers, DURATION, CONNECTIONS, storeCalls));
      }
    }
    // A second instance of each contender (same keys, same store) for the revocation probes.
    progress.step('starting a second instance of each contender');
    const revocable = running.filter((entry) => entry.contender.kind !== 'ceiling');
    const siblings = await startServers(revocable.map((entry) => specOf(entry.contender)));
    try {
      for (const [i, entry] of revocable.entries()) {
        progress.step(`revocation: ${label(entry.contender)}`);
        entry.revocation = await probeRevocation(entry.server, siblings[i]!, GIVE_UP_MS);
      }
    } finally {
      await Promise.all(siblings.map((sibling) => sibling.stop()));
    }
    progress.step('writing the report');
    const result: LabResult = {
      machine: { ...machine(), loadGenerator: hasWrk ? 'wrk' : 'autocannon' },
      settings: { rounds: ROUNDS, secondsPerRound: DURATION, connections: CONNECTIONS, delayMs: DELAY_MS, giveUpAfterMs: GIVE_UP_MS },
      redisRoundTripMs: roundTrip,
      rows: running.map(toRow),
    };
    publish(result);
    progress.finish();
  } finally {
    await Promise.all(running.map((entry) => entry.server.stop()));
    await proxy?.stop();
    await postgresProxy?.stop();
    await redis.dispose();
    await postgres?.dispose();
    rmSync(tmp, { recursive: true, force: true });
  }
}

const label = (c: Contender) => (c.delayed ? `${c.name} (store +${DELAY_MS} ms)` : c.name);

function toRow({ contender, headers, setCookie, rounds, revocation }: Running): LabRow {
  const [credential = ''] = Object.entries(headers).map(([name, value]) => `${name}: ${value}`);
  return {
    id: contender.id,
    name: contender.name,
    kind: contender.kind,
    tessera: contender.tessera,
    state: contender.state,
    usesRedis: contender.usesRedis,
    delayed: contender.delayed,
    rps: median(rounds.map((r) => r.rps)),
    rpsRounds: rounds.map((r) => Math.round(r.rps)),
    p50: median(rounds.map((r) => r.p50)),
    p99: median(rounds.map((r) => r.p99)),
    cpuMicrosPerRequest: median(rounds.map((r) => r.cpu)),
    redisPerRequest: contender.usesRedis ? median(rounds.map((r) => r.store)) : null,
    postgresPerRequest: contender.usesPostgres ? median(rounds.map((r) => r.store)) : null,
    failed: rounds.reduce((sum, r) => sum + r.failed, 0),
    credentialBytes: Buffer.byteLength(credential),
    transport: headers.cookie ? cookieTransport(setCookie ?? '') : headers.authorization ? 'bearer' : 'none',
    revocation: revocation ?? null,
  };
}

/** The cookie's protections, read from the login response. */
function cookieTransport(setCookie: string): string {
  const attributes = setCookie
    .split(';')
    .slice(1)
    .map((a) => a.trim().toLowerCase());
  const sameSite = attributes.find((a) => a.startsWith('samesite='))?.slice('samesite='.length);
  return [
    'cookie',
    attributes.includes('httponly') ? 'HttpOnly' : 'script-readable',
    sameSite ? `SameSite=${sameSite[0]!.toUpperCase()}${sameSite.slice(1)}` : 'no SameSite',
  ].join(', ');
}

/** Median round trip of a Redis PING, in ms. */
async function pingMillis(url: string): Promise<number> {
  const client = new Redis(url);
  try {
    const times: number[] = [];
    for (let i = 0; i < 200; i++) {
      const start = performance.now();
      await client.ping();
      times.push(performance.now() - start);
    }
    return median(times.slice(20));
  } finally {
    client.disconnect();
  }
}

function publish(result: LabResult) {
  const markdown = renderReport(result);
  const stem = join(args.out!, `lab${args.quick ? '-quick' : ''}`);
  mkdirSync(args.out!, { recursive: true });
  writeFileSync(`${stem}.md`, `${markdown}\n`);
  writeFileSync(`${stem}.json`, `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(`${stem}.svg`, renderChart(result));
  console.log(`\n${markdown}\n\nWritten: ${stem}.md, ${stem}.json, ${stem}.svg`);
  if (!args.quick && args.out === 'bench/results') replaceReadmeSection('lab', markdown);
}

await main();
