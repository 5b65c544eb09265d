import assert from 'node:assert/strict';
import postgres from 'postgres';
import { describe, it, type TestContext } from 'node:test';
import { StoreUnavailableError } from '../../packages/tessera-auth/src/base/errors.js';
import { createPostgresStore } from '../../packages/tessera-auth/src/stores/postgres.js';
import { MIGRATIONS } from '../../packages/tessera-auth/src/stores/postgres-schema.js';
import { describeServerStoreConformance, describeStoreConformance } from '../../packages/tessera-auth/src/testing/store-conformance.js';
import { usePostgres } from '../helpers/postgres.js';
import { waitUntilUp } from '../helpers/redis.js';
import { assertFeedDeliversInOrder } from './revocation-feed.js';

const SESSION = {
  userId: 'u-crash',
  roles: ['user'],
  createdAt: Date.now(),
  lastSeenAt: Date.now(),
  absoluteExpiresAt: Date.now() + 600_000,
  userAgent: 'test',
  ip: '127.0.0.1',
  data: {},
  version: 0,
};

const postgresFor = usePostgres();

const open = async (t: TestContext) => {
  const server = postgresFor(t);
  if (!server) return undefined;
  const store = createPostgresStore({ url: server.url });
  await waitUntilUp(store);
  return store;
};
describeStoreConformance('postgres', open);
describeServerStoreConformance('postgres', open);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const entry = (value: string) => ({ kind: 'jti' as const, value, expiresAt: Date.now() + 600_000 });

/** Waits until `seen` holds every one of `values` (or the deadline passes), then says which are missing. */
async function missing(seen: Set<string>, values: readonly string[], withinMs = 5_000): Promise<string[]> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline && values.some((value) => !seen.has(value))) await sleep(20);
  return values.filter((value) => !seen.has(value));
}

/** Two clients of one database: one writes, the other's follower records every value it hears. */
async function writerAndFollower(url: string, writerTimeoutMs = 1_000) {
  const [writer, reader] = [createPostgresStore({ url, commandTimeoutMs: writerTimeoutMs }), createPostgresStore({ url })];
  await Promise.all([writer, reader].map(waitUntilUp));
  const seen = new Set<string>();
  const follower = reader.revocations.follow!((added) => seen.add(added.value));
  await follower.ready;
  const close = async () => {
    follower.stop();
    await Promise.all([writer.close(), reader.close()]);
  };
  return { writer, reader, seen, follower, close };
}

