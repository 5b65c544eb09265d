/**
 * What Tessera's adapters cost on each framework: stateless HS256 (revocation list on) on Express,
 * Fastify and Hono, each against the same framework with no authentication, every one its own
 * server process, interleaved rounds after a warm-up, the median round reported.
 * Usage: npm run bench:adapters -- [--quick] [--rounds N] [--duration S] [--connections N]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { hasWrk, load } from './load.js';
import {
  login,
  machine,
  measureRound,
  median,
  replaceReadmeSection,
  startServer,
  type RoundResult,
  type ServerProcess,
} from './harness.js';
import { createProgress } from './progress.js';

const { values: args } = parseArgs({
  options: { quick: { type: 'boolean' }, rounds: { type: 'string' }, duration: { type: 'string' }, connections: { type: 'string' } },
});
const ROUNDS = Number(args.rounds ?? (args.quick ? 3 : 5));
const DURATION = Number(args.duration ?? (args.quick ? 3 : 8));
const CONNECTIONS = Number(args.connections ?? 32);

const CONTENDERS: { name: string; script: string; env: Record<string, string>; baseline?: string }[] = [
  { name: 'Express, no auth', script: 'no-auth.js', env: {} },
  { name: 'Express + tessera/express', script: 'tessera-stateless.js', env: { ALG: 'HS256' }, baseline: 'Express, no auth' },
  { name: 'Fastify, no auth', script: 'fastify.js', env: { AUTH: 'none' } },
  { name: 'Fastify + tessera/fastify', script: 'fastify.js', env: { AUTH: 'tessera' }, baseline: 'Fastify, no auth' },
  { name: 'Hono (node-server), no auth', script: 'hono.js', env: { AUTH: 'none' } },
  { name: 'Hono + tessera/hono', script: 'hono.js', env: { AUTH: 'tessera' }, baseline: 'Hono (node-server), no auth' },
];

async function main() {
  execFileSync('npm', ['run', 'build', '--silent'], { stdio: 'inherit' });
  const progress = createProgress(CONTENDERS.length * (ROUNDS + 1));
  const running: { server: ServerProcess; headers: Record<string, string>; rounds: RoundResult[] }[] = [];
  try {
    for (const contender of CONTENDERS) {
      const server = await startServer(contender.script, contender.env, contender.name);
      running.push({ server, headers: (await login(server.url)).headers, rounds: [] });
    }
    for (const [i, entry] of running.entries()) {
      progress.step(`warming up ${CONTENDERS[i]!.name}`);
      await load(`${entry.server.url}/me`, entry.headers, args.quick ? 1 : 3, CONNECTIONS);
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (let j = 0; j < running.length; j++) {
        const i = (j + round) % running.length; // rotate, so no contender always runs first
        const entry = running[i]!;
        progress.step(`round ${round + 1}/${ROUNDS}: ${CONTENDERS[i]!.name}`);
        entry.rounds.push(await measureRound(entry.server, entry.headers, DURATION, CONNECTIONS));
      }
    }
    progress.finish();
  } finally {
    await Promise.all(running.map((entry) => entry.server.stop()));
  }

  const rows = CONTENDERS.map((contender, i) => {
    const { rounds } = running[i]!;
    return {
      ...contender,
      rps: median(rounds.map((r) => r.rps)),
      p50: median(rounds.map((r) => r.p50)),
      p99: median(rounds.map((r) => r.p99)),
      cpu: median(rounds.map((r) => r.cpu)),
      failed: rounds.reduce((sum, r) => sum + r.failed, 0),
    };
  });
  const m = {
    ...machine(),
    rounds: ROUNDS,
    secondsPerRound: DURATION,
    connections: CONNECTIONS,
    loadGenerator: hasWrk ? 'wrk' : 'autocannon',
  };
  const text = [
    `GET of one authenticated route. ${m.cpu}, ${m.cores} cores, Node ${m.node}, ${m.date}; median of ${ROUNDS} interleaved rounds of ${DURATION} s, ${CONNECTIONS} connections, ${m.loadGenerator} on the same machine.`,
    '',
    '| contender | req/s | vs the framework without auth | p50 ms | p99 ms | server CPU µs/req | µs/req added by auth | failed |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => {
      const base = rows.find((b) => b.name === r.baseline);
      const cells = [
        r.name,
        Math.round(r.rps),
        base ? `${Math.round((r.rps / base.rps) * 100)}%` : '–',
        r.p50.toFixed(1),
        r.p99.toFixed(1),
        Math.round(r.cpu),
        base ? Math.round(r.cpu - base.cpu) : '–',
        r.failed,
      ];
      return `| ${cells.join(' | ')} |`;
    }),
  ].join('\n');
  console.log(`\n${text}\n`);
  mkdirSync('bench/results', { recursive: true });
  const suffix = args.quick ? '-quick' : '';
  writeFileSync(`bench/results/http-adapters${suffix}.md`, `${text}\n`);
  writeFileSync(`bench/results/http-adapters${suffix}.json`, `${JSON.stringify({ machine: m, rows }, null, 2)}\n`);
  if (!args.quick) replaceReadmeSection('http-adapters', text);
}

await main();
