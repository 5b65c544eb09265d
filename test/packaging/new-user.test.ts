import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { useRedis } from '../helpers/redis.js';

const run = promisify(execFile);
const ROOT = resolve('.');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

/** The packages as `npm publish` would ship them (built already: no scripts run here). */
async function pack(into: string): Promise<Record<string, string>> {
  const { stdout } = await run(
    'npm',
    ['pack', '--ignore-scripts', '--json', '--pack-destination', into, '-w', 'tessera-auth', '-w', 'tessera-auth-server'],
    { cwd: ROOT },
  );
  const packed = JSON.parse(stdout) as { name: string; filename: string }[];
  return Object.fromEntries(packed.map((entry) => [entry.name, join(into, entry.filename)]));
}

/** Every package directory under node_modules, scoped ones included. */
function installed(project: string): string[] {
  const modules = join(project, 'node_modules');
  return readdirSync(modules).flatMap((name) =>
    name.startsWith('@') ? readdirSync(join(modules, name)).map((inner) => `${name}/${inner}`) : name.startsWith('.') ? [] : [name],
  );
}

/** A native addon is built from a binding.gyp or ships a prebuilt .node file. */
function nativeModules(project: string): string[] {
  return installed(project).filter((name) => {
    const dir = join(project, 'node_modules', name);
    return existsSync(join(dir, 'binding.gyp')) || existsSync(join(dir, 'prebuilds')) || existsSync(join(dir, 'build', 'Release'));
  });
}

/** A fresh project, as a new user starts one: npm init, then the packages they chose. */
async function freshProject(dependencies: string[], source: string): Promise<string> {
  const project = mkdtempSync(join(tmpdir(), 'tessera-new-user-'));
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'new-user', private: true, type: 'module' }));
  await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel', 'error', ...dependencies], { cwd: project, maxBuffer: 16 << 20 });
  writeFileSync(join(project, 'app.ts'), source);
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        skipLibCheck: false,
        outDir: 'out',
        types: ['node'],
      },
      files: ['app.ts'],
    }),
  );
  return project;
}

describe('a new user installs tessera-auth from its packed tarball', () => {
  let tarballs: Record<string, string>;
  const dirs: string[] = [];
  before(async () => {
    const into = mkdtempSync(join(tmpdir(), 'tessera-packed-'));
    dirs.push(into);
    tarballs = await pack(into);
  });
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('into a Hono project: it type-checks and runs, with no native module and no Express', async () => {
    const project = await freshProject(
      [tarballs['tessera-auth']!, 'hono@4', '@types/node@20'],
      `import { Hono } from 'hono';
import { createAuth } from 'tessera-auth';
import { requireAuth, tessera, type TesseraEnv } from 'tessera-auth/hono';
import { createMemoryStore } from 'tessera-auth/memory';
import { createKeyRing, generateJwk, importKey } from 'tessera-auth/tokens';

const keys = createKeyRing([{ key: importKey({ alg: 'EdDSA', key: generateJwk('EdDSA') }), status: 'active' }]);
const auth = createAuth({ strategy: 'hybrid', store: createMemoryStore(), cookie: { secure: false }, tokens: { keys, issuer: 'https://api.example' } });
const app = new Hono<TesseraEnv>();
app.use(tessera(auth));
app.post('/login', async (c) => {
  const result = await c.get('auth').login({ id: 'ana', name: 'ana', roles: ['reader'] }, { transport: 'body' });
  return c.json({ token: result.accessToken?.token });
});
app.get('/me', requireAuth({ roles: ['reader'] }), (c) => c.json({ id: c.get('auth').user?.id }));

const { token } = (await (await app.fetch(new Request('http://app/login', { method: 'POST' }))).json()) as { token: string };
const me = await app.fetch(new Request('http://app/me', { headers: { authorization: 'Bearer ' + token } }));
console.log(JSON.stringify({ status: me.status, body: await me.json() }));
auth.close();
`,
    );
    dirs.push(project);
    await run(process.execPath, [TSC, '-p', project], { cwd: project });
    const { stdout } = await run(process.execPath, [join(project, 'out', 'app.js')], { cwd: project });
    assert.deepEqual(JSON.parse(stdout), { status: 200, body: { id: 'ana' } });

    const packages = installed(project);
    for (const unwanted of ['express', 'better-sqlite3', 'argon2', 'ioredis', 'pino', 'prom-client', 'fastify'])
      assert.ok(!packages.includes(unwanted), `${unwanted} was installed`);
    assert.deepEqual(nativeModules(project), [], 'nothing to compile');
    assert.deepEqual(
      packages.filter((name) => !['hono', 'tessera-auth', 'cookie', 'fastest-levenshtein', 'undici-types', '@types/node'].includes(name)),
      [],
      'only what the app asked for',
    );
  });

  describe('into a Fastify project with Redis', () => {
    const redisFor = useRedis();

    it('it type-checks and runs against a real Redis, with no native module and no Express', async (t) => {
      const redis = redisFor(t);
      if (!redis) return;
      const project = await freshProject(
        // ioredis 6.1's declarations import redis-errors, whose types it lists only as a dev
        // dependency: with skipLibCheck off, as here, a project needs them itself.
        [tarballs['tessera-auth']!, 'fastify@5', 'ioredis@6', '@types/redis-errors', '@types/node@20'],
        `import Fastify from 'fastify';
import { createAuth } from 'tessera-auth';
import { problemHandler, requireAuth, tessera } from 'tessera-auth/fastify';
import { createRedisStore } from 'tessera-auth/redis';

const store = createRedisStore({ url: process.env.REDIS_URL! });
// Commands fail at once while the connection is not up (no offline queue): wait for it.
for (let tries = 0; ; tries++) {
  try {
    await store.ping();
    break;
  } catch (error) {
    if (tries === 100) throw error;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
const auth = createAuth({ strategy: 'stateful', store, cookie: { secure: false } });
const app = Fastify();
app.setErrorHandler(problemHandler());
await app.register(tessera, { auth });
app.post('/login', async (request) => {
  await request.auth.login({ id: 'bo', roles: ['reader'] });
  return { ok: true };
});
app.get('/me', { preHandler: requireAuth() }, async (request) => ({ id: request.auth.user?.id }));

const login = await app.inject({ method: 'POST', url: '/login', headers: { host: 'localhost', origin: 'http://localhost' } });
const cookie = String(login.headers['set-cookie']).split(';')[0]!;
const me = await app.inject({ method: 'GET', url: '/me', headers: { cookie } });
console.log(JSON.stringify({ login: login.statusCode === 200 ? 200 : login.body, status: me.statusCode, body: me.json() }));
await app.close();
auth.close();
await store.close();
`,
      );
      dirs.push(project);
      await run(process.execPath, [TSC, '-p', project], { cwd: project });
      const { stdout } = await run(process.execPath, [join(project, 'out', 'app.js')], {
        cwd: project,
        env: { ...process.env, REDIS_URL: redis.url },
      });
      assert.deepEqual(JSON.parse(stdout), { login: 200, status: 200, body: { id: 'bo' } });
      const packages = installed(project);
      for (const unwanted of ['express', 'better-sqlite3', 'argon2', 'pino-http', 'prom-client', 'hono'])
        assert.ok(!packages.includes(unwanted), `${unwanted} was installed`);
      assert.deepEqual(nativeModules(project), [], 'nothing to compile');
    });
  });
});
