import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { join } from 'node:path';
import { rotateKeys } from '../../packages/tessera-auth/src/tokens/index.js';
import { Client } from '../helpers/http-client.js';
import { useRedis } from '../helpers/redis.js';
import { startTestServer } from '../helpers/server.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;
const PASSWORD = 'correct horse battery';
let serial = 0;
const name = (prefix: string) => `${prefix}${process.pid}x${++serial}`;
const DEVICE_COOKIE = 'tessera-device';

/** Each request claims to come from `ip`: the servers here trust the loopback proxy, as behind a balancer. */
const from = (ip: string) => ({ 'x-forwarded-for': ip });

async function register(server: TestServer, username = name('owner')) {
  assert.equal((await new Client(server.url).post('/auth/register', { username, password: PASSWORD })).status, 201);
  return username;
}

const attempt = (client: Client, username: string, password: string, ip: string) =>
  client.post('/auth/login', { username, password }, from(ip));

describe('login throttling: slow the attacker, never lock out the owner', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({
      store: 'sqlite',
      trustProxy: 'loopback',
      loginThrottle: {
        perAccountAndClient: { free: 3, maxDelayMs: 60_000, windowMs: 60_000 },
        perAccount: { max: 20, windowMs: 60_000 },
        perClient: { max: 30, windowMs: 60_000 },
      },
    });
  });
  after(() => server.stop());

  it('one client guessing one account: a few free attempts, then one attempt per delay, with Retry-After', async () => {
    const username = await register(server);
    const attacker = new Client(server.url);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await attempt(attacker, username, `guess ${i} guess`, '203.0.113.10')).status);
    assert.deepEqual(statuses, [401, 401, 401, 401, 429, 429], 'three free, the fourth starts a delay, the rest wait');
    const waiting = await attempt(attacker, username, PASSWORD, '203.0.113.10');
    assert.equal(waiting.status, 429, 'while the delay runs, even the right password waits');
    assert.equal(waiting.headers.get('retry-after'), '1');
  });

  it('parallel guesses cannot slip past: one goes ahead per delay', async () => {
    const username = await register(server);
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => attempt(new Client(server.url), username, `guess ${i} guess`, '203.0.113.11')),
    );
    assert.deepEqual(answers.map((answer) => answer.status).sort(), [401, 401, 401, 401, 429, 429, 429, 429]);
  });

  it('attack: a brute force from many addresses does not keep the owner out of a device that logged in before', async () => {
    const username = await register(server);
    const laptop = new Client(server.url);
    assert.equal((await attempt(laptop, username, PASSWORD, '198.51.100.7')).status, 200);
    assert.ok(laptop.cookies.get(DEVICE_COOKIE), 'a successful login trusts the device');
    const owner = new Client(server.url, from('198.51.100.7'));
    owner.cookies.set(DEVICE_COOKIE, laptop.cookies.get(DEVICE_COOKIE)!);

    // 60 wrong passwords from 12 addresses: past the account's limit for untrusted clients.
    const guesses = await Promise.all(
      Array.from({ length: 12 }, async (_, client) => {
        const statuses: number[] = [];
        for (let i = 0; i < 5; i++)
          statuses.push((await attempt(new Client(server.url), username, `guess ${client}.${i}`, `203.0.113.${100 + client}`)).status);
        return statuses;
      }),
    );
    const all = guesses.flat();
    assert.ok(
      all.every((status) => status === 401 || status === 429),
      all.join(),
    );
    assert.ok(all.filter((status) => status === 401).length <= 20, 'the account limit held');
    assert.equal(
      (await attempt(new Client(server.url), username, PASSWORD, '192.0.2.1')).status,
      429,
      'a new device waits out a distributed attack',
    );

    const login = await owner.post('/auth/login', { username, password: PASSWORD });
    assert.equal(login.status, 200, "the owner's device gets in during the attack");
    // Behind the attackers' own address too (a shared NAT): the device cookie is what counts.
    const shared = new Client(server.url, from('203.0.113.100'));
    shared.cookies.set(DEVICE_COOKIE, owner.cookies.get(DEVICE_COOKIE)!);
    assert.equal((await shared.post('/auth/login', { username, password: PASSWORD })).status, 200);
    // And the owner can change the password: the check of the current one trusts the session.
    const changed = await owner.post('/auth/password', { current_password: PASSWORD, new_password: 'a whole new passphrase' });
    assert.equal(changed.status, 204, JSON.stringify(changed.body));
  });

  it('attack: the owner’s device cookie outlives a key rotation: after one, a spent untrusted budget still does not lock her out', async () => {
    const username = await register(server);
    const laptop = new Client(server.url, from('198.51.100.8'));
    assert.equal((await laptop.post('/auth/login', { username, password: PASSWORD })).status, 200);
    const device = laptop.cookies.get(DEVICE_COOKIE)!;

    // A routine rotation, run to its end: the key that was active is retired, then removed.
    const keysDir = join(server.dataDir, 'keys');
    // The access-token keys (the JWKS also publishes the ID-token key, which this rotation leaves alone).
    const signedWith = async () =>
      ((await new Client(server.url).get('/.well-known/jwks.json')).body.keys as { kid: string; alg: string }[])
        .filter((k) => k.alg === 'EdDSA')
        .map((k) => k.kid);
    const before = await signedWith();
    rotateKeys(keysDir, { alg: 'EdDSA', maxTokenLifetimeSeconds: 1 });
    rotateKeys(keysDir, { alg: 'EdDSA', maxTokenLifetimeSeconds: 1 });
    rotateKeys(keysDir, { alg: 'EdDSA', maxTokenLifetimeSeconds: 1, now: Date.now() + 60_000 });
    while ((await signedWith()).some((kid) => before.includes(kid))) await new Promise((resolve) => setTimeout(resolve, 100));

    for (let client = 0; client < 12; client++)
      for (let i = 0; i < 5; i++) await attempt(new Client(server.url), username, `guess ${client}.${i}`, `203.0.113.${150 + client}`);
    assert.equal((await attempt(new Client(server.url), username, PASSWORD, '192.0.2.2')).status, 429, 'the untrusted budget is spent');
    const owner = new Client(server.url, from('198.51.100.8'));
    owner.cookies.set(DEVICE_COOKIE, device);
    assert.equal((await owner.post('/auth/login', { username, password: PASSWORD })).status, 200, 'her device is still trusted');
  });

  it('attack: a device cookie is bound to its account, and a forged or foreign one earns no trust', async () => {
    const victim = await register(server);
    const mallory = await register(server, name('mallory'));
    const mine = new Client(server.url);
    assert.equal((await attempt(mine, mallory, PASSWORD, '203.0.113.40')).status, 200);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const client = new Client(server.url);
      client.cookies.set(DEVICE_COOKIE, i % 2 ? mine.cookies.get(DEVICE_COOKIE)! : `${mine.cookies.get(DEVICE_COOKIE)!.slice(0, -4)}AAAA`);
      statuses.push((await attempt(client, victim, `guess ${i} guess`, '203.0.113.40')).status);
    }
    assert.deepEqual(statuses, [401, 401, 401, 401, 429, 429], 'throttled like any untrusted client');
  });

  it('a trusted device that keeps failing loses its trust', async () => {
    const username = await register(server);
    const device = new Client(server.url);
    assert.equal((await attempt(device, username, PASSWORD, '203.0.113.50')).status, 200);
    const statuses: number[] = [];
    for (let i = 0; i < 15; i++) statuses.push((await attempt(device, username, `guess ${i} guess`, '203.0.113.50')).status);
    // Ten failures on its own count, then the untrusted rules: three free, one after the delay starts.
    assert.deepEqual(statuses, [...Array(14).fill(401), 429]);
  });

  it('attack: the throttle tells nothing about which names exist (same statuses and Retry-After for a name with no account)', async () => {
    const existing = await register(server);
    const answersFor = async (username: string, ip: string) => {
      const answers: string[] = [];
      for (let i = 0; i < 8; i++) {
        const answer = await attempt(new Client(server.url), username, `guess ${i} guess`, ip);
        answers.push(`${answer.status} ${answer.headers.get('retry-after') ?? '-'} ${answer.headers.get('www-authenticate') ?? '-'}`);
      }
      return answers;
    };
    const known = await answersFor(existing, '203.0.113.70');
    const unknown = await answersFor(name('nobody'), '203.0.113.71');
    assert.deepEqual(unknown, known);
    assert.equal(known.filter((answer) => answer.startsWith('429')).length, 4, known.join());
  });

  it('attack: addresses of one IPv6 /64 are one client; an IPv4-mapped address is its IPv4 one', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 32; i++)
      statuses.push((await attempt(new Client(server.url), name('spray'), 'guess guess', `2001:db8:77:1:${i.toString(16)}::1`)).status);
    assert.deepEqual(statuses, [...Array(30).fill(401), 429, 429], 'thirty-two addresses of one /64, one limit');
    const other = await attempt(new Client(server.url), name('spray'), 'guess guess', '2001:db8:77:2::1');
    assert.equal(other.status, 401, 'the next /64 is another client');

    for (let i = 0; i < 30; i++)
      assert.equal((await attempt(new Client(server.url), name('spray'), 'guess guess', '203.0.113.61')).status, 401);
    assert.equal((await attempt(new Client(server.url), name('spray'), 'guess guess', '::ffff:203.0.113.61')).status, 429);
  });

  it('one client spraying many accounts is stopped by its own limit', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 32; i++)
      statuses.push((await attempt(new Client(server.url), name('spray'), 'guess guess', '203.0.113.60')).status);
    assert.deepEqual(statuses, [...Array(30).fill(401), 429, 429]);
  });
});

