import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { hasPostgresServer } from '../../../tools/postgres-process.js';
import { hasRedisServer } from '../../../tools/redis-process.js';
import { requirePostgres, startPostgres, type PostgresServer } from '../../helpers/postgres.js';
import { requireRedis, startRedis, type RedisServer } from '../../helpers/redis.js';
import { spawnServer, type ServerProcess } from '../../helpers/server-process.js';

const TRIALS = 200;
/** Users changing at once, each in its own sequence of trials: changes overlap as in production. */
const LANES = 4;
const PASSWORDS = ['correct horse battery', 'battery staple horse'] as const;
const ADMIN = { username: 'root', password: 'root password' };
const CLIENT = { id: 'gateway', secret: 'gateway-secret-of-at-least-32-characters' };

export type Strategy = 'cached stateful' | 'stateless' | 'hybrid';
type Headers = Record<string, string>;

/** A shared store, started for one deployment: the flags of each of its three processes. */
interface Backend {
  readonly installed: () => boolean;
  readonly require: (t: TestContext) => boolean;
  /** Starts the store; then the flags of each instance (temporary directories go to `dirs`). */
  start(dirs: string[]): Promise<() => string[]>;
  dispose(): Promise<void>;
}

/** A directory of its own for each instance, one keys directory for all. */
function ownDataDirs(dirs: string[], storeFlags: string[]): () => string[] {
  const keysDir = mkdtempSync(join(tmpdir(), 'tessera-ack-keys-'));
  dirs.push(keysDir);
  return () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tessera-ack-'));
    dirs.push(dataDir);
    return [...storeFlags, '--keys-dir', keysDir, '--data-dir', dataDir];
  };
}

/** A store server of its own (Redis or PostgreSQL), each instance with its own data directory. */
function serverBackend(kind: 'redis' | 'postgres'): Backend {
  let server: RedisServer | PostgresServer | undefined;
  return {
    installed: kind === 'redis' ? hasRedisServer : hasPostgresServer,
    require: kind === 'redis' ? requireRedis : requirePostgres,
    async start(dirs) {
      server = await (kind === 'redis' ? startRedis() : startPostgres());
      return ownDataDirs(dirs, ['--store', kind, `--${kind}-url`, server.url]);
    },
    dispose: async () => await server?.dispose(),
  };
}

/** Three processes on one data directory: one SQLite file, one keys directory. */
function sqliteBackend(): Backend {
  return {
    installed: () => true,
    require: () => true,
    async start(dirs) {
      const dataDir = mkdtempSync(join(tmpdir(), 'tessera-ack-sqlite-'));
      dirs.push(dataDir);
      return () => ['--data-dir', dataDir];
    },
    dispose: async () => {},
  };
}

const strategyFlags: Record<Strategy, string[]> = {
  'cached stateful': ['--strategy', 'stateful', '--session-cache', '--insecure-cookies'],
  stateless: ['--strategy', 'stateless'],
  hybrid: ['--strategy', 'hybrid'],
};

async function post(url: string, path: string, json: unknown, headers: Headers = {}): Promise<Response> {
  return fetch(url + path, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(json) });
}

/** A login's credential as the client sends it: the bearer token, or the session cookie. */
async function logIn(url: string, username: string, password: string): Promise<Headers> {
  const response = await post(url, '/auth/login', { username, password, transport: 'body' });
  const body = (await response.json()) as { access_token?: string };
  assert.equal(response.status, 200, JSON.stringify(body));
  if (body.access_token) return { authorization: `Bearer ${body.access_token}` };
  const cookies = response.headers.getSetCookie().map((line) => line.split(';')[0]!);
  return { cookie: cookies.join('; ') };
}

/** The status of `GET /auth/me` with the credential: what an instance does with it now. */
async function me(url: string, credential: Headers): Promise<number> {
  const response = await fetch(`${url}/auth/me`, { headers: credential });
  await response.arrayBuffer();
  return response.status;
}

interface Deployment {
  readonly urls: readonly string[];
  readonly admin: Headers;
  /** Lane `k`'s user: id, name, current password, and the session it changes its password from. */
  readonly users: { id: string; username: string; password: string; session: Headers | undefined }[];
}

/** What one trial changes at A, and the credential whose fate B and C must agree on. */
type Change = (
  deployment: Deployment,
  lane: number,
) => Promise<{ credential: Headers; change: () => Promise<Response>; survivor?: Headers }>;

const A = 0;

/** Lane `k`'s user logged in once more, for the lane: the session a change must spare, or make. */
async function laneSession({ urls, users }: Deployment, lane: number): Promise<Headers> {
  const user = users[lane]!;
  return (user.session ??= await logIn(urls[A]!, user.username, user.password));
}

