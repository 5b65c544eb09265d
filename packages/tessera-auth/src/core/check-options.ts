import { distance } from 'fastest-levenshtein';
import { ConfigError } from '../base/errors.js';

/**
 * What each option of `createAuth` must be, checked at runtime: JavaScript callers, JSON configs
 * and `any` get the same errors TypeScript would give, at creation instead of at the first request.
 */
type Expected = 'string' | 'number' | 'boolean' | 'function' | 'array' | 'object' | 'store' | 'keys' | 'clock' | 'cache' | Shape;
interface Shape {
  readonly [key: string]: Expected;
}

const SHAPE: Shape = {
  strategy: 'string',
  store: 'store',
  cookie: { secure: 'boolean', name: 'string' },
  session: {
    idleTimeout: 'number',
    absoluteTimeout: 'number',
    touchInterval: 'number',
    maxDataBytes: 'number',
    maxPerUser: 'number',
    cache: 'cache',
  },
  tokens: {
    keys: 'keys',
    issuer: 'string',
    audience: 'string',
    clientId: 'string',
    accessTtl: 'number',
    leeway: 'number',
    maxStaleness: 'number',
    cookie: 'boolean',
    dpop: { mode: 'string', origin: 'string', nonces: 'object', algorithms: 'array', maxAgeSeconds: 'number', replayCacheSize: 'number' },
  },
  refresh: { graceSeconds: 'number', cookiePath: 'string' },
  csrf: { trustedOrigins: 'array' },
  clock: 'clock',
  onError: 'function',
};
const CACHE_SHAPE: Shape = { maxEntries: 'number', maxStaleness: 'number' };

/** What to pass, said the way the docs say it. */
const HOW: Partial<Record<Expected & string, string>> = {
  store:
    "a store: createMemoryStore() from 'tessera-auth', createSqliteStore({ path }), createRedisStore({ url }) or createPostgresStore({ url }) from 'tessera-auth/sqlite', '/redis' or '/postgres'",
  keys: "a key ring: openKeyDirectory(dir, { createIfEmpty: 'EdDSA' }).ring or createKeyRing([...]) from 'tessera-auth/tokens'",
  clock: 'a clock: { now: () => epoch milliseconds }',
  cache: 'true, or { maxEntries, maxStaleness }',
};

const describe = (value: unknown): string => {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value)}`;
  if (typeof value === 'object') return 'an object without the expected methods';
  return `${typeof value === 'number' ? 'the number' : typeof value === 'boolean' ? 'the boolean' : typeof value} ${String(value)}`;
};

/** The valid name closest to `name`, if any is close enough to be what was meant. */
export function closest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const candidate of candidates) {
    const d = distance(name.toLowerCase(), candidate.toLowerCase()); // catches `sessions`, `idleTimeOut`, `acessTtl`
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

const hasMethods = (value: unknown, methods: readonly string[]) =>
  typeof value === 'object' &&
  value !== null &&
  methods.every((method) => typeof (value as Record<string, unknown>)[method] === 'function');

function matches(value: unknown, expected: Expected & string): boolean {
  switch (expected) {
    case 'array':
      return Array.isArray(value);
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    case 'store':
      return hasMethods(value, ['ping', 'close']) && typeof (value as { sessions?: unknown }).sessions === 'object';
    case 'keys':
      return hasMethods(value, ['signingKey']);
    case 'clock':
      return hasMethods(value, ['now']);
    case 'cache':
      return typeof value === 'boolean' || (typeof value === 'object' && value !== null && !Array.isArray(value));
    case 'number':
      return typeof value === 'number' && !Number.isNaN(value);
    default:
      return typeof value === expected;
  }
}

function checkShape(value: unknown, shape: Shape, path: string): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(`${path || 'createAuth options'} must be an object (got ${describe(value)}).`);
  }
  for (const [key, option] of Object.entries(value)) {
    const name = path ? `${path}.${key}` : key;
    const expected = shape[key];
    if (expected === undefined) {
      const suggestion = closest(key, Object.keys(shape));
      throw new ConfigError(
        `Unknown option ${name}${suggestion ? `: did you mean ${path ? `${path}.` : ''}${suggestion}?` : '.'} Known here: ${Object.keys(shape).join(', ')}.`,
      );
    }
    if (option === undefined) continue;
    if (typeof expected === 'object') checkShape(option, expected, name);
    else if (!matches(option, expected)) {
      throw new ConfigError(`${name} must be ${HOW[expected] ?? `a ${expected}`} (got ${describe(option)}).`);
    } else if (expected === 'cache' && typeof option === 'object') checkShape(option, CACHE_SHAPE, name);
  }
}

/** Throws a `ConfigError` naming the first option that is unknown or of the wrong kind, and what to pass instead. */
export function checkAuthOptions(options: unknown): void {
  if (options === undefined) {
    throw new ConfigError("createAuth needs options: createAuth({ strategy: 'stateful', store: createMemoryStore() }) at least.");
  }
  checkShape(options, SHAPE, '');
  const { strategy, store } = options as { strategy?: unknown; store?: unknown };
  const strategies = ['stateful', 'stateless', 'hybrid'];
  if (typeof strategy !== 'string' || !strategies.includes(strategy)) {
    const suggestion = typeof strategy === 'string' ? closest(strategy, strategies) : undefined;
    throw new ConfigError(
      `strategy must be "stateful", "stateless" or "hybrid" (got ${describe(strategy)})${suggestion ? `: did you mean "${suggestion}"?` : '.'}`,
    );
  }
  if (store === undefined) throw new ConfigError(`store is required: ${HOW.store}.`);
}