describe('postgres: schema and feed', () => {
  it('keeps its tables in the schema it is given', async (t) => {
    const server = postgresFor(t);
    if (!server) return;
    server.sql('CREATE SCHEMA auth');
    const store = createPostgresStore({ url: server.url, schema: 'auth' });
    await waitUntilUp(store);
    await store.revocations.add(entry('in-auth'));
    assert.equal(server.sql("SELECT count(*) FROM pg_tables WHERE schemaname = 'auth' AND tablename LIKE 'tessera_%'"), '7');
    assert.equal(server.sql("SELECT count(*) FROM auth.tessera_revocations WHERE entry LIKE '%in-auth%'"), '1');
    await store.close();
  });

  it('the feed delivers what another client adds, in order, and the table keeps it', async (t) => {
    const server = postgresFor(t);
    if (!server) return;
    await assertFeedDeliversInOrder(() => createPostgresStore({ url: server.url }));
  });

  it('the feed delivers in order when ids gain a digit (9, then 10), each entry once', async (t) => {
    const server = postgresFor(t);
    if (!server) return;
    server.sql('CREATE DATABASE digits');
    const url = server.url.replace(/\/tessera$/, '/digits');
    const [writer, reader] = [createPostgresStore({ url }), createPostgresStore({ url })];
    await Promise.all([writer, reader].map(waitUntilUp));
    server.sql("SELECT setval('tessera_revocations_id_seq', 7)", 'digits');
    const [seen, heard] = [[] as string[], new Set<string>()];
    const follower = reader.revocations.follow!((added) => (seen.push(added.value), heard.add(added.value)));
    try {
      await follower.ready;
      // Added while the follower is cut off, so that its catch-up reads them in one answer.
      server.sql(
        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE application_name LIKE 'tessera:revocation-feed:%'",
        'digits',
      );
      const values = ['eight', 'nine', 'ten', 'eleven'];
      for (const value of values) await writer.revocations.add(entry(value));
      assert.deepEqual(await missing(heard, values), []);
      // A later entry proves no earlier one comes again.
      await writer.revocations.add(entry('twelve'));
      assert.deepEqual(await missing(heard, ['twelve']), []);
      assert.deepEqual(seen, [...values, 'twelve']);
    } finally {
      follower.stop();
      await Promise.all([writer.close(), reader.close()]);
    }
  });

  it('instances starting together on an empty database apply the schema once, and all come up', async (t) => {
    const server = postgresFor(t);
    if (!server) return;
    server.sql('CREATE DATABASE fresh_start');
    const url = server.url.replace(/\/tessera$/, '/fresh_start');
    const stores = Array.from({ length: 6 }, () => createPostgresStore({ url, commandTimeoutMs: 5_000 }));
    await Promise.all(stores.map((store) => store.ping()));
    assert.equal(server.sql('SELECT count(*), max(version) FROM tessera_schema', 'fresh_start'), `1|${MIGRATIONS.length}`);
    await Promise.all(stores.map((store) => store.close()));
  });

  it('a database of the first schema is brought up to date: sessions gain the DPoP binding column, and lose their successor keys', async (t) => {
    const server = postgresFor(t);
    if (!server) return;
    server.sql('CREATE DATABASE first_schema');
    const url = server.url.replace(/\/tessera$/, '/first_schema');
    const sql = postgres(url, { onnotice: () => {} });
    await sql.unsafe(MIGRATIONS[0]!);
    await sql`CREATE TABLE tessera_schema (version integer NOT NULL)`;
    await sql`INSERT INTO tessera_schema (version) VALUES (1)`;
    await sql`INSERT INTO tessera_sessions VALUES ('kept', 'u1', NULL, '[]', 1, 1, 9e15, '', '', '{}', 0, 9e15, 'current-hash', 1, 'the-successor-key')`;
    await sql.end();
    const store = createPostgresStore({ url, commandTimeoutMs: 5_000 });
    await store.ping();
    await store.close();
    assert.equal(server.sql('SELECT max(version) FROM tessera_schema', 'first_schema'), String(MIGRATIONS.length));
    const column = "SELECT count(*) FROM information_schema.columns WHERE table_name = 'tessera_sessions' AND column_name = 'refresh_jkt'";
    assert.equal(server.sql(column, 'first_schema'), '1');
    assert.equal(
      server.sql('SELECT refresh_hash, refresh_key IS NULL, refresh_spent IS NULL FROM tessera_sessions', 'first_schema'),
      'current-hash|t|t',
    );
  });

  it('entries added by many clients at once all reach a follower: ids become visible in commit order', async (t) => {
    const server = postgresFor(t);
    if (!server) return;
    const writers = Array.from({ length: 4 }, () => createPostgresStore({ url: server.url, max: 20, commandTimeoutMs: 10_000 }));
    const reader = createPostgresStore({ url: server.url });
    await Promise.all([...writers, reader].map(waitUntilUp));
    const seen = new Set<string>();
    const follower = reader.revocations.follow!((added) => seen.add(added.value));
    await follower.ready;
    const values = Array.from({ length: 800 }, (_, i) => `burst-${i}-${Date.now()}`);
    await Promise.all(values.map((value, i) => writers[i % writers.length]!.revocations.add(entry(value))));
    assert.deepEqual(await missing(seen, values), []);
    follower.stop();
    await Promise.all([...writers, reader].map((store) => store.close()));
  });

  it('race: an entry whose commit is slow is not skipped by a follower that has read a later one', async (t) => {
    const server = postgresFor(t);
    if (!server) return;
    const { writer, seen, close } = await writerAndFollower(server.url, 5_000);
    t.after(close);
    // A slow commit, as fsync or a synchronous replica makes it: the entry gets its id, then waits.
    const slow = postgres(server.url, { max: 1, onnotice: () => {} });
    const [first, second] = [`slow-${Date.now()}`, `quick-${Date.now()}`];
    let commit!: () => void;
    const held = new Promise<void>((resolve) => (commit = resolve));
    const transaction = slow.begin(async (tx) => {
      await tx`SELECT tessera_add_revocation(${JSON.stringify(entry(first))}, ${Date.now() + 600_000})`;
      await held;
    });
    await sleep(100);
    const quick = writer.revocations.add(entry(second));
    // Without the insert lock the quick entry commits now, and the follower reads it and moves past the slow one's id.
    await Promise.race([quick.then(() => missing(seen, [second], 1_000)), sleep(1_000)]);
    commit();
    await transaction;
    await quick;
    assert.deepEqual(await missing(seen, [first, second], 3_000), []);
    await slow.end();
  });

  it('a killed LISTEN connection catches up from its last id: nothing added meanwhile is lost', async (t) => {
    const server = postgresFor(t);
    if (!server) return;
    const { writer, seen, follower, close } = await writerAndFollower(server.url);
    t.after(close);
    const killed = server.sql(
      `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'tessera:revocation-feed:${process.pid}'`,
    );
    assert.equal(Number(killed) >= 1, true, 'the feed connection was found and killed');
    const values = Array.from({ length: 5 }, (_, i) => `after-kill-${i}-${Date.now()}`);
    for (const value of values) await writer.revocations.add(entry(value));
    assert.deepEqual(await missing(seen, values), []);
    assert.equal(follower.connected, true, 'listening again');
  });

  it('a PostgreSQL crash and restart lose no revocation and no session, and the feed resumes', async (t) => {
    const server = postgresFor(t);
    if (!server) return;
    const { writer, reader, seen, close } = await writerAndFollower(server.url);
    t.after(close);
    const before = `before-crash-${Date.now()}`;
    await writer.revocations.add(entry(before));
    const session = { ...SESSION, idHash: `crash${Date.now()}`.padEnd(43, 'x') };
    assert.equal(await writer.sessions.create(session, 600_000), true);
    await server.crash();
    await assert.rejects(writer.sessions.get(session.idHash), StoreUnavailableError);
    await server.start();
    await waitUntilUp(writer);
    assert.ok((await reader.revocations.list(Date.now())).some((listed) => listed.value === before));
    assert.equal((await writer.sessions.get(session.idHash))?.userId, session.userId);
    const after = `after-restart-${Date.now()}`;
    await writer.revocations.add(entry(after));
    assert.deepEqual(await missing(seen, [before, after], 10_000), []);
  });

  it('after a long outage under load, the store answers within about a second of PostgreSQL coming back', async (t) => {
    const server = postgresFor(t);
    if (!server) return;
    const store = createPostgresStore({ url: server.url, commandTimeoutMs: 300 });
    t.after(() => store.close());
    await waitUntilUp(store);
    await server.stop();
    // Requests keep coming through the outage, and each failed connection attempt counts: without a
    // cap on the wait between attempts, this one took 4 to 10 s to answer again after the restart.
    for (const until = Date.now() + 14_000; Date.now() < until; await sleep(50)) await store.ping().catch(() => {});
    await server.start();
    const started = Date.now();
    for (;;) {
      const up = await store.ping().then(
        () => true,
        () => false,
      );
      if (up || Date.now() - started > 30_000) break;
      await sleep(50);
    }
    const back = Date.now() - started;
    t.diagnostic(`answering again ${back} ms after the restart`);
    // Postgres.js alone waits up to 20 s between attempts once they have failed for a while.
    assert.ok(back < 2_500, `answering again ${back} ms after the restart`);
  });

  it('a frozen PostgreSQL: commands fail within their timeout and the follower stops hearing (silent, not lost), never a hang', async (t) => {
    const server = postgresFor(t);
    if (!server) return;
    const store = createPostgresStore({ url: server.url, commandTimeoutMs: 300 });
    await waitUntilUp(store);
    const follower = store.revocations.follow!(() => {});
    await follower.ready;
    server.pause();
    try {
      const started = Date.now();
      await assert.rejects(store.sessions.get('anything'), StoreUnavailableError);
      assert.ok(Date.now() - started < 2_000, `failed after ${Date.now() - started} ms`);
      await sleep(1_500);
      assert.ok(Date.now() - follower.lastContact > 1_000, 'no heartbeat from a frozen server');
      // Past the read's deadline (2 s) and a new connection's timeouts: the feed reconnects, but
      // silence is not a known loss (which would refuse at once): the staleness bound decides.
      await sleep(1_500);
      assert.equal(follower.connected, true, 'silent, not lost');
    } finally {
      server.resume();
    }
    await waitUntilUp(store);
    const heard = follower.lastContact;
    await sleep(1_200);
    assert.ok(follower.lastContact > heard, 'the heartbeat resumes');
    follower.stop();
    await store.close();
  });
});
