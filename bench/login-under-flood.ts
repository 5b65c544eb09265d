/**
 * A legitimate login's latency while the identity server is flooded with registrations, the
 * attack of the abuse review: 600 registrations at 64 in flight, each from its own address (so
 * the per-address limit does not simply refuse them), of one taken name, then of new names.
 *
 *   npm run bench:flood                   # this checkout's dist/
 *   npm run bench:flood -- --cli PATH     # an older build's dist/cli/main.js, to compare
 *
 * Prints the median of 15 logins unloaded and under each flood, and the ratio; writes
 * bench/results/login-under-flood.md unless --cli points elsewhere.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '../tools/redis-process.js';
import { machine, median, replaceReadmeSection } from './harness.js';

const { values } = parseArgs({ options: { cli: { type: 'string' } } });
const cli = values.cli ?? 'packages/tessera-auth-server/dist/cli/main.js';
const PASSWORD = 'correct horse battery';
const FLOOD = 600;
const IN_FLIGHT = 64;
const LOGINS = 15;

const post = async (url: string, body: unknown, ip: string) => {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
    body: JSON.stringify(body),
  });
  await response.arrayBuffer();
  return response.status;
};

/**
 * Every request here comes from one socket address (the flood's own addresses are forwarded
 * ones), so the per-address connection cap is lifted: it would refuse the load generator, not
 * measure the server. An older build (--cli) predates the flag.
 */
const ownFlags = values.cli === undefined ? ['--max-connections-per-client', '0'] : [];

async function start(): Promise<{ url: string; stop(): void; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-flood-'));
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      cli,
      'serve',
      '--port',
      String(port),
      '--store',
      'memory',
      '--strategy',
      'stateful',
      '--insecure-cookies',
      '--trust-proxy',
      'loopback',
      '--data-dir',
      dir,
      '--log-level',
      'warn',
      ...ownFlags,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve) => child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('listening on') && resolve()));
  return { url: `http://127.0.0.1:${port}`, dir, stop: () => child.kill() };
}

/** Median login time (ms) while `load` runs, from an address of its own. */
async function loginLatency(url: string, username: string, load: Promise<void> | undefined): Promise<{ ms: number; statuses: number[] }> {
  const times: number[] = [];
  const statuses: number[] = [];
  for (let i = 0; i < LOGINS; i++) {
    const started = performance.now();
    statuses.push(await post(`${url}/auth/login`, { username, password: PASSWORD }, '192.0.2.1'));
    times.push(performance.now() - started);
  }
  await load;
  return { ms: median(times), statuses };
}

/** `FLOOD` registrations, `IN_FLIGHT` at a time, each from its own address; their statuses counted. */
async function flood(url: string, name: (i: number) => string, counts: Map<number, number>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < FLOOD) {
        const i = next++;
        const status = await post(
          `${url}/auth/register`,
          { username: name(i), password: PASSWORD },
          `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
        );
        counts.set(status, (counts.get(status) ?? 0) + 1);
      }
    }),
  );
}

const server = await start();
try {
  const owner = 'owner';
  await post(`${server.url}/auth/register`, { username: owner, password: PASSWORD }, '192.0.2.1');
  await loginLatency(server.url, owner, undefined); // warm-up
  const quiet = await loginLatency(server.url, owner, undefined);
  const takenCounts = new Map<number, number>();
  const taken = await loginLatency(
    server.url,
    owner,
    flood(server.url, () => owner, takenCounts),
  );
  const freshCounts = new Map<number, number>();
  const fresh = await loginLatency(
    server.url,
    owner,
    flood(server.url, (i) => `flood${i}`, freshCounts),
  );
  const describe = (counts: Map<number, number>) =>
    [...counts]
      .sort()
      .map(([status, n]) => `${n}× ${status}`)
      .join(', ');
  const logins = (statuses: number[]) => `${statuses.filter((status) => status === 200).length}/${statuses.length} logins 200`;
  const m = machine();
  const text = [
    `Login latency under a registration flood (${FLOOD} registrations, ${IN_FLIGHT} in flight, one address each; median of ${LOGINS} logins), ${m.cpu}, ${m.cores} cores, Node ${m.node}, ${m.date}:`,
    '',
    '| load | login median | vs. unloaded | flood answered | logins |',
    '|---|---|---|---|---|',
    `| none | ${quiet.ms.toFixed(0)} ms | 1.0x | – | ${logins(quiet.statuses)} |`,
    `| a taken name | ${taken.ms.toFixed(0)} ms | ${(taken.ms / quiet.ms).toFixed(1)}x | ${describe(takenCounts)} | ${logins(taken.statuses)} |`,
    `| new names | ${fresh.ms.toFixed(0)} ms | ${(fresh.ms / quiet.ms).toFixed(1)}x | ${describe(freshCounts)} | ${logins(fresh.statuses)} |`,
  ].join('\n');
  console.log(text);
  if (values.cli === undefined) {
    writeFileSync('bench/results/login-under-flood.md', `${text}\n`);
    replaceReadmeSection('login-under-flood', text);
  }
} finally {
  server.stop();
  rmSync(server.dir, { recursive: true, force: true });
}
