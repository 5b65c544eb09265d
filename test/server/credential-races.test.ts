import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { Strategy } from '../../packages/tessera-auth/src/base/types.js';
import { hasRedisServer } from '../../tools/redis-process.js';
import { Client } from '../helpers/http-client.js';
import { hasPostgresServer } from '../../tools/postgres-process.js';
import { requirePostgres, startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { requireRedis, startRedis, type RedisServer } from '../helpers/redis.js';
import { startTestServer } from '../helpers/server.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;
const PASSWORD = 'correct horse battery';
const NEW_PASSWORD = 'a brand new passphrase';
const ROOT = { username: 'root', password: 'root password' };
/** Each trial runs this many login loops at once while the change is made. */
const LOOPS = 4;
/** Trials per scenario: before the fix every scenario lost credentials in every trial of three. */
const TRIALS = 3;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let serial = 0;

/** What a login hands out, by strategy: a cookie, an access token, or an access token and a refresh handle. */
interface Credential {
  readonly cookie?: string;
  readonly token?: string;
  readonly refresh?: string;
  /** Whether the login had answered before the change did: then nothing of it may work afterwards. */
  beforeChange?: boolean;
}

/** A client that presents `credential` to `url`. */
function presenting(url: string, credential: Credential): Client {
  const client = new Client(url, credential.token ? { authorization: `Bearer ${credential.token}` } : {});
  if (credential.cookie) client.cookies.set('tessera', credential.cookie);
  return client;
}

async function logIn(url: string, strategy: Strategy, username: string, password: string): Promise<Credential | null> {
  const client = new Client(url);
  const login = await client.post('/auth/login', { username, password, ...(strategy === 'hybrid' && { transport: 'body' }) });
  if (login.status !== 200) return null;
  if (strategy === 'stateful') return { cookie: client.cookies.get('tessera')! };
  return { token: login.body.access_token as string, ...(strategy === 'hybrid' && { refresh: login.body.refresh_token as string }) };
}

/**
 * Runs `LOOPS` login loops at `url` until `change` has answered and every loop's login in flight
 * at that moment has finished; returns every credential they obtained. The change starts once the
 * loops are busy, so some logins are always in flight while it runs.
 */
async function loginsAround(
  url: string,
  strategy: Strategy,
  username: string,
  password: string,
  change: () => Promise<void>,
): Promise<Credential[]> {
  const credentials: Credential[] = [];
  let changed = false;
  const loops = Array.from({ length: LOOPS }, async (_, i) => {
    await sleep(i * 15);
    while (!changed) {
      const credential = await logIn(url, strategy, username, password);
      if (credential) credentials.push({ ...credential, beforeChange: !changed });
    }
  });
  await sleep(150);
  await change();
  changed = true;
  await Promise.all(loops);
  return credentials;
}

/**
 * What a credential still gets after the change, at `url`: the roles it is served with, or null
 * when it is refused. A refresh handle is traded in too, and the renewed token asked the same.
 */
async function whatItStillGets(url: string, credential: Credential): Promise<string[][]> {
  const served: string[][] = [];
  const me = await presenting(url, credential).get('/auth/me');
  if (me.status === 200) served.push(me.body.user.roles as string[]);
  else assert.equal(me.status, 401, JSON.stringify(me.body));
  if (credential.refresh) {
    const refreshed = await new Client(url).post('/auth/refresh', { refresh_token: credential.refresh });
    if (refreshed.status === 200) {
      const renewed = await presenting(url, { token: refreshed.body.access_token as string }).get('/auth/me');
      served.push(renewed.status === 200 ? (renewed.body.user.roles as string[]) : []);
    } else {
      assert.equal(refreshed.status, 401, JSON.stringify(refreshed.body));
    }
  }
  return served;
}

interface Deployment {
  /** Where the logins are made. */
  readonly loginAt: TestServer;
  /** Where the change is made (another instance when the store is shared). */
  readonly changeAt: TestServer;
  readonly servers: readonly TestServer[];
}

/**
 * A credential change racing logins in flight, as an attacker would time it: whatever the
 * interleaving, nothing obtained around the change may outlive it on any instance.
 */
function describeRaces(title: string, strategy: Strategy, deploy: (t: TestContext) => Promise<Deployment | undefined>) {
  describe(title, () => {
    const admin = async (server: TestServer) => {
      const credential = await logIn(server.url, strategy, ROOT.username, ROOT.password);
      assert.ok(credential, 'the root admin logs in');
      return presenting(server.url, credential);
    };

    it(`a demoted admin's logins in flight come out without the admin role (${TRIALS} trials)`, async (t) => {
      const deployment = await deploy(t);
      if (!deployment) return;
      const root = await admin(deployment.changeAt);
      const survivors: string[] = [];
      let collected = 0;
      for (let trial = 0; trial < TRIALS; trial++) {
        const username = `adm${process.pid}x${++serial}`;
        const registered = await new Client(deployment.loginAt.url).post('/auth/register', { username, password: PASSWORD });
        assert.equal(registered.status, 201);
        const userId = registered.body.user.id as string;
        assert.equal((await root.put(`/admin/users/${userId}/roles`, { roles: ['admin', 'user'] })).status, 200);

        const credentials = await loginsAround(deployment.loginAt.url, strategy, username, PASSWORD, async () => {
          const demoted = await root.put(`/admin/users/${userId}/roles`, { roles: ['user'] });
          assert.equal(demoted.status, 200);
        });
        collected += credentials.length;
        for (const credential of credentials) {
          for (const server of deployment.servers) {
            for (const roles of await whatItStillGets(server.url, credential)) {
              // A login that answered after the change may work, but only with the new roles.
              if (roles.includes('admin') || credential.beforeChange)
                survivors.push(`trial ${trial}: served as ${roles.join(',')} at ${server.url}`);
            }
          }
        }
      }
      assert.ok(collected >= TRIALS * LOOPS, `the loops logged in (${collected})`);
      assert.deepEqual(survivors, [], `${survivors.length} admin credentials outlived the demotion (of ${collected})`);
    });

    it(`a password change ends the sessions an attacker is opening with the old password (${TRIALS} trials)`, async (t) => {
      const deployment = await deploy(t);
      if (!deployment) return;
      const survivors: string[] = [];
      let collected = 0;
      for (let trial = 0; trial < TRIALS; trial++) {
        const username = `pw${process.pid}x${++serial}`;
        assert.equal((await new Client(deployment.loginAt.url).post('/auth/register', { username, password: PASSWORD })).status, 201);
        const owner = await logIn(deployment.changeAt.url, strategy, username, PASSWORD);
        assert.ok(owner);

        const stolen = await loginsAround(deployment.loginAt.url, strategy, username, PASSWORD, async () => {
          const changed = await presenting(deployment.changeAt.url, owner).post('/auth/password', {
            current_password: PASSWORD,
            new_password: NEW_PASSWORD,
          });
          assert.equal(changed.status, 204, JSON.stringify(changed.body));
        });
        collected += stolen.length;
        for (const credential of stolen) {
          for (const server of deployment.servers) {
            const served = await whatItStillGets(server.url, credential);
            if (served.length > 0) survivors.push(`trial ${trial}: still served at ${server.url}`);
          }
        }
        const me = await presenting(deployment.changeAt.url, owner).get('/auth/me');
        assert.equal(me.status, 200, 'the owner stays signed in where the password was changed');
      }
      assert.ok(collected >= TRIALS * LOOPS, `the attacker logged in (${collected})`);
      assert.deepEqual(survivors, [], `${survivors.length} attacker credentials outlived the password change (of ${collected})`);
    });
  });
}

const STRATEGIES: readonly Strategy[] = ['stateful', 'stateless', 'hybrid'];

for (const strategy of STRATEGIES) {
  let server: TestServer | undefined;
  describeRaces(`credential changes racing logins: ${strategy} on SQLite`, strategy, async () => {
    server ??= await startTestServer({ strategy, store: 'sqlite', bootstrapAdmin: ROOT });
    return { loginAt: server, changeAt: server, servers: [server] };
  });
  after(() => server?.stop());
}

/** What the two-instance races need of a shared store: the flags that point `startTestServer` at a fresh dataset. */
interface SharedStore {
  options(strategy: Strategy): Partial<Parameters<typeof startTestServer>[0]>;
  dispose(): Promise<void>;
}

/** Logins at one instance, the change at another, both on one shared store: for each strategy. */
function describeSharedStore(
  name: string,
  installed: () => boolean,
  require: (t: TestContext) => boolean,
  open: () => Promise<SharedStore>,
) {
  describe(`credential changes racing logins on two instances sharing a ${name}`, () => {
    let store: SharedStore | undefined;
    const deployments = new Map<Strategy, Deployment>();
    const dirs: string[] = [];

    before(async () => {
      if (installed()) store = await open();
    });
    after(async () => {
      for (const { servers } of deployments.values()) for (const server of servers) await server.stop();
      await store?.dispose();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    });

    for (const strategy of STRATEGIES) {
      describeRaces(`${strategy}: logins at one instance, the change at the other`, strategy, async (t) => {
        if (!require(t) || !store) return undefined;
        let deployment = deployments.get(strategy);
        if (!deployment) {
          const keysDir = mkdtempSync(join(tmpdir(), 'tessera-races-keys-'));
          dirs.push(keysDir);
          const shared = { strategy, ...store.options(strategy), keysDir, issuer: 'https://id.test', bootstrapAdmin: ROOT };
          const first = await startTestServer(shared); // writes the shared key; the second reads it
          const second = await startTestServer(shared);
          deployment = { loginAt: first, changeAt: second, servers: [first, second] };
          deployments.set(strategy, deployment);
        }
        return deployment;
      });
    }
  });
}

describeSharedStore('Redis', hasRedisServer, requireRedis, async () => {
  const redis: RedisServer = await startRedis();
  return {
    // A database of its own for each strategy.
    options: (strategy) => ({ store: 'redis', redisUrl: `${redis.url}/${STRATEGIES.indexOf(strategy)}` }),
    dispose: () => redis.dispose(),
  };
});

describeSharedStore('PostgreSQL', hasPostgresServer, requirePostgres, async () => {
  const postgres: PostgresServer = await startPostgres();
  return {
    options: (strategy) => {
      postgres.sql(`CREATE DATABASE races_${strategy}`);
      return { store: 'postgres', postgresUrl: postgres.url.replace(/\/tessera$/, `/races_${strategy}`) };
    },
    dispose: () => postgres.dispose(),
  };
});
