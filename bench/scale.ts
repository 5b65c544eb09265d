/**
 * Costs as the work grows, each measured exactly rather than timed under load:
 * - store bytes per session (the per-user index included) on Redis and SQLite, at 10,000 and
 *   1,000,000 sessions, against express-session + connect-redis on the same Redis;
 * - memory per entry of an instance's revocation list, and the time a new instance takes to load
 *   100,000 live revocations from Redis and become ready;
 * - logging a user with 1,000 sessions out everywhere: time and Redis commands.
 *
 *   node --expose-gc --import tsx bench/scale.ts [--quick]   (npm run bench:scale)
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { RedisStore } from 'connect-redis';
import { createClient } from 'redis';
import { createAuth, type ServerStore, type SessionRecord } from 'tessera-auth';
import { createRedisStore } from 'tessera-auth/redis';
import { createSqliteStore } from 'tessera-auth/sqlite';
import { createKeyRing, generateJwk, importKey } from 'tessera-auth/tokens';
import { systemClock } from '../packages/tessera-auth/src/base/clock.js';
import { createRevocationList } from '../packages/tessera-auth/src/revocation/revocation-list.js';
import { generateSessionId, hashSessionId } from '../packages/tessera-auth/src/sessions/session-id.js';
import { startRedis, waitUntilUp, type RedisServer } from '../tools/redis-process.js';
import { machine, replaceReadmeSection } from './harness.js';

const { values: args } = parseArgs({ options: { quick: { type: 'boolean' } } });
const SIZES = args.quick ? [1_000, 10_000] : [10_000, 1_000_000];
const REVOCATIONS = args.quick ? 10_000 : 100_000;
const SESSIONS_PER_USER = 10;
const BATCH = 500;
const DAY_MS = 86_400_000;
const USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

if (typeof globalThis.gc !== 'function') throw new Error('Run with node --expose-gc (npm run bench:scale).');
const gc = globalThis.gc as () => void;

/** A session as a login writes it: the user's id and name, roles, the client, empty data. */
function sessionOf(userId: string, now: number): SessionRecord {
  return {
    idHash: hashSessionId(generateSessionId(userId)),
    userId,
    userName: 'user@example.com',
    roles: ['user'],
    createdAt: now,
    lastSeenAt: now,
    absoluteExpiresAt: now + 7 * DAY_MS,
    userAgent: USER_AGENT,
    ip: '203.0.113.42',
    data: {},
    version: 0,
  };
}

async function inBatches(count: number, write: (index: number) => Promise<unknown>): Promise<void> {
  for (let start = 0; start < count; start += BATCH) {
    await Promise.all(Array.from({ length: Math.min(BATCH, count - start) }, (_, i) => write(start + i)));
  }
}

async function writeSessions(store: ServerStore, count: number): Promise<void> {
  const now = Date.now();
  let userId = randomUUID();
  await inBatches(count, (index) => {
    if (index % SESSIONS_PER_USER === 0) userId = randomUUID();
    return store.sessions.create(sessionOf(userId, now), DAY_MS);
  });
}

const usedMemory = (redis: RedisServer) => Number(/used_memory:(\d+)/.exec(redis.cli('INFO', 'memory'))![1]);

/** Bytes of Redis memory per session, for `count` sessions written by `write`. */
async function redisBytes(
  count: number,
  write: (redis: RedisServer) => Promise<() => Promise<void>>,
  args: readonly string[] = [],
): Promise<number> {
  const redis = await startRedis({ durable: false, args });
  try {
    const before = usedMemory(redis);
    const close = await write(redis);
    const bytes = (usedMemory(redis) - before) / count;
    await close();
    return bytes;
  } finally {
    await redis.dispose();
  }
}

/** Redis keeps a small hash compact (a listpack) only while every value fits `hash-max-listpack-value` (64 bytes by default). */
const tesseraRedis = (count: number, listpackValue?: number) =>
  redisBytes(
    count,
    async (redis) => {
      const store = createRedisStore({ url: redis.url, commandTimeoutMs: 10_000 });
      await waitUntilUp(store);
      await writeSessions(store, count);
      return () => store.close();
    },
    listpackValue === undefined ? [] : ['--hash-max-listpack-value', String(listpackValue)],
  );

const connectRedis = (count: number) =>
  redisBytes(count, async (redis) => {
    const client = createClient({ url: redis.url });
    await client.connect();
    const store = new RedisStore({ client, prefix: 'sess:' });
    const expires = new Date(Date.now() + DAY_MS).toISOString();
    await inBatches(
      count,
      (index) =>
        new Promise<void>((resolve, reject) =>
          store.set(
            `${randomUUID()}${index}`,
            { cookie: { originalMaxAge: DAY_MS, expires, httpOnly: true, path: '/' }, userId: randomUUID() } as never,
            (error) => (error ? reject(error as Error) : resolve()),
          ),
        ),
    );
    return async () => void (await client.quit());
  });

