import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, type TestContext } from 'node:test';
import type { Strategy } from '../../packages/tessera-auth/src/base/types.js';
import { hasPostgresServer, startPostgres, type PostgresServer } from '../../tools/postgres-process.js';
import { freePort, hasRedisServer, startRedis, type RedisServer } from '../../tools/redis-process.js';
import { Client } from './http-client.js';
import { hasNginx, requireNginx, startNginx, type Balancer } from './nginx.js';
import { requirePostgres } from './postgres.js';
import { requireRedis } from './redis.js';
import { spawnServer, type ServerProcess } from './server-process.js';

export const PASSWORD = 'correct horse battery';

/** One `tessera serve` process that can be killed and started again on the same port. */
export interface Instance {
  readonly port: number;
  readonly url: string;
  readonly process: ServerProcess | undefined;
  start(): Promise<void>;
  /** SIGKILL: no drain, every connection cut. */
  kill(): Promise<void>;
  /** SIGTERM: the server drains, then exits; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** The store the instances share. */
export type SharedStore = 'redis' | 'postgres';

export interface ScaleOut {
  readonly strategy: Strategy;
  /** The shared Redis (undefined on PostgreSQL). */
  readonly redis: RedisServer | undefined;
  /** The shared PostgreSQL (undefined on Redis). */
  readonly postgres: PostgresServer | undefined;
  readonly balancer: Balancer;
  readonly instances: readonly Instance[];
  dispose(): Promise<void>;
}

/**
 * A real Redis (append-only file on) or PostgreSQL, `count` `tessera serve` processes sharing it and
 * one keys directory, and nginx in front of them with round robin and no stickiness. All on
 * loopback, all stopped by `dispose`.
 */
export async function startScaleOut(
  strategy: Strategy,
  options: { count?: number; args?: readonly string[]; store?: SharedStore } = {},
): Promise<ScaleOut> {
  const count = options.count ?? 3;
  const redis = options.store === 'postgres' ? undefined : await startRedis();
  const postgres = options.store === 'postgres' ? await startPostgres() : undefined;
  const storeArgs = redis ? ['--store', 'redis', '--redis-url', redis.url] : ['--store', 'postgres', '--postgres-url', postgres!.url];
  const keysDir = mkdtempSync(join(tmpdir(), 'tessera-scale-keys-'));
  const dirs = [keysDir];
  const instances: Instance[] = [];
  for (let i = 0; i < count; i++) {
    const port = await freePort();
    const dataDir = mkdtempSync(join(tmpdir(), 'tessera-scale-'));
    dirs.push(dataDir);
    const args = ['--strategy', strategy, ...storeArgs, '--keys-dir', keysDir, '--data-dir', dataDir];
    const flags = [
      ...args,
      '--issuer',
      'https://id.test',
      '--insecure-cookies',
      '--trust-proxy',
      'loopback',
      '--log-level',
      'warn',
      ...(options.args ?? []),
    ];
    let current: ServerProcess | undefined;
    instances.push({
      port,
      url: `http://127.0.0.1:${port}`,
      get process() {
        return current;
      },
      async start() {
        current = await spawnServer(flags, {}, port);
      },
      async kill() {
        const child = current?.child;
        if (!child || child.exitCode !== null) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      },
      async stop() {
        return (await current?.stop()) ?? null;
      },
    });
  }
  await instances[0]!.start(); // the first start writes the shared signing key; the others read it
  await Promise.all(instances.slice(1).map((instance) => instance.start()));
  const balancer = await startNginx(instances.map((instance) => instance.port));
  return {
    strategy,
    redis,
    postgres,
    balancer,
    instances,
    async dispose() {
      await balancer.stop();
      await Promise.all(instances.map((instance) => instance.stop()));
      await redis?.dispose();
      await postgres?.dispose();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * One harness for the enclosing suite, stopped after it. The returned function gives a test the
 * harness, or undefined when the test was skipped (under CI a missing Redis or nginx fails it).
 */
export function useScaleOut(
  strategy: Strategy,
  options: { args?: readonly string[]; store?: SharedStore } = {},
): (t: TestContext) => ScaleOut | undefined {
  const onPostgres = options.store === 'postgres';
  let scale: ScaleOut | undefined;
  before(async () => {
    if ((onPostgres ? hasPostgresServer() : hasRedisServer()) && hasNginx()) scale = await startScaleOut(strategy, options);
  });
  after(() => scale?.dispose());
  return (t) => ((onPostgres ? requirePostgres(t) : requireRedis(t)) && requireNginx(t) ? scale : undefined);
}

/**
 * Resolves once the balancer sends a request to `instance` again: after a restart, nginx keeps an
 * upstream that failed out of rotation for a second (`fail_timeout`), as a production balancer
 * waits for a health check. A rolling restart that stops the next instance before that can leave
 * nginx with no upstream it trusts.
 */
export async function untilBalancedTo(balancer: Balancer, instance: Instance): Promise<void> {
  const target = `127.0.0.1:${instance.port}`;
  for (const started = Date.now(); Date.now() - started < 30_000; await new Promise((resolve) => setTimeout(resolve, 50))) {
    const answer = await fetch(`${balancer.url}/healthz`);
    await answer.arrayBuffer();
    if (answer.status === 200 && answer.headers.get('x-upstream') === target) return;
  }
  throw new Error(`nginx did not send a request to ${target} within 30 s of its restart`);
}

export interface Answer {
  readonly status: number;
  /** `127.0.0.1:port` of the instance that answered, from nginx's `X-Upstream`. */
  readonly upstream: string;
  readonly code?: string;
  readonly ms: number;
  /** When the answer arrived (epoch ms). */
  readonly at: number;
}

/**
 * A signed-in user as a real client keeps one: a session cookie (stateful), a bearer token
 * (stateless) or a bearer token renewed through the refresh cookie when it expires (hybrid).
 */
export class VirtualUser {
  private token: string | undefined;
  /** How many times this (hybrid) user renewed its access token. */
  renewals = 0;

  private constructor(
    readonly strategy: Strategy,
    readonly client: Client,
    readonly username: string,
  ) {}

  static async signUp(baseUrl: string, strategy: Strategy, username: string): Promise<VirtualUser> {
    const client = new Client(baseUrl);
    const registered = await client.post('/auth/register', { username, password: PASSWORD });
    if (registered.status !== 201) throw new Error(`register ${username}: ${registered.status} ${JSON.stringify(registered.body)}`);
    const user = new VirtualUser(strategy, client, username);
    await user.logIn();
    return user;
  }

  async logIn(): Promise<void> {
    const login = await this.client.post('/auth/login', { username: this.username, password: PASSWORD });
    if (login.status !== 200) throw new Error(`login ${this.username}: ${login.status} ${JSON.stringify(login.body)}`);
    this.token = login.body.access_token as string | undefined;
  }

  /** The credential this user presents, as the value of a header, for probing one instance directly. */
  headers(): Record<string, string> {
    if (this.token) return { authorization: `Bearer ${this.token}` };
    return { cookie: [...this.client.cookies].map(([name, value]) => `${name}=${value}`).join('; ') };
  }

  /** One authenticated request through the balancer; a hybrid user renews an expired token once. */
  async request(path = '/auth/me'): Promise<Answer> {
    const started = Date.now();
    let answer = await this.client.request('GET', path, { headers: this.token ? { authorization: `Bearer ${this.token}` } : {} });
    if (this.strategy === 'hybrid' && answer.status === 401 && answer.body.code === 'token_expired') {
      const renewed = await this.client.post('/auth/refresh');
      if (renewed.status === 200) {
        this.token = renewed.body.access_token as string;
        this.renewals++;
      }
      answer =
        renewed.status === 200 ? await this.client.request('GET', path, { headers: { authorization: `Bearer ${this.token}` } }) : renewed;
    }
    return {
      status: answer.status,
      upstream: answer.headers.get('x-upstream') ?? '',
      ...(typeof answer.body === 'object' && typeof answer.body?.code === 'string' && { code: answer.body.code as string }),
      ms: Date.now() - started,
      at: Date.now(),
    };
  }

  async logOut(): Promise<number> {
    const answer = await this.client.request('POST', '/auth/logout', {
      headers: this.token ? { authorization: `Bearer ${this.token}` } : {},
    });
    return answer.status;
  }
}

export interface LoadReport {
  readonly requests: number;
  /** Count of answers per status, e.g. `{ 200: 950, 503: 3 }`. */
  readonly statuses: Record<number, number>;
  /** Count of answers per instance. */
  readonly upstreams: Record<string, number>;
  /** Requests nginx passed to a second instance after the first failed (`X-Upstream: a, b`). */
  readonly retried: number;
  /** Every answer that was not a 200, in order, with the instance that gave it. */
  readonly failures: Answer[];
  readonly maxMs: number;
}

/**
 * Every user sends requests back to back through the balancer until `until` resolves; every
 * answer is kept. Nothing is asserted here: each scenario says what it accepts.
 */
export async function collectUntil(users: readonly VirtualUser[], until: Promise<unknown>): Promise<Answer[]> {
  let done = false;
  void until.finally(() => (done = true));
  const answers: Answer[] = [];
  await Promise.all(
    users.map(async (user) => {
      while (!done) {
        answers.push(
          await user.request().catch((error: unknown) => ({ status: 0, upstream: '', code: String(error), ms: 0, at: Date.now() })),
        );
      }
    }),
  );
  await until;
  return answers;
}

export const loadUntil = async (users: readonly VirtualUser[], until: Promise<unknown>): Promise<LoadReport> =>
  summarise(await collectUntil(users, until));

export function summarise(answers: readonly Answer[]): LoadReport {
  const statuses: Record<number, number> = {};
  const upstreams: Record<string, number> = {};
  for (const answer of answers) {
    statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
    // A retried request names every instance tried; the last one answered.
    const last = answer.upstream.split(', ').at(-1);
    if (last) upstreams[last] = (upstreams[last] ?? 0) + 1;
  }
  return {
    requests: answers.length,
    statuses,
    upstreams,
    retried: answers.filter((answer) => answer.upstream.includes(',')).length,
    failures: answers.filter((answer) => answer.status !== 200),
    maxMs: Math.max(0, ...answers.map((answer) => answer.ms)),
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Signs up `count` users through the balancer, a few at a time (Argon2 is deliberately slow). */
export async function signUpMany(scale: ScaleOut, prefix: string, count: number): Promise<VirtualUser[]> {
  const users: VirtualUser[] = [];
  for (let i = 0; i < count; i += 4) {
    const batch = Array.from({ length: Math.min(4, count - i) }, (_, j) =>
      VirtualUser.signUp(scale.balancer.url, scale.strategy, `${prefix}-${i + j}`),
    );
    users.push(...(await Promise.all(batch)));
  }
  return users;
}
