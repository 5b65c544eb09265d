import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { DpopMode, Strategy } from 'tessera-auth';
import { readClientsFile } from '../server/clients-file.js';
import { parseClient } from '../server/oauth-clients.js';
import { LOG_LEVELS } from '../server/logger.js';
import { checkMetricsToken, type MetricsAccess } from '../server/metrics-access.js';
import { parseService } from '../server/service-grants.js';
import { parseFlags, UsageError } from './parse-flags.js';
import type { ServeOptions, StoreKind } from '../server/serve.js';

/** Every flag of `tessera serve`; each may also come from `TESSERA_<FLAG>` (upper case, `-` as `_`). */
const FLAGS = {
  port: { type: 'string' },
  host: { type: 'string' },
  strategy: { type: 'string' },
  store: { type: 'string' },
  'data-dir': { type: 'string' },
  'redis-url': { type: 'string' },
  'redis-url-file': { type: 'string' },
  'redis-cluster': { type: 'string' },
  'postgres-url': { type: 'string' },
  'postgres-url-file': { type: 'string' },
  'keys-dir': { type: 'string' },
  issuer: { type: 'string' },
  'insecure-cookies': { type: 'boolean' },
  'session-cache': { type: 'boolean' },
  dpop: { type: 'string' },
  'bootstrap-admin': { type: 'string' },
  'bootstrap-admin-file': { type: 'string' },
  'access-ttl': { type: 'string' },
  'refresh-grace': { type: 'string' },
  client: { type: 'string', multiple: true },
  'client-file': { type: 'string' },
  'clients-file': { type: 'string' },
  service: { type: 'string', multiple: true },
  'metrics-token': { type: 'string' },
  'metrics-token-file': { type: 'string' },
  'public-metrics': { type: 'boolean' },
  'trust-proxy': { type: 'string' },
  'headers-timeout': { type: 'string' },
  'request-timeout': { type: 'string' },
  'max-connections': { type: 'string' },
  'max-connections-per-client': { type: 'string' },
  'max-sessions-per-user': { type: 'string' },
  'trusted-origin': { type: 'string', multiple: true },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const SERVE_USAGE = `Usage: tessera serve [flags]

  --port N                  port to listen on (3000)
  --host ADDRESS            address to listen on (127.0.0.1)
  --strategy NAME           stateful | stateless | hybrid (hybrid)
  --store NAME              memory | sqlite | redis | postgres (sqlite)
  --data-dir DIR            where the SQLite database lives (./.tessera)
  --redis-url URL           redis://127.0.0.1:6379
  --redis-cluster NODES     a Redis Cluster instead: seed nodes, host:port[,host:port...]
  --postgres-url URL        postgres://user:password@host:port/database (libpq's PG* variables
                            fill in what it leaves out)
  --insecure-cookies        allow plain-http cookies (no Secure, no __Host- prefix): development only
  --session-cache           stateful: serve sessions from each instance's copy, kept current by the
                            revocation feed, instead of a store read per request
  --dpop MODE               stateless, hybrid: off | allowed | required (off). allowed: a login or
                            refresh with a DPoP proof gets tokens bound to the client's key;
                            required: only bound tokens are issued and accepted
  --bootstrap-admin U:P     create that admin user if absent
  --trust-proxy VALUE       believe X-Forwarded-For from the proxies in front: a hop count (1), or
                            addresses, CIDR ranges, loopback/linklocal/uniquelocal, comma-separated
  --headers-timeout SECONDS a connection's time to send a request's headers (10)
  --request-timeout SECONDS a request's time to arrive whole, body included (30)
  --max-connections N       open connections in all (1000); past it a waiting one is shed
  --max-connections-per-client N  open connections from one address or IPv6 /64 (100; 0: no cap)
  --max-sessions-per-user N sessions one user may hold; a login past it ends the oldest (100)
  --trusted-origin ORIGIN   another origin allowed to send cookie-authenticated requests (repeatable)
  --log-level LEVEL         debug | info | warn | error | fatal | silent (info): JSON lines on stdout,
                            one per request and per security event

  --keys-dir DIR             signing keys (<data-dir>/keys; one EdDSA key is made on first start)

  --issuer URL              iss of issued tokens (the server's own URL)
  --access-ttl SECONDS      access-token lifetime (hybrid 300, stateless 900)
  --refresh-grace SECONDS   hybrid: how long a just-rotated refresh handle stays alive beside
                            its successor instead of counting as theft (10)
  --client ID:SECRET        an OAuth client allowed to use /oauth/introspect, /oauth/revoke and
                            /revocations/stream (repeatable; the secret at least 32 characters,
                            kept only hashed)
  --clients-file PATH       OAuth clients as a JSON array of RFC 7591 client metadata (client_id,
                            client_secret for confidential clients, client_name, redirect_uris,
                            grant_types, token_endpoint_auth_method, scope): they sign users in
                            with the authorization code flow (/oauth/authorize, /oauth/token)
  --service "AUDIENCE [SCOPE...]"  a service users may get tokens for (POST /auth/token), with the
                            scopes it grants (repeatable; none by default)
  --metrics-token TOKEN     /metrics answers only requests bearing this token (32+ characters)
  --public-metrics          /metrics answers everyone: local development only (default: /metrics off)

Each flag may also be set as TESSERA_<FLAG>, e.g. TESSERA_STORE=redis; lists comma-separated.
Secrets (--bootstrap-admin, --client, --redis-url, --postgres-url, --metrics-token) may also be read from a file,
out of sight of ps: --<flag>-file PATH or TESSERA_<FLAG>_FILE (--client-file: one client a line).`;

const STRATEGIES: readonly Strategy[] = ['stateful', 'stateless', 'hybrid'];
const STORES: readonly StoreKind[] = ['memory', 'sqlite', 'redis', 'postgres'];
const DPOP_MODES: readonly DpopMode[] = ['off', 'allowed', 'required'];

const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * `--trust-proxy`: a hop count (`1`: the balancer in front), or the proxies' addresses, CIDR ranges
 * and named ranges, comma-separated. `true` is refused: it believes whatever X-Forwarded-For a
 * client writes.
 */
export function parseTrustProxy(value: string): number | string {
  if (/^\d+$/.test(value)) return Number(value);
  const entries = value.split(',').map((entry) => entry.trim());
  const valid = (entry: string) => {
    if (NAMED_RANGES.has(entry)) return true;
    const [address = '', prefix, ...extra] = entry.split('/');
    const family = isIP(address);
    if (family === 0 || extra.length > 0) return false;
    return prefix === undefined || (/^\d+$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
  };
  if (value === '' || !entries.every(valid)) {
    throw new UsageError(
      '--trust-proxy must be a hop count, or addresses, CIDR ranges and loopback/linklocal/uniquelocal, comma-separated (never "true": that believes any client).',
    );
  }
  return entries.join(',');
}

type SecretFlag = 'bootstrap-admin' | 'client' | 'redis-url' | 'postgres-url' | 'metrics-token';

function readSecretFile(path: string, flag: SecretFlag): string {
  try {
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    throw new UsageError(`--${flag}-file: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'}).`);
  }
}

/** Runs a parser that throws TypeError and reports its message as a usage error of `flag`. */
function as<T>(flag: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new UsageError(`--${flag}: ${(error as Error).message}`);
  }
}

/** RFC 8414 §2: the issuer is an http(s) URL without query or fragment, where clients reach the server. */
function checkIssuer(value: string): string {
  const url = URL.canParse(value) ? new URL(value) : undefined;
  if (!url || !['http:', 'https:'].includes(url.protocol) || url.search || url.hash || value.includes('#') || value.includes('?')) {
    throw new TypeError('the issuer must be an http(s) URL without query or fragment: the URL clients reach the server at.');
  }
  return value;
}

function oneOf<T extends string>(value: string, allowed: readonly T[], flag: string): T {
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`--${flag} must be one of ${allowed.join(', ')}.`);
  return value as T;
}

