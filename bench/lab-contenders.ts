/**
 * The lab's contenders: one authenticated `GET /me` (and `POST /login`, `POST /logout`) per
 * server script in bench/servers, every token signed HS256 (the peers' algorithm) with an hour to
 * live, every revocation list starting with 1,000 revoked ids.
 */
import { generateJwk } from '../packages/tessera-auth/src/tokens/index.js';

export type Kind = 'ceiling' | 'stateful' | 'stateless' | 'hybrid';

export interface Contender {
  /** Stable key in the JSON results. */
  id: string;
  name: string;
  kind: Kind;
  tessera: boolean;
  /** Where the state lives, for the seed's table. */
  state: string;
  script: string;
  /** Environment of the server process; REDIS_URL or POSTGRES_URL is added for contenders that use a store server. */
  env: Record<string, string>;
  usesRedis: boolean;
  /** Uses PostgreSQL (a database of its own); no Redis. */
  usesPostgres?: boolean;
  /** This copy reaches its store through the delaying proxy. */
  delayed: boolean;
}

const REVOKED = '1000';

export function contenders(tmp: string): Contender[] {
  const key = (alg: 'HS256') => JSON.stringify(generateJwk(alg));
  const base: Omit<Contender, 'delayed'>[] = [
    {
      id: 'no-auth',
      state: 'nowhere',
      name: 'no auth (ceiling)',
      kind: 'ceiling',
      tessera: false,
      script: 'no-auth.js',
      env: {},
      usesRedis: false,
    },
    {
      id: 'express-session-memory',
      state: "server: the session in the process's memory",
      name: 'express-session + MemoryStore',
      kind: 'stateful',
      tessera: false,
      script: 'express-session.js',
      env: {},
      usesRedis: false,
    },
    {
      id: 'express-session-redis',
      state: 'server: the session in Redis',
      name: 'express-session + connect-redis',
      kind: 'stateful',
      tessera: false,
      script: 'express-session.js',
      env: {},
      usesRedis: true,
    },
    {
      id: 'tessera-stateful-memory',
      state: "server: the session in the process's memory",
      name: 'Tessera stateful, memory',
      kind: 'stateful',
      tessera: true,
      script: 'tessera-stateful.js',
      env: { STORE: 'memory' },
      usesRedis: false,
    },
    {
      id: 'tessera-stateful-sqlite',
      state: 'server: the session in a SQLite file',
      name: 'Tessera stateful, SQLite',
      kind: 'stateful',
      tessera: true,
      script: 'tessera-stateful.js',
      env: { STORE: 'sqlite', SQLITE_PATH: `${tmp}/sessions.db` },
      usesRedis: false,
    },
    {
      id: 'tessera-stateful-redis',
      state: 'server: the session in Redis',
      name: 'Tessera stateful, Redis',
      kind: 'stateful',
      tessera: true,
      script: 'tessera-stateful.js',
      env: { STORE: 'redis' },
      usesRedis: true,
    },
    {
      id: 'tessera-stateful-redis-cached',
      state: 'server: the session in Redis, a copy in each process',
      name: 'Tessera stateful, Redis, cached',
      kind: 'stateful',
      tessera: true,
      script: 'tessera-stateful.js',
      env: { STORE: 'redis', SESSION_CACHE: '1' },
      usesRedis: true,
    },
    {
      id: 'jsonwebtoken-string',
      state: 'client: the signed token',
      name: 'express + jsonwebtoken (string secret)',
      kind: 'stateless',
      tessera: false,
      script: 'jwt-peers.js',
      env: { PEER: 'jsonwebtoken-string' },
      usesRedis: false,
    },
    {
      id: 'jsonwebtoken-keyobject',
      state: 'client: the signed token',
      name: 'express + jsonwebtoken (KeyObject)',
      kind: 'stateless',
      tessera: false,
      script: 'jwt-peers.js',
      env: { PEER: 'jsonwebtoken-keyobject' },
      usesRedis: false,
    },
    {
      id: 'fast-jwt',
      state: 'client: the signed token',
      name: 'express + fast-jwt (cache)',
      kind: 'stateless',
      tessera: false,
      script: 'jwt-peers.js',
      env: { PEER: 'fast-jwt' },
      usesRedis: false,
    },
    {
      id: 'tessera-stateless',
      state: "client: the signed token; revocations in the process's memory",
      name: 'Tessera stateless, local list',
      kind: 'stateless',
      tessera: true,
      script: 'tessera-stateless.js',
      env: { ALG: 'HS256', JWK: key('HS256'), REVOKED },
      usesRedis: false,
    },
    {
      id: 'blacklist-string',
      state: 'client: the signed token; revocations in Redis',
      name: "seeds' design: jsonwebtoken (string) + Redis blacklist",
      kind: 'stateless',
      tessera: false,
      script: 'jwt-peers.js',
      env: { PEER: 'jsonwebtoken-string', REVOKED },
      usesRedis: true,
    },
    {
      id: 'blacklist-keyobject',
      state: 'client: the signed token; revocations in Redis',
      name: 'jsonwebtoken (KeyObject) + Redis blacklist',
      kind: 'stateless',
      tessera: false,
      script: 'jwt-peers.js',
      env: { PEER: 'jsonwebtoken-keyobject', REVOKED },
      usesRedis: true,
    },
    {
      id: 'tessera-stateless-redis',
      state: "client: the signed token; revocations in Redis, copied into each instance's memory",
      name: 'Tessera stateless + revocation feed',
      kind: 'stateless',
      tessera: true,
      script: 'tessera-stateless.js',
      env: { ALG: 'HS256', JWK: key('HS256'), REVOKED },
      usesRedis: true,
    },
    {
      id: 'tessera-hybrid',
      state: "client: the signed token; the session (for renewal) in Redis, revocations copied into each instance's memory",
      name: 'Tessera hybrid',
      kind: 'hybrid',
      tessera: true,
      script: 'tessera-stateless.js',
      env: { STRATEGY: 'hybrid', ALG: 'HS256', JWK: key('HS256'), REVOKED },
      usesRedis: true,
    },
    {
      id: 'express-session-postgres',
      state: 'server: the session in PostgreSQL',
      name: 'express-session + connect-pg-simple',
      kind: 'stateful',
      tessera: false,
      script: 'express-session.js',
      env: {},
      usesRedis: false,
      usesPostgres: true,
    },
    {
      id: 'tessera-stateful-postgres',
      state: 'server: the session in PostgreSQL',
      name: 'Tessera stateful, PostgreSQL',
      kind: 'stateful',
      tessera: true,
      script: 'tessera-stateful.js',
      env: { STORE: 'postgres' },
      usesRedis: false,
      usesPostgres: true,
    },
    {
      id: 'tessera-stateful-postgres-cached',
      state: 'server: the session in PostgreSQL, a copy in each process',
      name: 'Tessera stateful, PostgreSQL, cached',
      kind: 'stateful',
      tessera: true,
      script: 'tessera-stateful.js',
      env: { STORE: 'postgres', SESSION_CACHE: '1' },
      usesRedis: false,
      usesPostgres: true,
    },
    {
      id: 'tessera-stateless-postgres',
      state: "client: the signed token; revocations in PostgreSQL, copied into each instance's memory",
      name: 'Tessera stateless + PostgreSQL feed',
      kind: 'stateless',
      tessera: true,
      script: 'tessera-stateless.js',
      env: { ALG: 'HS256', JWK: key('HS256'), REVOKED },
      usesRedis: false,
      usesPostgres: true,
    },
    {
      id: 'tessera-hybrid-postgres',
      state: "client: the signed token; the session (for renewal) in PostgreSQL, revocations copied into each instance's memory",
      name: 'Tessera hybrid, PostgreSQL',
      kind: 'hybrid',
      tessera: true,
      script: 'tessera-stateless.js',
      env: { STRATEGY: 'hybrid', ALG: 'HS256', JWK: key('HS256'), REVOKED },
      usesRedis: false,
      usesPostgres: true,
    },
  ];
  // Each delayed twin right after its loopback row: the two are measured back to back in every
  // round, so the machine's drift (up to 30% between rounds here) does not land in their ratio.
  return base.flatMap((c) => [
    { ...c, delayed: false, env: { ...c.env, PREFIX: `${c.id}:` } },
    ...(c.usesRedis || c.usesPostgres ? [{ ...c, id: `${c.id}+delay`, delayed: true, env: { ...c.env, PREFIX: `${c.id}+delay:` } }] : []),
  ]);
}

/** The peers each Tessera row is compared with, in the ratio table. */
export const PEERS = [
  'express-session-memory',
  'express-session-redis',
  'express-session-postgres',
  'jsonwebtoken-string',
  'jsonwebtoken-keyobject',
  'fast-jwt',
  'blacklist-string',
  'blacklist-keyobject',
] as const;
