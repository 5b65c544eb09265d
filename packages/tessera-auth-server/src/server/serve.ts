import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  type Clock,
  ConfigError,
  createAuth,
  createMemoryStore,
  type DpopMode,
  type ServerStore,
  type Strategy,
  systemClock,
} from 'tessera-auth';
import { createPostgresStore } from 'tessera-auth/postgres';
import { createRedisStore } from 'tessera-auth/redis';
import { createSqliteStore } from 'tessera-auth/sqlite';
import { createServerApp } from './app.js';
import { createLimitedServer, type ConnectionLimits } from './connection-limits.js';
import type { Logger } from 'pino';
import type { LogOptions } from './logger.js';
import { createHashingGate, type HashingGateOptions } from './hashing-gate.js';
import { createLoginThrottle, DEFAULT_LOGIN_THROTTLE, type LoginThrottleOptions } from './login-throttle.js';
import { createRegistrationThrottle, DEFAULT_REGISTRATION_THROTTLE, type RegistrationThrottleOptions } from './registration-throttle.js';
import type { GrantType, OAuthClient } from './oauth-clients.js';
import type { MetricsAccess } from './metrics-access.js';
import type { ServiceGrant } from './service-grants.js';
import { createTelemetry } from './telemetry.js';
import { createUserService } from './users.js';
import { createDpopNonces, openKeyDirectory } from 'tessera-auth/tokens';
import { sharedSecret } from './shared-secret.js';
import { claimDefaultIssuer } from './default-issuer.js';
import { announceRevokedKeys } from './key-revocations.js';
import { createRevocationBroadcast, type RevocationBroadcast } from './revocation-stream.js';
import { listen, waitForStore } from './startup.js';
import { createBackchannelLogout } from './backchannel-logout.js';
import { createClientThrottle } from './client-throttle.js';

export type StoreKind = 'memory' | 'sqlite' | 'redis' | 'postgres';

export interface ServeOptions {
  port: number;
  host: string;
  strategy: Strategy;
  store: StoreKind;
  dataDir: string;
  redisUrl: string;
  /** Seed nodes of a Redis Cluster (`host:port`); when set, `redisUrl` is not used. */
  redisCluster?: readonly string[];
  /** `postgres://user:password@host:port/database`, for `store: 'postgres'` (libpq's `PG*` variables fill in the rest). */
  postgresUrl?: string | undefined;
  /** Signing keys; default `<dataDir>/keys`, with one EdDSA key generated on first start. */
  keysDir?: string | undefined;
  insecureCookies: boolean;
  /** `iss` of issued tokens (default: the server's own URL). */
  issuer?: string | undefined;
  /** Access-token lifetime in seconds (hybrid default 300, stateless 900). */
  accessTtl?: number | undefined;
  /** Hybrid: seconds a just-rotated refresh handle stays alive beside its successor (10). */
  refreshGrace?: number | undefined;
  /** DPoP-bound tokens (stateless, hybrid): off (default), allowed, or required. */
  dpop?: DpopMode | undefined;
  /** Seconds a token instance trusts its revocation list without hearing from the feed (5). */
  maxStaleness?: number | undefined;
  bootstrapAdmin?: { username: string; password: string } | undefined;
  /** Express 'trust proxy' value; X-Forwarded-For is ignored unless set. */
  trustProxy?: string | number | undefined;
  trustedOrigins?: readonly string[] | undefined;
  /** OAuth clients (secrets already hashed): `--client` and `--clients-file`. */
  clients?: readonly OAuthClient[] | undefined;
  /** The services users may get tokens for (`POST /auth/token`), each with the scopes it grants. */
  services?: readonly ServiceGrant[] | undefined;
  session?: { idleTimeout?: number; absoluteTimeout?: number; touchInterval?: number; maxPerUser?: number; cache?: boolean } | undefined;
  /** Login throttling; each limit left out keeps its default (`DEFAULT_LOGIN_THROTTLE`). */
  loginThrottle?: Partial<LoginThrottleOptions> | undefined;
  /** Registration throttling; each limit left out keeps its default (`DEFAULT_REGISTRATION_THROTTLE`). */
  registrationThrottle?: Partial<RegistrationThrottleOptions> | undefined;
  /** How many password hashes run and wait at once before requests are shed with 503. */
  hashing?: HashingGateOptions | undefined;
  /** Timeouts and connection caps (see `DEFAULT_CONNECTION_LIMITS`). */
  limits?: ConnectionLimits | undefined;
  /** Who may read `/metrics`: a bearer token's holder, everyone, or no one (the default). */
  metrics?: MetricsAccess | undefined;
  /** JSON logs: level (info) and destination (standard output). */
  log?: LogOptions | undefined;
  clock?: Clock | undefined;
}

