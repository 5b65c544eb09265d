/**
 * The request path without HTTP: the CPU one process spends authenticating one request, through
 * Tessera's Express adapter (`tessera(auth, { require: true })`) and through the middleware people
 * use instead (express-session with MemoryStore and with connect-redis; jsonwebtoken, fast-jwt with
 * its cache, jose), with the cookie or token each really sends. Each contender runs in a process of
 * its own, as an application runs one of them: in one shared process, the contenders' code paths
 * and garbage slowed each other by up to 3 µs per request. Rounds are interleaved and the median reported; store commands are counted on a real Redis. HTTP parsing,
 * routing and the network are left out on purpose: they cost every contender the same and are
 * where this shared machine's noise lives.
 *
 *   npm run bench:in-process -- [--quick] [--rounds N] [--calls N] [--only PATTERN]
 */
import { createSecretKey, randomUUID } from 'node:crypto';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { RedisStore } from 'connect-redis';
import session from 'express-session';
import { createVerifier as fastJwtVerifier, createSigner as fastJwtSigner } from 'fast-jwt';
import { jwtVerify } from 'jose';
import jsonwebtoken from 'jsonwebtoken';
import { createClient } from 'redis';
import { createAuth, createAuthContext, createMemoryStore, type Auth, type Strategy } from 'tessera-auth';
import { tessera } from 'tessera-auth/express';
import { createRedisStore } from 'tessera-auth/redis';
import { createKeyRing, importKey } from 'tessera-auth/tokens';
import { startRedis, waitUntilUp, type RedisServer } from '../tools/redis-process.js';
import { machine, median, replaceReadmeSection } from './harness.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    rounds: { type: 'string' },
    calls: { type: 'string' },
    only: { type: 'string' },
    child: { type: 'string' },
    redis: { type: 'string' },
  },
});
const ROUNDS = Number(args.rounds ?? (args.quick ? 3 : 9));
const CALLS = Number(args.calls ?? (args.quick ? 2_000 : 20_000));
const SECRET = 'bench-secret-bench-secret-bench-secret-0123456789';
const USER = { id: randomUUID(), name: 'bench', roles: ['user'] };

/** An Express middleware, as both sides write them. */
type Middleware = (req: FakeRequest, res: FakeResponse, next: (error?: unknown) => void) => unknown;

/** What Express middleware reads of a request: headers, method, url, the client address. */
interface FakeRequest {
  method: string;
  url: string;
  originalUrl: string;
  headers: Record<string, string>;
  ip: string;
  socket: { remoteAddress: string; encrypted?: boolean };
  connection: { remoteAddress: string; encrypted?: boolean };
  [key: string]: unknown;
}

/** What they write: only on a refusal here, which fails the benchmark. */
class FakeResponse {
  statusCode = 200;
  headers: Record<string, unknown> = {};
  ended = false;
  setHeader(name: string, value: unknown) {
    this.headers[name.toLowerCase()] = value;
  }
  getHeader(name: string) {
    return this.headers[name.toLowerCase()];
  }
  append(name: string, value: string) {
    this.headers[name.toLowerCase()] = value;
    return this;
  }
  writeHead() {
    return this;
  }
  status(code: number) {
    this.statusCode = code;
    return this;
  }
  set() {
    return this;
  }
  end() {
    this.ended = true;
  }
  sendStatus(code: number) {
    this.statusCode = code;
    this.ended = true;
  }
}

const request = (headers: Record<string, string>): FakeRequest => {
  const socket = { remoteAddress: '127.0.0.1' };
  return { method: 'GET', url: '/me', originalUrl: '/me', headers, ip: '127.0.0.1', socket, connection: socket };
};

/** Runs one request through the chain; resolves when the route would run, rejects on a refusal. */
function run(chain: readonly Middleware[], headers: Record<string, string>): Promise<void> {
  const req = request(headers);
  const res = new FakeResponse();
  return new Promise((resolve, reject) => {
    let index = 0;
    const next = (error?: unknown): void => {
      if (error) return reject(error as Error);
      const middleware = chain[index++];
      if (!middleware) return resolve();
      void middleware(req, res, next);
      if (res.ended) reject(new Error(`refused with ${res.statusCode}`));
    };
    next();
  });
}

