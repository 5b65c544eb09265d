/**
 * Tessera's strategies against their peers over HTTP, in one run: each contender is its own
 * server process on loopback serving the same authenticated route, loaded by wrk (or autocannon)
 * in interleaved rounds after a warm-up; the median round is reported.
 * Usage: npm run bench -- [--quick] [--family stateful|stateless|revocation|adapters]
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, startRedis, type RedisServer } from '../tools/redis-process.js';
import { hasWrk, load } from './load.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    connections: { type: 'string' },
    family: { type: 'string' },
  },
});
const ROUNDS = Number(args.rounds ?? (args.quick ? 3 : 5));
const DURATION = Number(args.duration ?? (args.quick ? 3 : 8));
const CONNECTIONS = Number(args.connections ?? 32);

type Family = 'stateful' | 'stateless' | 'revocation' | 'adapters';

interface Contender {
  name: string;
  script: string;
  env: Record<string, string>;
  usesRedis: boolean;
  /** The tables it appears in. */
  families: readonly Family[];
  /** Adapters table: the same framework without authentication, the overhead's reference. */
  baseline?: string;
}

interface Round {
  rps: number;
  p50: number;
  p99: number;
  redisPerRequest: number;
  cpuMicrosPerRequest: number;
  failures: number;
}

const tmp = mkdtempSync(join(tmpdir(), 'tessera-bench-'));

function contenders(redisUrl: string): Contender[] {
  return [
    { name: 'no auth (ceiling)', script: 'no-auth.js', env: {}, usesRedis: false, families: ['stateful', 'stateless', 'revocation', 'adapters'] },
    { name: 'express-session + MemoryStore', script: 'express-session.js', env: {}, usesRedis: false, families: ['stateful'] },
    { name: 'express-session + connect-redis', script: 'express-session.js', env: { REDIS_URL: redisUrl }, usesRedis: true, families: ['stateful'] },
    { name: 'Tessera stateful, memory', script: 'tessera-stateful.js', env: { STORE: 'memory' }, usesRedis: false, families: ['stateful'] },
    { name: 'Tessera stateful, SQLite', script: 'tessera-stateful.js', env: { STORE: 'sqlite', SQLITE_PATH: join(tmp, 'bench.db') }, usesRedis: false, families: ['stateful'] },
    { name: 'Tessera stateful, Redis', script: 'tessera-stateful.js', env: { STORE: 'redis', REDIS_URL: redisUrl }, usesRedis: true, families: ['stateful'] },
    { name: 'express + jsonwebtoken (string secret)', script: 'jwt-peers.js', env: { PEER: 'jsonwebtoken-string' }, usesRedis: false, families: ['stateless'] },
    { name: 'express + jsonwebtoken (KeyObject)', script: 'jwt-peers.js', env: { PEER: 'jsonwebtoken-keyobject' }, usesRedis: false, families: ['stateless'] },
    { name: 'express + fast-jwt (cache)', script: 'jwt-peers.js', env: { PEER: 'fast-jwt' }, usesRedis: false, families: ['stateless'] },
    { name: 'Tessera stateless, HS256', script: 'tessera-stateless.js', env: { ALG: 'HS256' }, usesRedis: false, families: ['stateless', 'adapters'], baseline: 'no auth (ceiling)' },
    { name: 'Tessera stateless, EdDSA', script: 'tessera-stateless.js', env: { ALG: 'EdDSA' }, usesRedis: false, families: ['stateless'] },
    // Revocation: every contender signs HS256 and the lists hold 1,000 revoked ids.
    { name: 'plain stateless: Tessera verifier, no list', script: 'tessera-verifier.js', env: { ALG: 'HS256' }, usesRedis: false, families: ['revocation'] },
    { name: 'Tessera stateless + revocation feed (Redis)', script: 'tessera-stateless.js', env: { ALG: 'HS256', REDIS_URL: redisUrl, REVOKED: '1000' }, usesRedis: true, families: ['revocation'] },
    { name: 'Tessera hybrid + revocation feed (Redis)', script: 'tessera-stateless.js', env: { STRATEGY: 'hybrid', ALG: 'HS256', REDIS_URL: redisUrl, REVOKED: '1000' }, usesRedis: true, families: ['revocation'] },
    { name: 'blacklist: jsonwebtoken (string) + Redis', script: 'jwt-peers.js', env: { PEER: 'jsonwebtoken-string', REDIS_URL: redisUrl, REVOKED: '1000' }, usesRedis: true, families: ['revocation'] },
    { name: 'blacklist: jsonwebtoken (KeyObject) + Redis', script: 'jwt-peers.js', env: { PEER: 'jsonwebtoken-keyobject', REDIS_URL: redisUrl, REVOKED: '1000' }, usesRedis: true, families: ['revocation'] },
    // Adapters: stateless HS256 on each framework against the same framework with no authentication.
    { name: 'Fastify, no auth', script: 'fastify.js', env: { AUTH: 'none' }, usesRedis: false, families: ['adapters'] },
    { name: 'Fastify + tessera/fastify', script: 'fastify.js', env: { AUTH: 'tessera' }, usesRedis: false, families: ['adapters'], baseline: 'Fastify, no auth' },
    { name: 'Hono (node-server), no auth', script: 'hono.js', env: { AUTH: 'none' }, usesRedis: false, families: ['adapters'] },
    { name: 'Hono + tessera/hono', script: 'hono.js', env: { AUTH: 'tessera' }, usesRedis: false, families: ['adapters'], baseline: 'Hono (node-server), no auth' },
  ];
}

