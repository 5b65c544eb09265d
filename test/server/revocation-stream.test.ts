import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { createParser } from 'eventsource-parser';
import { importJWK, SignJWT, type JWK, type JWTPayload } from 'jose';
import { DpopHolder } from '../helpers/dpop-holder.js';
import { Client } from '../helpers/http-client.js';
import { freePort, requireRedis, startRedis, type RedisServer } from '../helpers/redis.js';
import { CLI, spawnServer, type ServerProcess } from '../helpers/server-process.js';
import { hasRedisServer } from '../../tools/redis-process.js';

const PASSWORD = 'correct horse battery';
const CLIENT = { id: 'orders', secret: 'a-client-secret-of-at-least-32-characters' };
const ISSUER = 'https://id.test';
/** Debian's interpreter, where Debian's python3-jwt lives. */
const PYTHON = '/usr/bin/python3';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

/** Debian's JDK (17+), which runs a single-file program from source. */
const JAVA = 'java';
const hasJava = () => spawnSync(JAVA, ['-version']).status === 0;

function requireJava(t: TestContext): boolean {
  if (hasJava()) return true;
  if (process.env.CI) throw new Error('A JDK (apt-get install default-jdk-headless) is required under CI.');
  t.skip('java is not installed');
  return false;
}

/** Debian's Go with golang-jwt in its GOPATH (golang-go, golang-github-golang-jwt-jwt-dev). */
const GO_ENV = { GO111MODULE: 'off', GOPATH: '/usr/share/gocode' };
const hasGo = () =>
  spawnSync('go', ['version']).status === 0 &&
  spawnSync('go', ['list', 'github.com/golang-jwt/jwt'], { env: { ...process.env, ...GO_ENV } }).status === 0;

function requireGo(t: TestContext): boolean {
  if (hasGo()) return true;
  if (process.env.CI)
    throw new Error('Go and golang-jwt (apt-get install golang-go golang-github-golang-jwt-jwt-dev) are required under CI.');
  t.skip('go or golang-jwt is not installed');
  return false;
}

function requirePython(t: TestContext): boolean {
  if (spawnSync(PYTHON, ['-c', 'import jwt, cryptography']).status === 0) return true;
  if (process.env.CI) throw new Error('PyJWT (apt-get install python3-jwt python3-cryptography) is required under CI.');
  t.skip('python3-jwt is not installed');
  return false;
}

/** A raw follower of the stream, parsed by a third-party SSE parser: what any client would see. */
async function openStream(url: string, headers: Record<string, string> = {}) {
  const events: { id: string | undefined; entry: Record<string, unknown> }[] = [];
  const heartbeats: number[] = [];
  const controller = new AbortController();
  const response = await fetch(`${url}/revocations/stream`, {
    headers: { authorization: basic(CLIENT.id, CLIENT.secret), ...headers },
    signal: controller.signal,
  });
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
  const parser = createParser({
    onEvent: (event) => {
      assert.equal(event.event, 'revocation');
      events.push({ id: event.id, entry: JSON.parse(event.data) as Record<string, unknown> });
    },
    onComment: () => heartbeats.push(Date.now()),
  });
  void (async () => {
    const decoder = new TextDecoder();
    const reader = response.body!.getReader();
    for (let read = await reader.read(); !read.done; read = await reader.read()) parser.feed(decoder.decode(read.value, { stream: true }));
  })().catch(() => {});
  const until = async (what: string, done: () => boolean) => {
    for (const started = Date.now(); !done(); await sleep(10)) assert.ok(Date.now() - started < 5_000, `${what} within 5 s`);
  };
  await until('the first heartbeat', () => heartbeats.length > 0);
  return { events, heartbeats, until, close: () => controller.abort() };
}