export function parseServeOptions(argv: readonly string[], env: NodeJS.ProcessEnv): ServeOptions | 'help' {
  const { values } = parseFlags({ args: [...argv], options: FLAGS, strict: true, allowPositionals: false }, 'tessera serve --help');
  if (values.help) return 'help';
  const fromEnv = (flag: keyof typeof FLAGS) => env[`TESSERA_${flag.toUpperCase().replaceAll('-', '_')}`];
  const text = (flag: keyof typeof FLAGS, fallback: string): string => {
    const value = values[flag];
    return typeof value === 'string' ? value : (fromEnv(flag) ?? fallback);
  };
  const on = (flag: 'insecure-cookies' | 'public-metrics' | 'session-cache') =>
    values[flag] ?? ['1', 'true', 'yes'].includes(fromEnv(flag) ?? '');
  const list = (flag: 'trusted-origin' | 'service'): string[] => values[flag] ?? fromEnv(flag)?.split(',').filter(Boolean) ?? [];
  /** A secret, from its flag or its file (command line first), else from TESSERA_<FLAG> or TESSERA_<FLAG>_FILE. */
  const secret = (flag: SecretFlag): { value: string | string[]; fromFile: boolean } | undefined => {
    const file = `${flag}-file` as const;
    const envFile = env[`TESSERA_${flag.toUpperCase().replaceAll('-', '_')}_FILE`];
    const sources: [string | string[] | undefined, string | undefined][] = [
      [values[flag], values[file]],
      [fromEnv(flag), envFile],
    ];
    for (const [direct, path] of sources) {
      if (direct !== undefined && path !== undefined) throw new UsageError(`--${flag} and --${file} are both set: give one.`);
      if (direct !== undefined) return { value: direct, fromFile: false };
      if (path !== undefined) return { value: readSecretFile(path, flag), fromFile: true };
    }
    return undefined;
  };
  const secretText = (flag: Exclude<SecretFlag, 'client'>) => secret(flag)?.value as string | undefined;

  const port = Number(text('port', '3000'));
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new UsageError('--port must be a port number.');

  let bootstrapAdmin: ServeOptions['bootstrapAdmin'];
  const admin = secretText('bootstrap-admin') ?? '';
  if (admin) {
    const colon = admin.indexOf(':');
    if (colon < 1 || colon === admin.length - 1) throw new UsageError('--bootstrap-admin must be NAME:PASSWORD.');
    bootstrapAdmin = { username: admin.slice(0, colon), password: admin.slice(colon + 1) };
  }

  const trustProxy = text('trust-proxy', '');
  const number = (
    flag: 'headers-timeout' | 'request-timeout' | 'max-connections' | 'max-connections-per-client' | 'max-sessions-per-user',
    valid: (value: number) => boolean,
    rule: string,
  ) => {
    const value = text(flag, '');
    if (value === '') return undefined;
    if (!valid(Number(value))) throw new UsageError(`--${flag} must be ${rule}.`);
    return Number(value);
  };
  const maxSessions = number('max-sessions-per-user', (value) => Number.isInteger(value) && value > 0, 'a positive whole number');
  const limits = {
    headersTimeout: number('headers-timeout', (value) => value > 0 && value <= 600, 'a number of seconds from 0 to 600'),
    requestTimeout: number('request-timeout', (value) => value > 0 && value <= 3600, 'a number of seconds from 0 to 3600'),
    maxConnections: number('max-connections', (value) => Number.isInteger(value) && value > 0, 'a positive whole number'),
    maxConnectionsPerClient: number(
      'max-connections-per-client',
      (value) => Number.isInteger(value) && value >= 0,
      'a whole number (0: no cap)',
    ),
  };
  const accessTtl = text('access-ttl', '');
  if (accessTtl !== '' && !(Number(accessTtl) > 0)) throw new UsageError('--access-ttl must be a positive number of seconds.');
  const refreshGrace = text('refresh-grace', '');
  if (refreshGrace !== '' && !(Number(refreshGrace) >= 0 && Number(refreshGrace) <= 300)) {
    throw new UsageError('--refresh-grace must be a number of seconds from 0 to 300.');
  }

  // Repeated on the command line, comma-separated in the environment, one a line in a file.
  const client = secret('client');
  const clientList = typeof client?.value === 'string' ? client.value.split(client.fromFile ? '\n' : ',') : (client?.value ?? []);
  const clients = clientList
    .map((line) => line.trim())
    .filter(Boolean)
    .map((value) => as('client', () => parseClient(value)));
  const clientsFile = text('clients-file', '');
  if (clientsFile !== '') clients.push(...as('clients-file', () => readClientsFile(clientsFile)));
  const duplicate = clients.find((one, index) => clients.findIndex((other) => other.id === one.id) !== index);
  if (duplicate) throw new UsageError(`The OAuth client "${duplicate.id}" is configured twice (--client and --clients-file).`);
  const services = list('service').map((value) => as('service', () => parseService(value)));

  const metricsToken = secretText('metrics-token');
  const publicMetrics = on('public-metrics');
  if (metricsToken !== undefined && publicMetrics) throw new UsageError('--metrics-token and --public-metrics: choose one.');
  const metrics: MetricsAccess =
    metricsToken !== undefined ? { token: as('metrics-token', () => checkMetricsToken(metricsToken)) } : publicMetrics ? 'public' : 'off';

  const issuer = text('issuer', '');
  const redisCluster = text('redis-cluster', '')
    .split(',')
    .map((node) => node.trim())
    .filter(Boolean);
  if (redisCluster.some((node) => !/^[^\s:]+:\d+$/.test(node))) throw new UsageError('--redis-cluster must be host:port[,host:port...].');
  const store = oneOf(text('store', 'sqlite'), STORES, 'store');
  if (redisCluster.length > 0 && store !== 'redis') throw new UsageError('--redis-cluster needs --store redis.');
  const postgresUrl = secretText('postgres-url');
  if (postgresUrl !== undefined && store !== 'postgres') throw new UsageError('--postgres-url needs --store postgres.');
  if (postgresUrl !== undefined && !/^postgres(ql)?:\/\//.test(postgresUrl))
    throw new UsageError('--postgres-url must be a postgres:// or postgresql:// URL.');

  const strategy = oneOf(text('strategy', 'hybrid'), STRATEGIES, 'strategy');
  const sessionCache = on('session-cache');
  if (sessionCache && strategy !== 'stateful')
    throw new UsageError('--session-cache is for --strategy stateful (the token strategies read no session per request).');
  const dpop = oneOf(text('dpop', 'off'), DPOP_MODES, 'dpop');
  if (dpop !== 'off' && strategy === 'stateful')
    throw new UsageError('--dpop binds the tokens of --strategy stateless or hybrid (stateful sessions travel in a cookie).');
  const session = { ...(maxSessions !== undefined && { maxPerUser: maxSessions }), ...(sessionCache && { cache: true }) };

  return {
    port,
    host: text('host', '127.0.0.1'),
    strategy,
    store,
    dataDir: text('data-dir', './.tessera'),
    redisUrl: secretText('redis-url') ?? 'redis://127.0.0.1:6379',
    ...(redisCluster.length > 0 && { redisCluster }),
    ...(postgresUrl !== undefined && { postgresUrl }),
    keysDir: text('keys-dir', '') || undefined,
    issuer: issuer === '' ? undefined : as('issuer', () => checkIssuer(issuer)),
    accessTtl: accessTtl === '' ? undefined : Number(accessTtl),
    refreshGrace: refreshGrace === '' ? undefined : Number(refreshGrace),
    dpop,
    insecureCookies: on('insecure-cookies'),
    bootstrapAdmin,
    trustProxy: trustProxy === '' ? undefined : parseTrustProxy(trustProxy),
    limits,
    ...(Object.keys(session).length > 0 && { session }),
    trustedOrigins: list('trusted-origin'),
    clients,
    services,
    metrics,
    log: { level: oneOf(text('log-level', 'info'), LOG_LEVELS, 'log-level') },
  };
}