/**
 * 2,000 junk attempts (names no account can have, names of no account, one real account) from one
 * client: the store keeps fixed-size counters, as many as the client's limit lets through.
 */
function describeBoundedStorage(
  storeName: string,
  start: (t: TestContext) => Promise<{ server: TestServer; size(): Promise<number> } | undefined>,
) {
  it(`attack: 2,000 junk login attempts leave ${storeName} within a small fixed size`, async (t) => {
    const started = await start(t);
    if (!started) return;
    const { server, size } = started;
    try {
      const victim = await register(server);
      const before = await size();
      const client = new Client(server.url);
      const statuses = new Map<number, number>();
      const junk = (i: number) => (i % 3 === 0 ? 'x'.repeat(12_000) + i : i % 3 === 1 ? name('nobody') : victim);
      for (let batch = 0; batch < 2_000; batch += 50) {
        const answers = await Promise.all(
          Array.from({ length: 50 }, (_, i) => client.post('/auth/login', { username: junk(batch + i), password: 'guess guess' })),
        );
        for (const { status } of answers) statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
      assert.deepEqual([...statuses.keys()].sort(), [401, 429]);
      // Names are counted whether or not an account has them (the throttle must not tell), so each
      // attempt the client's limit lets through (100) adds at most a counter for its name and one
      // for the name and client; the 1,900 refused by that limit add nothing.
      const grown = (await size()) - before;
      assert.ok(grown <= 2 * 100 + 3, `${grown} records added by 2,000 attempts`);
    } finally {
      await server.stop();
    }
  });
}

describe('login throttling keeps the store bounded', () => {
  describeBoundedStorage('SQLite', async () => {
    const server = await startTestServer({ store: 'sqlite' });
    const { default: Database } = await import('better-sqlite3');
    const size = async () => {
      const db = new Database(`${server.dataDir}/tessera.db`, { readonly: true });
      try {
        return (db.prepare('SELECT COUNT(*) AS n FROM tessera_counters').get() as { n: number }).n;
      } finally {
        db.close();
      }
    };
    return { server, size };
  });

  const redis = useRedis();
  describeBoundedStorage('Redis', async (t) => {
    const instance = redis(t);
    if (!instance) return undefined;
    const url = `${instance.url}/12`;
    const server = await startTestServer({ store: 'redis', redisUrl: url });
    return { server, size: async () => Number(instance.cli('-n', '12', 'DBSIZE').trim()) };
  });
});