/** A resource service example in its own process, once it says it listens. */
async function startService(command: string, args: string[], env: Record<string, string>): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(command, args, { env: { ...process.env, ...env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('listening') && resolve());
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}`, child };
}

/**
 * `GET /revocations/stream` against real `tessera serve` processes sharing a real Redis, followed
 * by the documented resource services: Node (`followRevocationStream`), Python (the standard library
 * and PyJWT), Java (the JDK alone) and Go (the standard library and golang-jwt). None holds a store
 * credential.
 */
describe('the revocation stream', () => {
  let redis: RedisServer | undefined;
  let identity: ServerProcess | undefined;
  const dirs: string[] = [];
  let keysDir = '';
  let port = 0;
  const services: { name: string; url: string; child: ChildProcess }[] = [];
  const ready = (t: TestContext) => requireRedis(t) && requirePython(t) && requireJava(t) && requireGo(t) && identity !== undefined;

  const startIdentity = async (on = port) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tessera-stream-'));
    dirs.push(dataDir);
    const args = ['--store', 'redis', '--redis-url', redis!.url, '--issuer', ISSUER, '--keys-dir', keysDir, '--data-dir', dataDir];
    return spawnServer([...args, '--client', `${CLIENT.id}:${CLIENT.secret}`, '--log-level', 'warn', '--dpop', 'allowed'], {}, on);
  };

  before(async () => {
    if (!hasRedisServer()) return;
    redis = await startRedis();
    keysDir = mkdtempSync(join(tmpdir(), 'tessera-stream-keys-'));
    dirs.push(keysDir);
    port = await freePort();
    identity = await startIdentity();
    const env = { IDENTITY_URL: identity.url, ISSUER, CLIENT_ID: CLIENT.id, CLIENT_SECRET: CLIENT.secret, MAX_STALENESS: '2' };
    services.push({ name: 'Node', ...(await startService(process.execPath, ['examples/resource-service.js'], env)) });
    if (spawnSync(PYTHON, ['-c', 'import jwt, cryptography']).status === 0)
      services.push({ name: 'Python', ...(await startService(PYTHON, ['examples/resource_service.py'], env)) });
    if (hasJava()) services.push({ name: 'Java', ...(await startService(JAVA, ['examples/ResourceService.java'], env)) });
    if (hasGo()) {
      // Built first: `go run` would leave the program running when the test stops it.
      const binary = join(keysDir, 'orders-go');
      const built = spawnSync('go', ['build', '-o', binary, 'examples/resource_service.go'], { env: { ...process.env, ...GO_ENV } });
      assert.equal(built.status, 0, built.stderr?.toString());
      services.push({ name: 'Go', ...(await startService(binary, [], env)) });
    }
  });

  after(async () => {
    for (const service of services) service.child.kill();
    await identity?.stop();
    await redis?.dispose();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  const account = async (username: string) => {
    const client = new Client(identity!.url);
    if ((await client.post('/auth/register', { username, password: PASSWORD })).status !== 201) throw new Error('registration failed');
  };
  const logIn = async (username: string, password = PASSWORD) => {
    const login = await new Client(identity!.url).post('/auth/login', { username, password, transport: 'body' });
    assert.equal(login.status, 200, JSON.stringify(login.body));
    return login.body.access_token as string;
  };
  const as = (token: string) => new Client(identity!.url, { authorization: `Bearer ${token}` });
  const orders = (url: string, token: string) => new Client(url, { authorization: `Bearer ${token}` }).get('/orders');

  /** Every service accepts the token (each may still be catching up after a restart: 503 meanwhile). */
  async function acceptedEverywhere(token: string) {
    for (const service of services) {
      let answer = await orders(service.url, token);
      for (const started = Date.now(); answer.status === 503 && Date.now() - started < 10_000; await sleep(50))
        answer = await orders(service.url, token);
      assert.equal(answer.status, 200, `${service.name} accepts a live token: ${JSON.stringify(answer.body)}`);
    }
  }

  /** Polls every service until it refuses the token as revoked; the delays. */
  async function refusedEverywhere(token: string, within = 2_000): Promise<string> {
    const delays: string[] = [];
    for (const service of services) {
      const started = Date.now();
      let answer = await orders(service.url, token);
      for (; answer.status !== 401 && Date.now() - started < within; await sleep(5)) answer = await orders(service.url, token);
      assert.equal(answer.status, 401, `${service.name} refuses the revoked token`);
      assert.equal(answer.body.code, 'token_revoked');
      delays.push(`${service.name} ${Date.now() - started} ms`);
    }
    return delays.join(', ');
  }

  it('a DPoP-bound token: Node accepts it with a proof naming the service; none takes it as a bearer token', async (t) => {
    if (!ready(t)) return;
    await account('dora');
    const holder = await DpopHolder.create('ES256');
    const login = await holder.request(identity!.url, 'POST', '/auth/login', {
      json: { username: 'dora', password: PASSWORD, transport: 'body' },
      origin: ISSUER,
    });
    assert.equal(login.body.token_type, 'DPoP', JSON.stringify(login.body));
    const token = login.body.access_token as string;
    for (const service of services) {
      const asBearer = await orders(service.url, token);
      assert.deepEqual([asBearer.status, asBearer.body.code], [401, 'token_invalid'], `${service.name}: a bound token as a bearer token`);
    }
    const node = services.find((service) => service.name === 'Node')!;
    const withProof = await holder.request(node.url, 'GET', '/orders', { token });
    assert.deepEqual([withProof.status, withProof.body.for], [200, 'dora']);
  });

  it('refuses a missing, unknown or wrong client with 401, and the metadata names it', async (t) => {
    if (!ready(t)) return;
    const url = `${identity!.url}/revocations/stream`;
    for (const authorization of [undefined, basic('someone', CLIENT.secret), basic(CLIENT.id, `${CLIENT.secret}x`)]) {
      const response = await fetch(url, { headers: authorization ? { authorization } : {} });
      assert.equal(response.status, 401);
      assert.equal(response.headers.get('www-authenticate'), 'Basic realm="tessera"');
      assert.equal(((await response.json()) as { code: string }).code, 'invalid_client');
    }
    const metadata = await new Client(identity!.url).get('/.well-known/oauth-authorization-server');
    assert.equal(metadata.body.revocation_stream_endpoint, `${ISSUER}/revocations/stream`);
  });

  it('sends the entries in force, then each new one with an id, and a heartbeat at least every second', async (t) => {
    if (!ready(t)) return;
    await account('ada');
    const early = await logIn('ada');
    assert.equal((await as(early).post('/auth/logout')).status, 204);
    const stream = await openStream(identity!.url);
    try {
      const opening = stream.events.length;
      assert.ok(opening >= 1, 'the logout before the stream opened is in the snapshot');
      assert.ok(stream.events.slice(0, -1).every((event) => event.id === undefined) && stream.events.at(-1)!.id !== undefined);
      const late = await logIn('ada');
      assert.equal((await as(late).post('/auth/logout-all')).status, 204);
      await stream.until('the live entries', () => stream.events.length > opening);
      for (const { id, entry } of stream.events.slice(opening)) {
        assert.ok(id, 'every live entry carries a position');
        assert.equal(typeof entry.value, 'string');
        assert.ok(typeof entry.expires_at === 'number' && entry.expires_at > Date.now());
        assert.ok(['jti', 'sid', 'sub', 'kid'].includes(entry.kind as string));
      }
      const heard = stream.heartbeats.length;
      await sleep(3_000);
      t.diagnostic(`${stream.heartbeats.length - heard} heartbeats in 3 s`);
      assert.ok(stream.heartbeats.length - heard >= 3, 'at least one heartbeat a second');
    } finally {
      stream.close();
    }
  });

  it('a follower cut off during revocations resumes with Last-Event-ID, at this instance or another', async (t) => {
    if (!ready(t)) return;
    await account('bea');
    const second = await startIdentity(await freePort());
    try {
      const first = await openStream(identity!.url);
      const opening = first.events.length;
      await as(await logIn('bea')).post('/auth/logout');
      await first.until('the logout', () => first.events.length > opening);
      const cursor = first.events.at(-1)!.id!;
      first.close();
      const missed = [await logIn('bea'), await logIn('bea')];
      for (const token of missed) assert.equal((await as(token).post('/auth/logout')).status, 204);
      for (const url of [identity!.url, second.url]) {
        const resumed = await openStream(url, { 'last-event-id': cursor });
        resumed.close();
        assert.equal(
          resumed.events.length,
          2,
          `${url} sends what was missed, and only that: ${JSON.stringify({ cursor, got: resumed.events })}`,
        );
        assert.ok(resumed.events.every((event) => event.id !== undefined && event.id !== cursor));
      }
    } finally {
      await second.stop();
    }
  });

  it('logout, logout-everywhere, password change and key revocation at the identity server: every service refuses at once', async (t) => {
    if (!ready(t)) return;
    await account('cyd');
    const single = await logIn('cyd');
    await acceptedEverywhere(single);
    assert.equal((await as(single).post('/auth/logout')).status, 204);
    t.diagnostic(`logout: ${await refusedEverywhere(single)}`);

    const everywhere = [await logIn('cyd'), await logIn('cyd')];
    await acceptedEverywhere(everywhere[1]!);
    assert.equal((await as(everywhere[0]!).post('/auth/logout-all')).status, 204);
    for (const token of everywhere) t.diagnostic(`logout-all: ${await refusedEverywhere(token)}`);

    const [caller, other] = [await logIn('cyd'), await logIn('cyd')];
    const changed = await as(caller).post('/auth/password', { current_password: PASSWORD, new_password: 'another long password' });
    assert.equal(changed.status, 204);
    t.diagnostic(`password change: ${await refusedEverywhere(other)}`);
    await acceptedEverywhere(caller);

    // An emergency: rotate so the server signs with a new key, then revoke the old one.
    const signedByOld = await logIn('cyd', 'another long password');
    const [oldKid] = readdirSync(keysDir).filter((file) => file.endsWith('.json'));
    for (const args of [['rotate'], ['rotate'], ['revoke', oldKid!.replace(/\.json$/, '')]]) {
      const run = spawnSync(process.execPath, [CLI, 'keys', ...args, '--dir', keysDir], { encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
    }
    // The identity server rereads its key directory every 2 s, then announces the revoked key.
    t.diagnostic(`key revoked: ${await refusedEverywhere(signedByOld, 5_000)}`);
    await acceptedEverywhere(await logIn('cyd', 'another long password'));
  });

  it('an identity server restart and a Redis restart lose nothing', async (t) => {
    if (!ready(t)) return;
    await account('dov');
    const before = await logIn('dov');
    assert.equal((await as(before).post('/auth/logout')).status, 204);
    await refusedEverywhere(before);

    await identity!.stop();
    identity = await startIdentity(); // the same URL: the followers reconnect by themselves
    const afterRestart = await logIn('dov');
    await acceptedEverywhere(afterRestart);
    await refusedEverywhere(before);
    assert.equal((await as(afterRestart).post('/auth/logout')).status, 204);
    t.diagnostic(`after the identity server restarted: ${await refusedEverywhere(afterRestart, 5_000)}`);

    const live = await logIn('dov');
    await redis!.stop();
    await redis!.start();
    // The identity server answers 503 until its own connections to Redis are back.
    let login = await new Client(identity!.url).post('/auth/login', { username: 'dov', password: PASSWORD, transport: 'body' });
    for (const started = Date.now(); login.status === 503 && Date.now() - started < 10_000; await sleep(50))
      login = await new Client(identity!.url).post('/auth/login', { username: 'dov', password: PASSWORD, transport: 'body' });
    assert.equal(login.status, 200);
    const afterRedis = login.body.access_token as string;
    await acceptedEverywhere(live);
    let logout = await as(afterRedis).post('/auth/logout');
    for (const started = Date.now(); logout.status === 503 && Date.now() - started < 10_000; await sleep(50))
      logout = await as(afterRedis).post('/auth/logout');
    assert.equal(logout.status, 204);
    t.diagnostic(`after Redis restarted: ${await refusedEverywhere(afterRedis, 5_000)}`);
    await refusedEverywhere(before);
  });

  it('withholds heartbeats while the identity server itself has lost the feed, so its followers go stale with it', async (t) => {
    if (!ready(t)) return;
    const stream = await openStream(identity!.url);
    try {
      await redis!.stop();
      const stoppedAt = Date.now();
      await sleep(3_000);
      const late = stream.heartbeats.filter((at) => at > stoppedAt + 1_000);
      t.diagnostic(`heartbeats more than 1 s after Redis stopped: ${late.length}`);
      assert.equal(late.length, 0, 'an instance that may be missing revocations does not vouch for its copy');
      await redis!.start();
      const restartedAt = Date.now();
      await stream.until('heartbeats again once the feed is back', () => stream.heartbeats.some((at) => at > restartedAt));
    } finally {
      stream.close();
    }
  });

  it('a follower that stops hearing heartbeats refuses tokens within its bound, then recovers', async (t) => {
    if (!ready(t)) return;
    await account('eli');
    const token = await logIn('eli');
    await acceptedEverywhere(token);
    identity!.child.kill('SIGSTOP');
    const frozenAt = Date.now();
    try {
      // Watched side by side: each service's own delay.
      await Promise.all(
        services.map(async (service) => {
          let answer = await orders(service.url, token);
          for (; answer.status === 200 && Date.now() - frozenAt < 10_000; await sleep(20)) answer = await orders(service.url, token);
          const after = Date.now() - frozenAt;
          t.diagnostic(`${service.name}: 503 ${after} ms after the identity server froze`);
          assert.equal(answer.status, 503, `${service.name} refuses once its copy may be behind, never accepts blindly`);
          // Node follows the library default (5 s), Python, Java and Go were started with MAX_STALENESS=2.
          const bound = service.name === 'Node' ? 5_000 : 2_000;
          assert.ok(after >= bound - 1_000 && after <= bound + 1_500, `${service.name} refuses at its bound`);
        }),
      );
    } finally {
      identity!.child.kill('SIGCONT');
    }
    await acceptedEverywhere(token);
  });
});

// The stream ends with the server: SIGTERM must not wait for followers that never leave.
it('counts its followers in /metrics, and tessera serve stops at once with followers connected', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-stream-stop-'));
  const server = await spawnServer(['--data-dir', dataDir, '--client', `${CLIENT.id}:${CLIENT.secret}`, '--public-metrics']);
  const followers = async () =>
    Number(
      /^tessera_revocation_stream_followers (\d+)$/m.exec((await new Client(server.url).get('/metrics')).body as unknown as string)?.[1],
    );
  try {
    assert.equal(await followers(), 0);
    const stream = await openStream(server.url);
    assert.equal(await followers(), 1);
    const exited = once(server.child, 'exit');
    server.child.kill('SIGTERM');
    const [code] = (await Promise.race([exited, sleep(5_000).then(() => ['timeout'])])) as [number | string];
    stream.close();
    assert.equal(code, 0);
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

/**
 * An emergency revocation of a stolen key, with the shortest access tokens: the thief signs new
 * tokens with it, and a resource service that fetched the JWKS before the revocation still holds it.
 */
describe('a revoked key stays dead (tessera serve --access-ttl 1, the Node resource service)', () => {
  it('attack: a token the thief signs with the revoked key is refused by the service past access TTL + 60 s', async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tessera-stolen-key-'));
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    const identity = await spawnServer([
      '--data-dir',
      dataDir,
      '--access-ttl',
      '1',
      '--client',
      `${CLIENT.id}:${CLIENT.secret}`,
      '--log-level',
      'warn',
    ]);
    t.after(() => identity.stop());
    const env = { IDENTITY_URL: identity.url, CLIENT_ID: CLIENT.id, CLIENT_SECRET: CLIENT.secret };
    const service = await startService(process.execPath, ['examples/resource-service.js'], env);
    t.after(() => service.child.kill());

    const client = new Client(identity.url);
    assert.equal((await client.post('/auth/register', { username: 'eve', password: PASSWORD })).status, 201);
    const login = await client.post('/auth/login', { username: 'eve', password: PASSWORD, transport: 'body' });
    const claims = JSON.parse(Buffer.from((login.body.access_token as string).split('.')[1]!, 'base64url').toString()) as JWTPayload;
    const keysDir = join(dataDir, 'keys');
    const [stolen] = readdirSync(keysDir).filter((file) => file.endsWith('.json'));
    const stolenKid = stolen!.replace(/\.json$/, '');
    const { jwk } = JSON.parse(readFileSync(join(keysDir, stolen!), 'utf8')) as { jwk: JWK };
    // What the thief signs: the same claims, an admin now, for an hour.
    const forge = async () =>
      new SignJWT({ ...claims, roles: ['admin'], jti: randomUUID() })
        .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: stolenKid })
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(await importJWK(jwk, 'EdDSA'));
    const orders = async () => (await new Client(service.url, { authorization: `Bearer ${await forge()}` }).get('/orders')).status;
    assert.equal(await orders(), 200, 'the stolen key works before it is revoked');

    for (const args of [['rotate'], ['rotate'], ['revoke', stolenKid]]) {
      const run = spawnSync(process.execPath, [CLI, 'keys', ...args, '--dir', keysDir], { encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
    }
    const revokedAt = Date.now();
    for (const started = Date.now(); (await orders()) !== 401; await sleep(100))
      assert.ok(Date.now() - started < 30_000, 'the service refuses the key once the identity server has reread its keys');
    // Past the access-token lifetime and the largest leeway: a revocation sized for tokens the
    // server signed would have lapsed by now, while the service still holds the key.
    await sleep(Math.max(0, revokedAt + 63_000 - Date.now()));
    assert.equal(await orders(), 401, 'still refused 63 s after the revocation');
  });
});