interface Contender {
  name: string;
  kind: 'stateful' | 'stateless';
  tessera: boolean;
  /** The credential as sent: the Cookie or Authorization header's value. */
  credential: string;
  chain: Middleware[];
  headers: Record<string, string>;
  usesRedis: boolean;
  close?: () => Promise<void> | void;
}

const asMiddleware = (handler: unknown) => handler as Middleware;

async function tesseraContender(
  name: string,
  strategy: Strategy,
  store: Auth['store'],
  options: { cache?: boolean; usesRedis?: boolean } = {},
) {
  const keys = createKeyRing([{ key: importKey({ alg: 'HS256', kid: 'bench', key: Buffer.from(SECRET) }), status: 'active' }]);
  const auth = createAuth({
    strategy,
    store,
    cookie: { secure: false },
    ...(strategy !== 'stateful' && { tokens: { keys, issuer: 'https://id.example' } }),
    ...(options.cache && { session: { cache: true } }),
  });
  await auth.ready();
  const chain = [asMiddleware(tessera(auth, { require: true }))];
  // A login, as a client would get its credential.
  const setCookies: string[] = [];
  const facts = { method: 'GET', ip: '127.0.0.1', header: () => undefined };
  const result = await (
    await createAuthContext(auth, facts, { appendSetCookie: (value) => void setCookies.push(value) })
  ).login(USER, { transport: 'body' });
  const headers: Record<string, string> =
    strategy === 'stateful' ? { cookie: setCookies[0]!.split(';')[0]! } : { authorization: `Bearer ${result.accessToken!.token}` };
  const credential = headers.cookie ?? headers.authorization!;
  return {
    name,
    kind: strategy === 'stateful' ? 'stateful' : 'stateless',
    tessera: true,
    credential,
    chain,
    headers,
    usesRedis: options.usesRedis ?? false,
    close: async () => {
      auth.close();
      await store.close();
    },
  } satisfies Contender;
}

async function expressSessionContender(name: string, store: session.Store | undefined, usesRedis: boolean, close?: () => Promise<void>) {
  const middleware = session({
    ...(store && { store }),
    secret: SECRET,
    resave: false,
    saveUninitialized: false,
    cookie: { maxAge: 86_400_000 },
  });
  // A login: a session saved with the user, and the signed cookie it sets.
  const req = request({});
  const res = new FakeResponse();
  await new Promise<void>((resolve) => asMiddleware(middleware)(req, res, () => resolve()));
  const created = req.session as session.Session & { userId?: string };
  created.userId = USER.id;
  await new Promise<void>((resolve, reject) => created.save((error) => (error ? reject(error as Error) : resolve())));
  res.writeHead(); // express-session sets its signed cookie as the headers go out
  const cookieHeader = String(([] as unknown[]).concat(res.getHeader('set-cookie'))[0]).split(';')[0]!;
  const check: Middleware = (request, response, next) => {
    if (!(request.session as { userId?: string } | undefined)?.userId) return void response.sendStatus(401);
    next();
  };
  return {
    name,
    kind: 'stateful',
    tessera: false,
    credential: cookieHeader,
    chain: [asMiddleware(middleware), check],
    headers: { cookie: cookieHeader },
    usesRedis,
    ...(close && { close }),
  } satisfies Contender;
}

function jwtPeer(name: string, token: string, verify: (token: string) => unknown | Promise<unknown>): Contender {
  // The seeds' middleware: the token after "Bearer ", verified, the claims on the request.
  const authenticate: Middleware = (req, res, next) => {
    const presented = req.headers.authorization?.split(' ')[1];
    if (!presented) return void res.sendStatus(401);
    let claims: unknown;
    try {
      claims = verify(presented);
    } catch {
      return void res.sendStatus(401);
    }
    if (claims instanceof Promise) {
      claims.then(
        (resolved) => {
          req.user = resolved;
          next();
        },
        () => res.sendStatus(401),
      );
      return;
    }
    req.user = claims;
    next();
  };
  return {
    name,
    kind: 'stateless',
    tessera: false,
    credential: `Bearer ${token}`,
    chain: [authenticate],
    headers: { authorization: `Bearer ${token}` },
    usesRedis: false,
  };
}