async function sqliteBytes(count: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-scale-'));
  try {
    const path = join(dir, 'tessera.db');
    const store = createSqliteStore({ path });
    const before = statSync(path).size;
    await writeSessions(store, count);
    await store.close(); // checkpoints the write-ahead log into the file
    return (statSync(path).size - before) / count;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Heap bytes per entry of one instance's revocation list (sid entries: 43-character ids). */
function revocationEntryBytes(count: number): number {
  const list = createRevocationList(systemClock);
  gc();
  const before = process.memoryUsage().heapUsed;
  const expiresAt = Date.now() + DAY_MS;
  for (let i = 0; i < count; i++) list.add({ kind: 'sid', value: hashSessionId(generateSessionId(`user-${i}`)), expiresAt });
  gc();
  const bytes = (process.memoryUsage().heapUsed - before) / count;
  if (list.size !== count) throw new Error('entries went missing');
  return bytes;
}

const keys = createKeyRing([{ key: importKey({ alg: 'EdDSA', key: generateJwk('EdDSA') }), status: 'active' }]);

/** Milliseconds for a new instance to load `count` live revocations from Redis and become ready. */
async function loadTime(count: number): Promise<number> {
  const redis = await startRedis({ durable: false });
  try {
    const store = createRedisStore({ url: redis.url, commandTimeoutMs: 10_000 });
    await waitUntilUp(store);
    const expiresAt = Date.now() + DAY_MS;
    await inBatches(count, () => store.revocations.add({ kind: 'jti', value: randomUUID(), expiresAt }));
    const started = performance.now();
    const auth = createAuth({ strategy: 'stateless', store, tokens: { keys, issuer: 'https://id.example' } });
    await auth.ready();
    const elapsed = performance.now() - started;
    auth.close();
    await store.close();
    return elapsed;
  } finally {
    await redis.dispose();
  }
}

const commandCount = (redis: RedisServer) =>
  redis
    .cli('INFO', 'commandstats')
    .split('\n')
    .map((line) => /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim()))
    .reduce((sum, match) => sum + (match && match[1] !== 'info' && match[1] !== 'xread' ? Number(match[2]) : 0), 0);

/** Logging out everywhere a user with `count` sessions: milliseconds and Redis commands. */
async function logoutEverywhere(strategy: 'stateful' | 'hybrid', count: number): Promise<{ ms: number; commands: number }> {
  const redis = await startRedis({ durable: false });
  try {
    const store = createRedisStore({ url: redis.url, commandTimeoutMs: 10_000 });
    await waitUntilUp(store);
    const auth = createAuth({
      strategy,
      store,
      session: { maxPerUser: count },
      ...(strategy === 'hybrid' && { tokens: { keys, issuer: 'https://id.example' } }),
    });
    await auth.ready();
    const userId = randomUUID();
    const now = Date.now();
    await inBatches(count, () => store.sessions.create(sessionOf(userId, now), DAY_MS));
    const before = commandCount(redis);
    const started = performance.now();
    const ended = await auth.revokeUser(userId);
    const ms = performance.now() - started;
    if (ended !== count) throw new Error(`ended ${ended} of ${count}`);
    const commands = commandCount(redis) - before;
    auth.close();
    await store.close();
    return { ms, commands };
  } finally {
    await redis.dispose();
  }
}

async function main() {
  const int = (n: number) => Math.round(n).toLocaleString('en-US');
  const sessionRows: string[] = [];
  for (const size of SIZES) {
    process.stderr.write(`sessions: ${int(size)}\n`);
    const [tessera, compact, peer, sqlite] = [
      await tesseraRedis(size),
      await tesseraRedis(size, 256),
      await connectRedis(size),
      await sqliteBytes(size),
    ];
    sessionRows.push(`| ${int(size)} | ${int(tessera)} | ${int(compact)} | ${int(peer)} | ${int(sqlite)} |`);
  }
  process.stderr.write('revocations\n');
  const entryBytes = revocationEntryBytes(REVOCATIONS);
  const loadMs = await loadTime(REVOCATIONS);
  process.stderr.write('logout everywhere\n');
  const stateful = await logoutEverywhere('stateful', 1_000);
  const hybrid = await logoutEverywhere('hybrid', 1_000);

  const m = machine();
  const report = [
    `${m.cpu}, ${m.cores} cores, Node ${m.node}, ${m.date}. Sessions as a login writes them (a 110-character user agent, ${SESSIONS_PER_USER} sessions per user); Redis's \`used_memory\` before and after, SQLite's file size after a checkpoint.`,
    '',
    '| sessions | Tessera on Redis, bytes per session (index included) | the same, Redis with `hash-max-listpack-value 256` | express-session + connect-redis, bytes per session (no index) | Tessera on SQLite, bytes per session |',
    '|---:|---:|---:|---:|---:|',
    ...sessionRows,
    '',
    '| revocation list | |',
    '|---|---:|',
    `| heap per entry in each instance (${int(REVOCATIONS)} sid entries) | ${int(entryBytes)} bytes |`,
    `| a new instance loads ${int(REVOCATIONS)} live revocations from Redis and is ready | ${int(loadMs)} ms |`,
    '',
    '| a user with 1,000 sessions logs out everywhere (Redis) | time | Redis commands (those run inside scripts counted) |',
    '|---|---:|---:|',
    `| stateful (no tokens: one atomic script) | ${int(stateful.ms)} ms | ${int(stateful.commands)} |`,
    `| hybrid (each session's tokens revoked on the feed, before and after the atomic step) | ${int(hybrid.ms)} ms | ${int(hybrid.commands)} |`,
  ].join('\n');
  console.log(report);
  writeFileSync(`bench/results/scale${args.quick ? '-quick' : ''}.md`, `${report}\n`);
  if (!args.quick) replaceReadmeSection('scale', report);
}

await main();
