/**
 * Which PostgreSQL driver for the store: `pg` (node-postgres) against `postgres` (Postgres.js), on
 * the query the strict stateful strategy makes on every request (a session read by its primary
 * key) and the write it makes once a minute per session (a touch). Each driver runs in a process of
 * its own, with a pool of 10 connections and 32 queries in flight, in interleaved rounds; reported:
 * the CPU of the driver's process per query (exact here) and queries per second (noisy here).
 *
 *   npm run bench:postgres-drivers -- [--rounds N] [--queries N]
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import postgres from 'postgres';
import { startPostgres } from '../tools/postgres-process.js';
import { machine, median, replaceReadmeSection } from './harness.js';

const { values: args } = parseArgs({
  options: { rounds: { type: 'string' }, queries: { type: 'string' }, child: { type: 'string' }, url: { type: 'string' } },
});
const ROUNDS = Number(args.rounds ?? 7);
const QUERIES = Number(args.queries ?? 20_000);
const IN_FLIGHT = 32;
const SESSIONS = 10_000;
const GET = 'SELECT * FROM bench_sessions WHERE id_hash = $1 AND gc_at > $2';
const TOUCH = 'UPDATE bench_sessions SET last_seen_at = $1, gc_at = $2 WHERE id_hash = $3 AND gc_at > $4';

type Driver = { get(id: string, now: number): Promise<unknown>; touch(id: string, now: number): Promise<unknown>; end(): Promise<void> };

function open(name: string, url: string): Driver {
  if (name === 'pg') {
    const pool = new pg.Pool({ connectionString: url, max: 10 });
    return {
      get: (id, now) => pool.query({ name: 'get', text: GET, values: [id, now] }),
      touch: (id, now) => pool.query({ name: 'touch', text: TOUCH, values: [now, now + 3_600_000, id, now] }),
      end: () => pool.end(),
    };
  }
  const sql = postgres(url, { max: 10, onnotice: () => {} });
  return {
    get: (id, now) => sql.unsafe(GET, [id, now], { prepare: true }),
    touch: (id, now) => sql.unsafe(TOUCH, [now, now + 3_600_000, id, now], { prepare: true }),
    end: () => sql.end(),
  };
}

/** A child: one driver, asked for rounds of `QUERIES` queries of one kind, 32 in flight. */
async function child(name: string, url: string) {
  const driver = open(name, url);
  const runRound = async (kind: 'get' | 'touch') => {
    let next = 0;
    const worker = async () => {
      while (next < QUERIES) {
        const id = `s${next++ % SESSIONS}`;
        await driver[kind](id, Date.now());
      }
    };
    const cpu = process.cpuUsage();
    const started = performance.now();
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    const wall = performance.now() - started;
    const used = process.cpuUsage(cpu);
    return { cpuMicros: (used.user + used.system) / QUERIES, qps: QUERIES / (wall / 1000) };
  };
  await runRound('get'); // warm-up: connections, prepared statements, JIT
  await runRound('touch');
  process.send!('ready');
  process.on('message', async (kind: 'get' | 'touch' | 'close') => {
    if (kind === 'close') {
      await driver.end();
      process.disconnect();
      return;
    }
    process.send!(await runRound(kind));
  });
}

async function main() {
  const server = await startPostgres();
  server.sql(`CREATE TABLE bench_sessions (id_hash text PRIMARY KEY, user_id text NOT NULL, roles text NOT NULL, data text NOT NULL,
    user_agent text NOT NULL, ip text NOT NULL, created_at bigint NOT NULL, last_seen_at bigint NOT NULL, version int NOT NULL, gc_at bigint NOT NULL);
    INSERT INTO bench_sessions SELECT 's' || i, 'user-' || i, '["user"]', '{}', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120 Safari/537.36',
      '203.0.113.7', 0, 0, 0, 9000000000000 FROM generate_series(0, ${SESSIONS - 1}) AS i;`);
  const names = ['pg', 'postgres'];
  const children = names.map((name) =>
    fork(fileURLToPath(import.meta.url), ['--child', name, '--url', server.url, '--queries', String(QUERIES)], {
      execArgv: process.execArgv,
    }),
  );
  await Promise.all(children.map((c) => once(c, 'message')));
  const results: Record<string, Record<'get' | 'touch', { cpuMicros: number[]; qps: number[] }>> = Object.fromEntries(
    names.map((name) => [name, { get: { cpuMicros: [], qps: [] }, touch: { cpuMicros: [], qps: [] } }]),
  );
  for (let round = 0; round < ROUNDS; round++) {
    for (const kind of ['get', 'touch'] as const) {
      const order = round % 2 ? [1, 0] : [0, 1];
      for (const index of order) {
        const answer = once(children[index]!, 'message');
        children[index]!.send(kind);
        const [result] = (await answer) as [{ cpuMicros: number; qps: number }];
        results[names[index]!]![kind].cpuMicros.push(result.cpuMicros);
        results[names[index]!]![kind].qps.push(result.qps);
      }
    }
    process.stderr.write(`round ${round + 1}/${ROUNDS}\n`);
  }
  await Promise.all(
    children.map(async (c) => {
      const exited = once(c, 'exit');
      c.send('close');
      await exited;
    }),
  );
  await server.dispose();

  const m = machine();
  const pgCpu = (kind: 'get' | 'touch') => median(results.pg![kind].cpuMicros);
  const rows = names.flatMap((name) =>
    (['get', 'touch'] as const).map((kind) => {
      const r = results[name]![kind];
      return `| ${name === 'pg' ? '`pg` (node-postgres)' : '`postgres` (Postgres.js)'} | ${kind === 'get' ? 'session read' : 'touch'} | ${median(r.cpuMicros).toFixed(1)} | ${(median(r.cpuMicros) / pgCpu(kind)).toFixed(2)} | ${Math.round(median(r.qps)).toLocaleString('en-US')} |`;
    }),
  );
  const report = [
    `PostgreSQL drivers on the store's request-path queries: PostgreSQL 15 on loopback, ${SESSIONS.toLocaleString('en-US')} sessions, a pool of 10, ${IN_FLIGHT} queries in flight, prepared statements; each driver in its own process. ${m.cpu}, ${m.cores} cores, Node ${m.node}, ${m.date}; median of ${ROUNDS} interleaved rounds of ${QUERIES.toLocaleString('en-US')} queries. Queries per second share two cores with the server and move between rounds; the CPU per query is the measure.`,
    '',
    '| driver | query | client CPU µs per query | vs pg | queries/s |',
    '|---|---|---:|---:|---:|',
    ...rows,
  ].join('\n');
  console.log(report);
  writeFileSync('bench/results/postgres-drivers.md', `${report}\n`);
  replaceReadmeSection('postgres-drivers', report);
}

if (args.child) await child(args.child, args.url!);
else await main();