/** How each contender is built, by name: a child process builds just its own. */
function factories(redisUrl: string): Record<string, () => Promise<Contender>> {
  const claims = () => ({ sub: USER.id, name: USER.name, roles: USER.roles, iss: 'https://id.example', jti: randomUUID() });
  const keyObject = createSecretKey(Buffer.from(SECRET));
  const jsonwebtokenToken = () => jsonwebtoken.sign(claims(), keyObject, { algorithm: 'HS256', expiresIn: '1h' });
  const tesseraRedis = async (prefix: string) => {
    const store = createRedisStore({ url: redisUrl, prefix });
    await waitUntilUp(store);
    return store;
  };
  const connectRedis = async () => {
    const client = createClient({ url: redisUrl });
    await client.connect();
    return expressSessionContender('express-session + connect-redis', new RedisStore({ client, prefix: 'sess:' }), true, async () => {
      await client.quit();
    });
  };
  return {
    'express-session + MemoryStore': () => expressSessionContender('express-session + MemoryStore', undefined, false),
    'express-session + connect-redis': connectRedis,
    'Tessera stateful, memory': () => tesseraContender('Tessera stateful, memory', 'stateful', createMemoryStore()),
    'Tessera stateful, Redis': async () =>
      tesseraContender('Tessera stateful, Redis', 'stateful', await tesseraRedis('strict:'), { usesRedis: true }),
    'Tessera stateful, Redis, cached': async () =>
      tesseraContender('Tessera stateful, Redis, cached', 'stateful', await tesseraRedis('cached:'), { cache: true, usesRedis: true }),
    'jsonwebtoken (KeyObject)': async () =>
      jwtPeer('jsonwebtoken (KeyObject)', jsonwebtokenToken(), (token) => jsonwebtoken.verify(token, keyObject, { algorithms: ['HS256'] })),
    'fast-jwt (cache)': async () => {
      const sign = fastJwtSigner({ key: SECRET, algorithm: 'HS256', expiresIn: 3_600_000 });
      const verify = fastJwtVerifier({ key: SECRET, algorithms: ['HS256'], cache: true });
      return jwtPeer('fast-jwt (cache)', sign(claims()), (token) => verify(token));
    },
    jose: async () => jwtPeer('jose', jsonwebtokenToken(), (token) => jwtVerify(token, keyObject, { algorithms: ['HS256'] })),
    'Tessera stateless': () => tesseraContender('Tessera stateless', 'stateless', createMemoryStore()),
    'Tessera hybrid': () => tesseraContender('Tessera hybrid', 'hybrid', createMemoryStore()),
  };
}

function redisCommands(redis: RedisServer): number {
  let total = 0;
  for (const line of redis.cli('INFO', 'commandstats').split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (match && match[1] !== 'info' && match[1] !== 'xread') total += Number(match[2]);
  }
  return total;
}

/** What a contender's process tells the parent once it is built and warm. */
type Described = Pick<Contender, 'name' | 'kind' | 'tessera' | 'credential' | 'usesRedis'>;

/** A child process: builds one contender, warms it up, then runs a round each time it is asked. */
async function child(name: string, redisUrl: string) {
  const contender = await factories(redisUrl)[name]!();
  for (let i = 0; i < Math.min(CALLS, 2_000); i++) await run(contender.chain, contender.headers);
  const { chain, headers, close, ...described } = contender;
  process.send!({ ready: described satisfies Described });
  process.on('message', async (message: 'round' | 'close') => {
    if (message === 'close') {
      await close?.();
      process.disconnect();
      return;
    }
    const started = process.cpuUsage();
    for (let i = 0; i < CALLS; i++) await run(chain, headers);
    const used = process.cpuUsage(started);
    process.send!({ ns: ((used.user + used.system) * 1000) / CALLS });
  });
}