const changes: Record<string, Change> = {
  async logout(deployment, lane) {
    const { urls, users } = deployment;
    const survivor = await laneSession(deployment, lane); // another session of the same user
    const credential = await logIn(urls[A]!, users[lane]!.username, users[lane]!.password);
    return { credential, survivor, change: () => post(urls[A]!, '/auth/logout', {}, credential) };
  },
  async 'logout everywhere'({ urls, users }, lane) {
    users[lane]!.session = undefined; // it ends the lane's session too
    const credential = await logIn(urls[A]!, users[lane]!.username, users[lane]!.password);
    return { credential, change: () => post(urls[A]!, '/auth/logout-all', {}, credential) };
  },
  async 'password change'(deployment, lane) {
    const { urls, users } = deployment;
    const user = users[lane]!;
    // The caller's session survives its own password change: one login for the whole lane.
    const caller = await laneSession(deployment, lane);
    const credential = await logIn(urls[A]!, user.username, user.password);
    const next = user.password === PASSWORDS[0] ? PASSWORDS[1] : PASSWORDS[0];
    return {
      credential,
      survivor: caller,
      async change() {
        const response = await post(urls[A]!, '/auth/password', { current_password: user.password, new_password: next }, caller);
        if (response.ok) user.password = next;
        return response;
      },
    };
  },
  async demotion({ urls, users, admin }, lane) {
    const user = users[lane]!;
    user.session = undefined; // a role change ends every session of the user
    const setRoles = (roles: string[]) =>
      fetch(`${urls[A]}/admin/users/${user.id}/roles`, {
        method: 'PUT',
        headers: { ...admin, 'content-type': 'application/json' },
        body: JSON.stringify({ roles }),
      });
    assert.equal((await setRoles(['user', 'auditor'])).status, 200);
    const credential = await logIn(urls[A]!, user.username, user.password);
    return { credential, change: () => setRoles(['user']) };
  },
  async 'RFC 7009 revocation'({ urls, users }, lane) {
    const credential = await logIn(urls[A]!, users[lane]!.username, users[lane]!.password);
    const token = credential.authorization!.slice('Bearer '.length);
    return {
      credential,
      change: () =>
        fetch(`${urls[A]}/oauth/revoke`, {
          method: 'POST',
          headers: { authorization: `Basic ${btoa(`${CLIENT.id}:${CLIENT.secret}`)}`, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ token }),
        }),
    };
  },
};

const BACKENDS = { Redis: () => serverBackend('redis'), PostgreSQL: () => serverBackend('postgres'), SQLite: sqliteBackend };
const STORE_NAMES = { Redis: 'Redis', PostgreSQL: 'PostgreSQL', SQLite: 'one SQLite data directory' };

/**
 * Acknowledged revocation across real `tessera serve` processes: three instances of one deployment
 * share a store; a change is answered at A; the first requests at B and C, sent the moment the
 * answer arrives, must be refused. 200 trials per change, four users changing at once. One file per
 * store and strategy keeps each under the runner's per-file limit.
 */
export function acknowledgedAcrossProcesses(store: keyof typeof BACKENDS, strategy: Strategy): void {
  describe(`acknowledged revocation, ${strategy}: three tessera serve processes on ${STORE_NAMES[store]}`, () => {
    const backend = BACKENDS[store]();
    const servers: ServerProcess[] = [];
    const dirs: string[] = [];
    let deployment: Deployment | undefined;

    before(async () => {
      if (!backend.installed()) return; // each test then fails under CI, or is skipped elsewhere
      const flagsOf = await backend.start(dirs);
      const start = () =>
        spawnServer([
          ...strategyFlags[strategy],
          ...flagsOf(),
          ...['--issuer', 'https://id.test', '--log-level', 'warn'],
          ...['--bootstrap-admin', `${ADMIN.username}:${ADMIN.password}`, '--client', `${CLIENT.id}:${CLIENT.secret}`],
        ]);
      servers.push(await start()); // the first start writes the keys and the schema; the others read them
      servers.push(...(await Promise.all([start(), start()])));
      const urls = servers.map((server) => server.url);
      const users = [];
      for (let lane = 0; lane < LANES; lane++) {
        const username = `lane-${lane}`;
        const created = await post(urls[A]!, '/auth/register', { username, password: PASSWORDS[0] });
        const body = (await created.json()) as { user: { id: string } };
        assert.equal(created.status, 201);
        users.push({ id: body.user.id, username, password: PASSWORDS[0] as string, session: undefined });
      }
      deployment = { urls, users, admin: await logIn(urls[A]!, ADMIN.username, ADMIN.password) };
    });

    after(async () => {
      for (const server of servers) await server.stop();
      await backend.dispose();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    });

    for (const [name, prepare] of Object.entries(changes)) {
      // A stateful session is not an OAuth token: RFC 7009 does not reach it.
      if (name === 'RFC 7009 revocation' && strategy === 'cached stateful') continue;
      it(`${name} at A: the first request at B and C after the answer is refused`, async (t) => {
        if (!backend.require(t)) return;
        const { urls } = deployment!;
        const atBAndC = (credential: Headers) => Promise.all([me(urls[1]!, credential), me(urls[2]!, credential)]);
        let accepted = 0;
        let unavailable = 0;
        let failed = false; // one lane's failure stops the others: none may outlive the test
        const lane = async (k: number) => {
          for (let trial = k; trial < TRIALS && !failed; trial += LANES) {
            const { credential, change, survivor } = await prepare(deployment!, k);
            // Warm: B and C hold the session, or have verified the token.
            assert.deepEqual(await atBAndC(credential), [200, 200], 'accepted before the change');
            const answer = await change();
            assert.ok(answer.ok, `the change answered ${answer.status}`);
            for (const status of await atBAndC(credential)) {
              if (status === 200) accepted++;
              else if (status === 503) unavailable++;
              else assert.equal(status, 401);
            }
            if (survivor) assert.deepEqual(await atBAndC(survivor), [200, 200], 'what the change spares lives on');
          }
        };
        const stopOthers = (error: unknown) => {
          failed = true;
          throw error;
        };
        const lanes = await Promise.allSettled(Array.from({ length: LANES }, (_, k) => lane(k).catch(stopOthers)));
        for (const outcome of lanes) if (outcome.status === 'rejected') throw outcome.reason;
        t.diagnostic(`${accepted} of ${2 * TRIALS} first requests at B and C accepted (${unavailable} answered 503)`);
        assert.equal(accepted, 0);
      });
    }
  });
}
