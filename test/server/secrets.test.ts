import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Client } from '../helpers/http-client.js';
import { usePostgres } from '../helpers/postgres.js';
import { useRedis } from '../helpers/redis.js';
import { CLI, spawnServer } from '../helpers/server-process.js';

const REDIS_PASSWORD = 'redis-password-nobody-may-see';
const ADMIN_PASSWORD = 'admin password nobody may see';
const CLIENT_SECRETS = ['first-client-secret-of-32-characters', 'second-client-secret-of-32-characters'];
const METRICS_TOKEN = 'metrics-token-nobody-may-see-of-32-chars';

/** What another local user sees of a process: its command line (`ps`) and, as the same user, its environment. */
const visible = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8') + readFileSync(`/proc/${pid}/environ`, 'utf8');

describe('secrets from files', () => {
  const redisFor = useRedis();

  it('every secret can come from a file: the server runs on them, and none shows in the command line or environment', async (t) => {
    const redis = redisFor(t);
    if (!redis) return;
    redis.cli('CONFIG', 'SET', 'requirepass', REDIS_PASSWORD);
    const dir = mkdtempSync(join(tmpdir(), 'tessera-secrets-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = (name: string, text: string) => {
      writeFileSync(join(dir, name), text, { mode: 0o600 });
      return join(dir, name);
    };
    const server = await spawnServer(
      [
        '--store',
        'redis',
        '--strategy',
        'hybrid',
        '--insecure-cookies',
        '--data-dir',
        dir,
        '--issuer',
        'https://id.test',
        '--redis-url-file',
        file('redis-url', `redis://:${REDIS_PASSWORD}@127.0.0.1:${redis.port}\n`),
        '--client-file',
        file('clients', CLIENT_SECRETS.map((secret, i) => `client${i}:${secret}`).join('\n') + '\n'),
      ],
      {
        TESSERA_BOOTSTRAP_ADMIN_FILE: file('admin', `root:${ADMIN_PASSWORD}`),
        TESSERA_METRICS_TOKEN_FILE: file('metrics-token', `${METRICS_TOKEN}\r\n`),
      },
    );
    t.after(() => server.stop());

    const seen = visible(server.child.pid!);
    for (const secret of [REDIS_PASSWORD, ADMIN_PASSWORD, METRICS_TOKEN, ...CLIENT_SECRETS])
      assert.ok(!seen.includes(secret), 'a secret is visible');

    const client = new Client(server.url);
    const login = await client.post('/auth/login', { username: 'root', password: ADMIN_PASSWORD, transport: 'body' });
    assert.equal(login.status, 200, 'the admin from the file exists, stored in the password-protected Redis');
    for (const [i, secret] of CLIENT_SECRETS.entries()) {
      const introspected = await fetch(`${server.url}/oauth/introspect`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`client${i}:${secret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ token: login.body.access_token as string }),
      });
      assert.equal(((await introspected.json()) as { active?: boolean }).active, true, `client${i} from the file`);
    }
    assert.equal((await client.get('/metrics')).status, 401);
    assert.equal(
      (await client.get('/metrics', { authorization: `Bearer ${METRICS_TOKEN}` })).status,
      200,
      'the token file’s line ending is not part of the token',
    );
    for (const secret of [REDIS_PASSWORD, ADMIN_PASSWORD, METRICS_TOKEN, ...CLIENT_SECRETS])
      assert.ok(!server.output().includes(secret), 'a secret is logged');
  });

  it('a secret given twice (flag and file) is refused', () => {
    const both = spawnSync(process.execPath, [CLI, 'serve', '--metrics-token', 'x'.repeat(32), '--metrics-token-file', '/dev/null'], {
      encoding: 'utf8',
    });
    assert.equal(both.status, 2);
    assert.match(both.stderr, /--metrics-token and --metrics-token-file are both set/);
  });

  const postgresFor = usePostgres();

  it('the PostgreSQL URL, with its password, can come from TESSERA_POSTGRES_URL_FILE and shows nowhere', async (t) => {
    const postgres = postgresFor(t);
    if (!postgres) return;
    const password = new URL(postgres.url).password;
    const dir = mkdtempSync(join(tmpdir(), 'tessera-secrets-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'postgres-url'), `${postgres.url}\n`, { mode: 0o600 });
    const server = await spawnServer(['--store', 'postgres', '--insecure-cookies', '--data-dir', dir, '--issuer', 'https://id.test'], {
      TESSERA_POSTGRES_URL_FILE: join(dir, 'postgres-url'),
    });
    t.after(() => server.stop());
    assert.ok(!visible(server.child.pid!).includes(password), 'the password is visible');
    const client = new Client(server.url);
    assert.equal((await client.post('/auth/register', { username: 'pat', password: 'correct horse battery' })).status, 201);
    assert.equal(postgres.sql("SELECT count(*) FROM tessera_users WHERE username = 'pat'"), '1', 'stored in PostgreSQL');
    assert.ok(!server.output().includes(password), 'the password is logged');
  });

  it('--postgres-url needs --store postgres and a postgres:// URL', () => {
    for (const [args, message] of [
      [['--postgres-url', 'postgres://localhost/x'], /--postgres-url needs --store postgres/],
      [['--store', 'postgres', '--postgres-url', 'mysql://localhost/x'], /--postgres-url must be a postgres:\/\/ or postgresql:\/\/ URL/],
    ] as const) {
      const refused = spawnSync(process.execPath, [CLI, 'serve', ...args], { encoding: 'utf8' });
      assert.equal(refused.status, 2);
      assert.match(refused.stderr, message);
    }
  });
});