export interface RunningServer {
  readonly url: string;
  readonly store: ServerStore;
  readonly server: Server;
  readonly logger: Logger;
  /** Stops accepting, lets in-flight requests finish, then closes the store. */
  close(): Promise<void>;
}

export function openStore(
  kind: StoreKind,
  options: Pick<ServeOptions, 'dataDir' | 'redisUrl' | 'redisCluster' | 'postgresUrl'>,
): ServerStore {
  switch (kind) {
    case 'memory':
      return createMemoryStore();
    case 'sqlite':
      return createSqliteStore({ path: join(options.dataDir, 'tessera.db') });
    case 'redis':
      return createRedisStore(options.redisCluster ? { cluster: options.redisCluster } : { url: options.redisUrl });
    case 'postgres':
      return createPostgresStore(options.postgresUrl === undefined ? {} : { url: options.postgresUrl });
  }
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  if ((options.store === 'redis' || options.store === 'postgres') && options.issuer === undefined) {
    throw new ConfigError(
      `--issuer is required with --store ${options.store}: every instance that shares the store must name the same issuer, the URL clients reach them at.`,
    );
  }
  const clock = options.clock ?? systemClock;
  // Listen first: a port in use is refused before anything is created on disk, and the default
  // issuer is the server's own URL, known only once it has a port. A request that arrives before
  // the app is ready (the store connecting, the revocation list loading) waits for it instead of
  // finding no handler and hanging: a balancer sends traffic at once.
  const early: (() => void)[] = [];
  let handle: RequestListener = (request, response) => void early.push(() => handle(request, response));
  const server = createLimitedServer(options.limits ?? {}, (request: IncomingMessage, response: ServerResponse) =>
    handle(request, response),
  );
  await listen(server, options);
  let store: ServerStore;
  try {
    store = openStore(options.store, options);
  } catch (error) {
    server.close();
    throw error;
  }
  const keysDir = options.keysDir ?? join(options.dataDir, 'keys');
  let reportKeyError = (_error: Error) => {}; // until the logs and metrics exist
  let openedKeys: ReturnType<typeof openKeyDirectory> | undefined;
  let idTokenKeys: ReturnType<typeof openKeyDirectory> | undefined;
  let releaseIssuer = () => {};
  let revokedKeys: ReturnType<typeof announceRevokedKeys> | undefined;
  try {
    // The store first: a refusal leaves no keys behind.
    await waitForStore(store, options, 10_000);
    const keys = (openedKeys = openKeyDirectory(keysDir, { createIfEmpty: 'EdDSA', onReloadError: (error) => reportKeyError(error) }));
    // ID and logout tokens are RS256, which OpenID Connect requires every provider to offer (and
    // relying parties expect unless registered otherwise); access tokens keep the keys above.
    const idTokenDir = join(keysDir, 'id-token');
    mkdirSync(idTokenDir, { recursive: true, mode: 0o700 });
    const idTokens = (idTokenKeys = openKeyDirectory(idTokenDir, {
      createIfEmpty: 'RS256',
      onReloadError: (error) => reportKeyError(error),
    }));
    const { port } = server.address() as AddressInfo;
    const host = options.host.includes(':') ? `[${options.host}]` : options.host;
    const url = `http://${host}:${port}`;
    if (options.issuer === undefined && options.store === 'sqlite') releaseIssuer = claimDefaultIssuer(options.dataDir, url);

    const auth = createAuth({
      strategy: options.strategy,
      store,
      clock,
      cookie: { secure: !options.insecureCookies },
      session: options.session,
      csrf: { trustedOrigins: options.trustedOrigins ?? [] },
      ...(options.refreshGrace !== undefined && { refresh: { graceSeconds: options.refreshGrace } }),
      // Every strategy gets keys: a stateful server signs service tokens only.
      tokens: {
        keys: keys.ring,
        issuer: options.issuer ?? url,
        ...(options.accessTtl !== undefined && { accessTtl: options.accessTtl }),
        ...(options.maxStaleness !== undefined && { maxStaleness: options.maxStaleness }),
        // Nonces any instance can check: the secret lives with the keys the instances share.
        ...(options.dpop !== undefined &&
          options.dpop !== 'off' && {
            dpop: { mode: options.dpop, nonces: createDpopNonces({ secret: sharedSecret(keysDir, 'dpop-nonce') }) },
          }),
      },
    });
    let revocationStream: RevocationBroadcast | undefined;
    const telemetry = createTelemetry(auth, options.log, () => revocationStream?.followers ?? 0);
    reportKeyError = telemetry.keyDirectoryFailed;
    const users = createUserService({
      users: store.users,
      throttle: createLoginThrottle(store.counters, { ...DEFAULT_LOGIN_THROTTLE, ...options.loginThrottle }),
      countRegistration: createRegistrationThrottle(store.counters, { ...DEFAULT_REGISTRATION_THROTTLE, ...options.registrationThrottle }),
      hashing: createHashingGate(options.hashing),
      clock,
      generationOf: auth.credentialGeneration,
    });
    // Replay the revocations and start following the feed now, not on the first token request.
    await auth.ready();
    const tokens = auth.tokens;
    if (!tokens) throw new ConfigError('The identity server signs tokens in every strategy.');
    revokedKeys = announceRevokedKeys(keys.ring, tokens, clock);
    await revokedKeys.ready;
    const stream = (revocationStream = createRevocationBroadcast(tokens));
    if (options.bootstrapAdmin) await users.ensureAdmin(options.bootstrapAdmin.username, options.bootstrapAdmin.password);
    handle = createServerApp({
      auth,
      users,
      keys: keys.ring,
      idTokenKeys: idTokens.ring,
      keysFailing: () => keys.failing ?? idTokens.failing,
      deviceCookieSecret: sharedSecret(keysDir, 'device-cookie'),
      authorizationCodeSecret: sharedSecret(keysDir, 'authorization-code'),
      clientThrottle: createClientThrottle(store.counters, { ...DEFAULT_LOGIN_THROTTLE, ...options.loginThrottle }),
      trustProxy: options.trustProxy,
      clients: options.clients ?? [],
      services: options.services ?? [],
      telemetry,
      metrics: options.metrics ?? 'off',
      revocationStream: stream,
    });
    const backchannel = createBackchannelLogout({ auth, clients: options.clients ?? [], keys: idTokens.ring, telemetry });
    for (const held of early.splice(0)) held();
    // Programs wait for this line, so it is written even when the level hides other info lines.
    const { logger } = telemetry;
    const ready = logger.level === 'silent' ? logger : logger.child({}, { level: 'info' });
    ready.info(
      { event: 'listening', url, strategy: options.strategy, store: options.store },
      `tessera ${options.strategy} on ${options.store}: listening on ${url}`,
    );

    return {
      url,
      store,
      server,
      logger,
      async close() {
        logger.info({ event: 'shutdown' }, 'draining in-flight requests');
        const closed = new Promise((resolve) => server.close(resolve));
        stream.close(); // streams never finish by themselves: their followers resume elsewhere
        server.closeIdleConnections();
        await closed;
        revokedKeys?.close();
        backchannel.close();
        auth.close();
        keys.close();
        idTokenKeys?.close();
        await store.close();
        releaseIssuer();
        logger.info({ event: 'stopped' }, 'stopped');
      },
    };
  } catch (error) {
    server.close(); // a configuration refused late (a short metrics token) must not leave the port open
    revokedKeys?.close();
    releaseIssuer();
    openedKeys?.close();
    idTokenKeys?.close();
    await store.close();
    throw error;
  }
}

export type {
  ConnectionLimits,
  HashingGateOptions,
  LoginThrottleOptions,
  LogOptions,
  MetricsAccess,
  GrantType,
  OAuthClient,
  RegistrationThrottleOptions,
  ServiceGrant,
};
export type { LogLevel } from './logger.js';
export type { ThrottleLimit } from './counted-limits.js';
