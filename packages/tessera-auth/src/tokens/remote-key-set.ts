import { systemClock, type Clock } from '../base/clock.js';
import { createKeyRing, markKeyRevoked, type KeyRing, type KeyRingEntry } from './key-ring.js';
import { ALGORITHMS, importKey, type Algorithm } from './keys.js';

/** Where a resource service fetches the identity server's public keys, and how often. */
export interface RemoteKeySetOptions {
  /** The identity server's JWKS, e.g. `https://id.example/.well-known/jwks.json`. */
  url: string;
  /** Per fetch (default 2000 ms). */
  timeoutMs?: number;
  /** Refetch in the background after this long (default 5 minutes). */
  maxAgeMs?: number;
  /**
   * At most one fetch per this interval is triggered by tokens naming an unknown kid (default
   * 30 s), so a flood of made-up kids cannot hammer the identity server.
   */
  cooldownMs?: number;
  clock?: Clock;
}

const MAX_JWKS_BYTES = 64 * 1024;
const MAX_KEYS = 100;
/** After a failed fetch, the next background one waits 1 s, then 2 s, 4 s … up to the max age. */
const FIRST_BACKOFF_MS = 1000;

/** The body as text, read as a stream and abandoned past `maxBytes`: a huge answer is never held. */
async function readLimited(response: Response, maxBytes: number): Promise<string> {
  if (Number(response.headers.get('content-length')) > maxBytes) {
    await response.body?.cancel();
    throw new Error('The JWKS is too large.');
  }
  const reader = response.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return Buffer.concat(chunks).toString('utf8');
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new Error('The JWKS is too large.');
    }
    chunks.push(value);
  }
}

/** An identity server's JWKS, fetched and kept current (see `createRemoteKeySet`). */
export interface RemoteKeySet {
  /** The keys as last fetched: give it to `createVerifier`. */
  readonly ring: KeyRing;
  /** Fetches now (at startup); rejects if the JWKS cannot be had. */
  refresh(): Promise<void>;
  /** Refetches after the max age, in the background (backing off after failures); never throws. */
  refreshIfStale(): void;
  /**
   * Called when a token names a kid we lack: refetches unless one such fetch happened within the
   * cooldown. Resolves to whether a fetch ran (and so a retry may succeed).
   */
  refreshForUnknownKid(): Promise<boolean>;
  /**
   * Drops key `kid` now and for the life of the process, whatever the JWKS still lists (a cache in
   * front of it, an instance that has not reloaded): called for each key the revocation list names.
   */
  revokeKey(kid: string): void;
  /** How many fetches were made: for tests and metrics. */
  readonly fetchCount: number;
}

/**
 * A verification-only key ring fed from a remote JWKS. Verification stays synchronous and local;
 * only a token with an unknown kid (after a rotation) waits for one refetch. A failed fetch keeps
 * the last good keys. Symmetric keys are never accepted from a JWKS.
 *
 * @example
 * ```ts
 * const remote = createRemoteKeySet({ url: 'https://id.example.com/.well-known/jwks.json' });
 * await remote.refresh();
 * const verify = createVerifier({ keys: remote.ring, typ: 'at+jwt', issuer: 'https://id.example.com', audience: 'orders' });
 * ```
 */
export function createRemoteKeySet(options: RemoteKeySetOptions): RemoteKeySet {
  const clock = options.clock ?? systemClock;
  const timeoutMs = options.timeoutMs ?? 2000;
  const maxAgeMs = options.maxAgeMs ?? 300_000;
  const cooldownMs = options.cooldownMs ?? 30_000;
  const ring: KeyRing = createKeyRing([]);
  let fetchedAt = -Infinity;
  let lastUnknownKidFetch = -Infinity;
  // Background refetches after failures back off, so a struggling identity server is not hit once per request.
  let backoffMs = 0;
  let failedAt = -Infinity;
  let inFlight: Promise<void> | undefined;
  let fetches = 0;
  const revokedKids = new Set<string>();

  const load = async (): Promise<void> => {
    fetches++;
    const response = await fetch(options.url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
    if (!response.ok) {
      await response.body?.cancel();
      throw new Error(`JWKS fetch failed with status ${response.status}.`);
    }
    const body = await readLimited(response, MAX_JWKS_BYTES);
    const keys = (JSON.parse(body) as { keys?: unknown }).keys;
    if (!Array.isArray(keys)) throw new Error('The JWKS has no "keys" array.');
    const entries: KeyRingEntry[] = [];
    for (const jwk of keys.slice(0, MAX_KEYS) as Record<string, unknown>[]) {
      const alg = jwk.alg as Algorithm;
      // Each key needs its own alg (one algorithm per key); secrets and encryption keys are skipped.
      if (!(ALGORITHMS as readonly string[]).includes(alg) || alg.startsWith('HS') || jwk.kty === 'oct') continue;
      if ((jwk.use !== undefined && jwk.use !== 'sig') || typeof jwk.kid !== 'string' || 'd' in jwk) continue;
      try {
        // Trusted, never signs here; a key the revocation list named stays out.
        entries.push({ key: importKey({ alg, kid: jwk.kid, key: jwk }), status: revokedKids.has(jwk.kid) ? 'revoked' : 'next' });
      } catch {
        // A malformed key is skipped; the others still serve.
      }
    }
    ring.update(entries);
    fetchedAt = clock.now();
  };

  const refresh = (): Promise<void> => {
    inFlight ??= load()
      .then(
        () => {
          backoffMs = 0;
        },
        (error: unknown) => {
          failedAt = clock.now();
          backoffMs = Math.min(maxAgeMs, backoffMs === 0 ? FIRST_BACKOFF_MS : backoffMs * 2);
          throw error;
        },
      )
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };

  return {
    ring,
    refresh,
    refreshIfStale(): void {
      const now = clock.now();
      if (now - fetchedAt >= maxAgeMs && now - failedAt >= backoffMs) refresh().catch(() => {});
    },
    async refreshForUnknownKid(): Promise<boolean> {
      const now = clock.now();
      if (now - lastUnknownKidFetch < cooldownMs) return false;
      lastUnknownKidFetch = now;
      try {
        await refresh();
        return true;
      } catch {
        return false;
      }
    },
    revokeKey(kid: string): void {
      revokedKids.add(kid);
      markKeyRevoked(ring, kid);
    },
    get fetchCount() {
      return fetches;
    },
  };
}