/** One process per contender, as an application runs one of them: no contender's JIT state or garbage slows another's. */
function spawnContender(name: string, redisUrl: string) {
  const process_ = fork(fileURLToPath(import.meta.url), ['--child', name, '--redis', redisUrl, '--calls', String(CALLS)], {
    execArgv: process.execArgv,
  });
  const next = () =>
    new Promise<{ ready?: Described; ns?: number }>((resolve, reject) => {
      process_.once('message', resolve as (message: unknown) => void);
      process_.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
    });
  return {
    ready: next().then((message) => message.ready!),
    async round(): Promise<number> {
      const answer = next();
      process_.send('round');
      return (await answer).ns!;
    },
    async close() {
      const exited = once(process_, 'exit');
      process_.send('close');
      await exited;
    },
  };
}

async function main() {
  const redis = await startRedis();
  // --only PATTERN measures a subset (when profiling one path); the report is then not written.
  const names = Object.keys(factories(redis.url)).filter((name) => !args.only || new RegExp(args.only, 'i').test(name));
  const processes = names.map((name) => spawnContender(name, redis.url));
  const all = await Promise.all(processes.map((p) => p.ready));
  process.stderr.write(`${all.length} contenders built and warm, each in its own process\n`);
  const cpu: Record<string, number[]> = Object.fromEntries(all.map((c) => [c.name, []]));
  const commands: Record<string, number> = {};
  for (let round = 0; round < ROUNDS; round++) {
    const order = all.map((_, index) => index);
    if (round % 2) order.reverse();
    for (const index of order) {
      const contender = all[index]!;
      const before = contender.usesRedis ? redisCommands(redis) : 0;
      cpu[contender.name]!.push(await processes[index]!.round());
      if (contender.usesRedis) commands[contender.name] = (redisCommands(redis) - before) / CALLS;
    }
    process.stderr.write(`round ${round + 1}/${ROUNDS}\n`);
  }
  await Promise.all(processes.map((p) => p.close()));
  await redis.dispose();

  const ns = Object.fromEntries(all.map((c) => [c.name, median(cpu[c.name]!)]));
  const fastestPeer = (kind: Contender['kind']) => Math.min(...all.filter((c) => c.kind === kind && !c.tessera).map((c) => ns[c.name]!));
  const m = machine();
  const rows = all.map((c) => {
    const peer = fastestPeer(c.kind);
    return `| ${c.name} | ${c.kind} | ${Buffer.byteLength(c.credential)} | ${(ns[c.name]! / 1000).toFixed(1)} | ${(ns[c.name]! / peer).toFixed(2)} | ${c.usesRedis ? commands[c.name]!.toFixed(2) : '–'} |`;
  });
  const report = [
    `One request authenticated in-process through Express middleware (Tessera: \`tessera(auth, { require: true })\`), no HTTP; each contender in its own process, as an application runs one. ${m.cpu}, ${m.cores} cores, Node ${m.node}, ${m.date}; median of ${ROUNDS} interleaved rounds of ${CALLS.toLocaleString('en-US')} requests each. CPU of the contender's process only (Redis's own CPU is not counted); every token HS256.`,
    '',
    '| contender | kind | credential bytes | CPU µs per request | vs the fastest peer of its kind | Redis commands per request |',
    '|---|---|---:|---:|---:|---:|',
    ...rows,
  ].join('\n');
  console.log(report);
  if (args.only) return;
  writeFileSync(`bench/results/in-process${args.quick ? '-quick' : ''}.md`, `${report}\n`);
  writeFileSync(
    `bench/results/in-process${args.quick ? '-quick' : ''}.json`,
    `${JSON.stringify({ machine: m, rounds: ROUNDS, calls: CALLS, ns, commands }, null, 2)}\n`,
  );
  if (!args.quick) replaceReadmeSection('in-process', report);
}

if (args.child) await child(args.child, args.redis!);
else await main();
