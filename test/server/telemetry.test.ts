import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { Client } from '../helpers/http-client.js';
import { useRedis } from '../helpers/redis.js';
import { startTestServer } from '../helpers/server.js';

const PASSWORD = 'correct horse battery';
const hasPromtool = () => spawnSync('promtool', ['--version']).status === 0;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One sample of a Prometheus text page, 0 when the series is absent. */
function sample(page: string, series: string): number {
  const line = page.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

/** A log destination that keeps every JSON line. */
function logSink() {
  const lines: Record<string, unknown>[] = [];
  let raw = '';
  return {
    lines,
    raw: () => raw,
    destination: {
      write(line: string) {
        raw += line;
        lines.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  };
}

describe('metrics', () => {
  it('counters move with requests, logins and revocations', async () => {
    const server = await startTestServer({ strategy: 'stateful', metrics: 'public' });
    try {
      const client = new Client(server.url);
      const scrape = async () => {
        const response = await client.get('/metrics');
        assert.equal(response.status, 200);
        assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
        return response.body as unknown as string;
      };
      const before = await scrape();
      assert.equal((await client.post('/auth/register', { username: 'metered', password: PASSWORD })).status, 201);
      assert.equal((await client.post('/auth/login', { username: 'metered', password: 'wrong password' })).status, 401);
      assert.equal((await client.post('/auth/login', { username: 'metered', password: PASSWORD })).status, 200);
      assert.equal((await client.post('/auth/logout')).status, 204);
      const afterwards = await scrape();

      const moved = (series: string) => sample(afterwards, series) - sample(before, series);
      assert.equal(moved('tessera_logins_total{outcome="success"}'), 1);
      assert.equal(moved('tessera_logins_total{outcome="failure"}'), 1);
      assert.equal(moved('tessera_revocations_total{reason="logout"}'), 1);
      assert.equal(moved('tessera_http_requests_total{method="POST",route="/auth/login",status="200"}'), 1);
      assert.equal(moved('tessera_http_requests_total{method="POST",route="/auth/login",status="401"}'), 1);
      assert.equal(moved('tessera_http_request_duration_seconds_count{method="POST",route="/auth/register"}'), 1);
      assert.ok(sample(afterwards, 'process_cpu_user_seconds_total') > 0, 'process metrics are exported');
    } finally {
      await server.stop();
    }
  });

  it("the page passes Prometheus' own lint (promtool check metrics)", async (t) => {
    if (!hasPromtool()) {
      if (process.env.CI) throw new Error('promtool (apt-get install prometheus) is required under CI.');
      return t.skip('promtool is not installed');
    }
    const server = await startTestServer({ strategy: 'hybrid', metrics: 'public' });
    try {
      const client = new Client(server.url);
      await client.post('/auth/login', { username: 'nobody', password: 'wrong password' });
      const page = (await client.get('/metrics')).body as unknown as string;
      const lint = spawn('promtool', ['check', 'metrics']);
      let output = '';
      lint.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      lint.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      lint.stdin.end(page);
      const [code] = (await once(lint, 'exit')) as [number];
      assert.equal(code, 0, output);
      assert.match(page, /^tessera_logins_total\{outcome="failure"\} 1$/m);
    } finally {
      await server.stop();
    }
  });

  it('active sessions are counted in the store', async () => {
    const server = await startTestServer({ strategy: 'hybrid', metrics: 'public' });
    try {
      const anonymous = new Client(server.url);
      await anonymous.post('/auth/register', { username: 'counted', password: PASSWORD });
      for (let i = 0; i < 3; i++)
        assert.equal((await new Client(server.url).post('/auth/login', { username: 'counted', password: PASSWORD })).status, 200);
      assert.equal(sample((await anonymous.get('/metrics')).body as unknown as string, 'tessera_active_sessions'), 3);
    } finally {
      await server.stop();
    }
  });
});

describe('who may read /metrics', () => {
  const TOKEN = 'metrics-token-of-at-least-32-characters';

  it('off by default: 404, with the flags that turn it on in the answer', async () => {
    const server = await startTestServer();
    try {
      const response = await new Client(server.url).get('/metrics');
      assert.equal(response.status, 404);
      assert.match(response.body.detail as string, /--metrics-token/);
    } finally {
      await server.stop();
    }
  });

  it('with a token: a scrape without it or with a wrong one is 401 and shows nothing', async () => {
    const server = await startTestServer({ metrics: { token: TOKEN } });
    try {
      const client = new Client(server.url);
      for (const authorization of [
        undefined,
        `Bearer ${TOKEN}x`,
        `Bearer ${TOKEN.slice(0, -1)}`,
        `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`,
        TOKEN,
      ]) {
        const response = await client.get('/metrics', authorization === undefined ? {} : { authorization });
        assert.equal(response.status, 401, String(authorization));
        assert.equal(response.headers.get('www-authenticate'), 'Bearer realm="metrics"');
        assert.doesNotMatch(JSON.stringify(response.body), /tessera_|process_/);
      }
      const allowed = await client.get('/metrics', { authorization: `Bearer ${TOKEN}` });
      assert.equal(allowed.status, 200);
      assert.match(allowed.body as unknown as string, /^# TYPE tessera_logins_total counter$/m);
    } finally {
      await server.stop();
    }
  });
});

describe('metrics during a Redis outage', () => {
  const redisFor = useRedis();

  it('feed staleness grows, tokens then get 503, store errors are counted, and the page still answers', async (t) => {
    const redis = redisFor(t);
    if (!redis) return;
    const server = await startTestServer({ strategy: 'hybrid', store: 'redis', redisUrl: redis.url, maxStaleness: 2, metrics: 'public' });
    t.after(() => server.stop());
    const client = new Client(server.url);
    await client.post('/auth/register', { username: 'outage', password: PASSWORD });
    const login = await client.post('/auth/login', { username: 'outage', password: PASSWORD });
    const bearer = { authorization: `Bearer ${login.body.access_token as string}` };
    assert.equal((await client.get('/auth/me', bearer)).status, 200);
    const scrape = async () => {
      const response = await client.get('/metrics');
      assert.equal(response.status, 200, 'the metrics page answers through the outage');
      return response.body as unknown as string;
    };
    assert.ok(sample(await scrape(), 'tessera_revocation_feed_staleness_seconds') < 2);
    // A logout waits until every instance (here, this one) has applied it, and says how long that took.
    const other = await client.post('/auth/login', { username: 'outage', password: PASSWORD });
    const logout = await client.post('/auth/logout', {}, { authorization: `Bearer ${other.body.access_token as string}` });
    assert.equal(logout.status, 204);
    const page = await scrape();
    assert.equal(sample(page, 'tessera_revocation_acknowledgement_seconds_count'), 1);
    assert.match(page, /^tessera_revocation_unacknowledged_total 0$/m);

    await redis.stop();
    let staleness = 0;
    for (const deadline = Date.now() + 10_000; staleness <= 2 && Date.now() < deadline; await sleep(200)) {
      staleness = sample(await scrape(), 'tessera_revocation_feed_staleness_seconds');
    }
    assert.ok(staleness > 2, `staleness ${staleness}`);
    // The token check defers its 503 to the route that needs the user.
    const storeErrors = async () => sample(await scrape(), 'tessera_store_errors_total{route="/auth/me"}');
    const errorsBefore = await storeErrors();
    assert.equal((await client.get('/auth/me', bearer)).status, 503, 'a stale copy is not trusted');
    assert.equal((await storeErrors()) - errorsBefore, 1);
    await redis.start();
  });
});

describe('logs', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  const sink = logSink();
  before(async () => {
    server = await startTestServer({
      strategy: 'stateful',
      log: { level: 'info', destination: sink.destination },
      loginThrottle: { perAccountAndClient: { free: 1, maxDelayMs: 60_000, windowMs: 60_000 } },
    });
  });
  after(() => server.stop());

  it('one line per request and per security event, and never a password, cookie or token', async () => {
    const alice = new Client(server.url);
    const other = new Client(server.url);
    await alice.post('/auth/register', { username: 'logged', password: PASSWORD });
    await other.post('/auth/login', { username: 'logged', password: PASSWORD });
    await alice.post('/auth/login', { username: 'logged', password: PASSWORD });
    await alice.get('/auth/me');
    const [device] = ((await alice.get('/auth/sessions')).body.sessions as { id: string; current: boolean }[]).filter((s) => !s.current);
    assert.equal((await alice.delete(`/auth/sessions/${device!.id}`)).status, 204);
    const sessionCookie = [...alice.cookies.values()][0]!;
    await alice.post('/auth/logout-all');
    // One free wrong password, one that starts a delay, then the account is throttled for this client.
    for (let i = 0; i < 3; i++) await new Client(server.url).post('/auth/login', { username: 'logged', password: `wrong password ${i}` });

    // A request's line is written when its response closes, which may be just after the client has it.
    const requests = () => sink.lines.filter((line) => line.event === 'request');
    for (const deadline = Date.now() + 2_000; requests().length < 10 && Date.now() < deadline;) await sleep(10);
    const events = sink.lines.map((line) => line.event);
    assert.deepEqual(
      events.filter((event) => event !== 'request' && event !== 'listening'),
      [
        'registered',
        'login_succeeded',
        'login_succeeded',
        'device_revoked',
        'logout_all',
        'login_failed',
        'login_failed',
        'login_throttled',
      ],
    );
    assert.deepEqual(
      requests().map((line) => line.status),
      [201, 200, 200, 200, 200, 204, 204, 401, 401, 429],
    );
    assert.deepEqual(
      requests()
        .map((line) => line.route)
        .slice(4, 6),
      ['/auth/sessions', '/auth/sessions/:id'],
    );
    assert.ok(requests().every((line) => typeof line.ms === 'number' && typeof line.route === 'string' && line.ip === '127.0.0.1'));
    const revoked = sink.lines.find((line) => line.event === 'device_revoked');
    assert.equal(revoked?.level, 'info');
    assert.equal(sink.lines.find((line) => line.event === 'login_throttled')?.level, 'warn');

    const raw = sink.raw();
    for (const secret of [PASSWORD, 'wrong password 0', sessionCookie])
      assert.equal(raw.includes(secret), false, 'a secret reached the log');
  });
});