async function startContender(contender: Contender): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const child = spawn(process.execPath, [join('bench/servers', contender.script)], {
    env: { ...process.env, ...contender.env, PORT: String(port), NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
    child.once('exit', (code) => reject(new Error(`${contender.name} exited with ${code}`)));
  });
  return { child, url: `http://127.0.0.1:${port}` };
}

/** Logs in once and returns the headers that authenticate: a cookie, or a bearer token. */
async function login(url: string): Promise<Record<string, string>> {
  const response = await fetch(`${url}/login`, { method: 'POST' });
  const body = (await response.json()) as { token?: string };
  const headers: Record<string, string> = body.token
    ? { authorization: `Bearer ${body.token}` }
    : { cookie: response.headers.getSetCookie()[0]?.split(';')[0] ?? '' };
  const me = await fetch(`${url}/me`, { headers });
  if (me.status !== 200) throw new Error(`${url}: the authenticated route answered ${me.status}`);
  return headers;
}

/** User plus system CPU time of a process, in microseconds (from /proc). */
function cpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) / 100) * 1e6; // utime, stime in 1/100 s ticks
}

function redisCalls(redis: RedisServer): number {
  let total = 0;
  for (const line of redis.cli('INFO', 'commandstats').split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (match && match[1] !== 'info') total += Number(match[2]);
  }
  return total;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

async function main() {
  // Contenders run the built package, as users do: compile the current sources first.
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  const redis = await startRedis({ durable: false });
  const running: { contender: Contender; child: ChildProcess; url: string; headers: Record<string, string>; rounds: Round[] }[] = [];
  try {
    const only = args.family as Family | undefined;
    for (const contender of contenders(redis.url).filter((c) => !only || c.families.includes(only))) {
      const { child, url } = await startContender(contender);
      running.push({ contender, child, url, headers: await login(url), rounds: [] });
    }
    process.stderr.write(`warming up ${running.length} contenders…\n`);
    for (const entry of running) await load(`${entry.url}/me`, entry.headers, args.quick ? 1 : 3, CONNECTIONS);

    for (let round = 0; round < ROUNDS; round++) {
      // Rotate the order so no contender always runs first or last.
      const order = running.map((_, i) => running[(i + round) % running.length]!);
      for (const entry of order) {
        process.stderr.write(`round ${round + 1}/${ROUNDS}: ${entry.contender.name}\n`);
        const calls = redisCalls(redis);
        const cpu = cpuMicros(entry.child.pid!);
        const result = await load(`${entry.url}/me`, entry.headers, DURATION, CONNECTIONS);
        const requests = result.requests;
        entry.rounds.push({
          rps: result.rps,
          p50: result.p50,
          p99: result.p99,
          redisPerRequest: (redisCalls(redis) - calls) / requests,
          cpuMicrosPerRequest: (cpuMicros(entry.child.pid!) - cpu) / requests,
          failures: result.failed,
        });
      }
    }
  } finally {
    for (const entry of running) entry.child.kill();
    await Promise.all(running.map((entry) => (entry.child.exitCode === null ? once(entry.child, 'exit') : undefined)));
    await redis.dispose();
    rmSync(tmp, { recursive: true, force: true });
  }

  const rows = running.map(({ contender, rounds }) => ({
    name: contender.name,
    families: contender.families,
    baseline: contender.baseline,
    usesRedis: contender.usesRedis,
    rps: median(rounds.map((r) => r.rps)),
    p50: median(rounds.map((r) => r.p50)),
    p99: median(rounds.map((r) => r.p99)),
    redisPerRequest: median(rounds.map((r) => r.redisPerRequest)),
    cpuMicrosPerRequest: median(rounds.map((r) => r.cpuMicrosPerRequest)),
    failures: rounds.reduce((sum, r) => sum + r.failures, 0),
  }));
  const rps = (name: string) => rows.find((r) => r.name === name)!.rps;
  const ceiling = rps('no auth (ceiling)');
  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    node: process.version,
    date: new Date().toISOString().slice(0, 10),
    rounds: ROUNDS,
    secondsPerRound: DURATION,
    connections: CONNECTIONS,
    loadGenerator: hasWrk ? 'wrk' : 'autocannon',
  };
  const peers: Record<Family, string[]> = {
    stateful: ['express-session + connect-redis'],
    stateless: ['express + fast-jwt (cache)', 'express + jsonwebtoken (string secret)'],
    revocation: ['plain stateless: Tessera verifier, no list', 'blacklist: jsonwebtoken (KeyObject) + Redis', 'blacklist: jsonwebtoken (string) + Redis'],
    adapters: [],
  };
  const row = (name: string) => rows.find((r) => r.name === name)!;
  const adaptersTable = () =>
    [
      '| contender | req/s | vs the framework without auth | p50 ms | p99 ms | server CPU µs/req | µs/req added by auth | failed |',
      '|---|---:|---:|---:|---:|---:|---:|---:|',
      ...rows
        .filter((r) => r.families.includes('adapters'))
        .map((r) => {
          const base = r.baseline ? row(r.baseline) : undefined;
          return [
            r.name,
            Math.round(r.rps),
            base ? `${Math.round((r.rps / base.rps) * 100)}%` : '–',
            r.p50.toFixed(1),
            r.p99.toFixed(1),
            Math.round(r.cpuMicrosPerRequest),
            base ? Math.round(r.cpuMicrosPerRequest - base.cpuMicrosPerRequest) : '–',
            r.failures,
          ].join(' | ').replace(/^/, '| ').concat(' |');
        }),
    ].join('\n');
  const shortName = (peer: string) => peer.replace(/^express(-session)? \+ /, '').replace(/^plain stateless: .*/, 'plain stateless');
  const tableOf = (family: Family) =>
    family === 'adapters' ? adaptersTable() : [
      `| contender | req/s | vs ceiling | ${peers[family].map((p) => `vs ${shortName(p)}`).join(' | ')} | p50 ms | p99 ms | Redis cmds/req | server CPU µs/req | failed |`,
      `|---|---:|---:|${peers[family].map(() => '---:|').join('')}---:|---:|---:|---:|---:|`,
      ...rows
        .filter((r) => r.families.includes(family))
        .map((r) =>
          [
            r.name,
            Math.round(r.rps),
            `${Math.round((r.rps / ceiling) * 100)}%`,
            ...peers[family].map((peer) => `${(r.rps / rps(peer)).toFixed(2)}x`),
            r.p50.toFixed(1),
            r.p99.toFixed(1),
            r.usesRedis ? r.redisPerRequest.toFixed(2) : '–',
            Math.round(r.cpuMicrosPerRequest),
            r.failures,
          ].join(' | ').replace(/^/, '| ').concat(' |'),
        ),
    ].join('\n');
  const header = `GET of one authenticated route. ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${machine.date}; median of ${ROUNDS} interleaved rounds of ${DURATION} s, ${CONNECTIONS} connections, ${machine.loadGenerator} on the same machine.`;
  const families = (['stateful', 'stateless', 'revocation', 'adapters'] as const).filter((family) => !args.family || family === args.family);
  const sections = families.map((family) => [family, `${header}\n\n${tableOf(family)}`] as const);
  mkdirSync('bench/results', { recursive: true });
  const suffix = args.quick ? '-quick' : '';
  for (const [family, text] of sections) {
    console.log(`\n${family}\n\n${text}\n`);
    writeFileSync(`bench/results/http-${family}${suffix}.md`, `${text}\n`);
    if (!args.quick) replaceReadmeSection(`http-${family}`, text);
  }
  writeFileSync(`bench/results/http${args.family ? `-${args.family}` : ''}${suffix}.json`, `${JSON.stringify({ machine, rows }, null, 2)}\n`);
}

/** Keeps the README's table equal to the committed results. */
function replaceReadmeSection(marker: string, content: string) {
  const readme = readFileSync('README.md', 'utf8');
  const pattern = new RegExp(`(<!-- bench:${marker} -->\\n)[\\s\\S]*?(<!-- /bench:${marker} -->)`);
  writeFileSync('README.md', readme.replace(pattern, `$1${content}\n$2`));
}

await main();
