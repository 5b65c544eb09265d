import { ConfigError } from '../base/errors.js';
import { publicJwk, type PublicJwk, type TokenKey } from './keys.js';

/**
 * Where a key is in its life. Rotation without downtime goes next, active, retiring:
 * - `next`: published in the JWKS and trusted, but signs nothing yet, so every verifier has it
 *   before the first token signed with it arrives;
 * - `active`: the one key that signs;
 * - `retiring`: signs no more, verifies until `notAfter` (when the last token it signed expires);
 * - `revoked`: trusted by nothing: every token it signed dies at once (an emergency).
 */
export type KeyStatus = 'next' | 'active' | 'retiring' | 'revoked';

/** A key with where it is in its life. */
export interface KeyRingEntry {
  readonly key: TokenKey;
  readonly status: KeyStatus;
  /** For `retiring`: epoch ms after which the key verifies nothing. */
  readonly notAfter?: number | undefined;
}

/** The keys that sign and verify tokens, each with its status (see `KeyStatus`); updated in place on rotation. */
export interface KeyRing {
  /** The active key. Throws if the ring has none (a verification-only ring). */
  signingKey(): TokenKey;
  /**
   * The key that may verify a token with this `kid` now, or undefined. A token without `kid` is
   * accepted only when exactly one key could verify it. The `kid` only selects among local keys:
   * nothing in a token ever adds a key.
   */
  verificationKey(kid: string | undefined, now: number): TokenKey | undefined;
  /** The public JWKS: next, active and unexpired retiring keys; never HMAC secrets, never revoked keys. */
  jwks(now: number): { keys: PublicJwk[] };
  readonly entries: readonly KeyRingEntry[];
  /**
   * Replaces every entry at once (a reload of the keys directory, a rotation, an emergency
   * revocation). Verifiers see the change on their next token; their caches drop entries whose key
   * no longer verifies.
   */
  update(entries: readonly KeyRingEntry[]): void;
}

interface RingState {
  readonly entries: readonly KeyRingEntry[];
  readonly byKid: ReadonlyMap<string, KeyRingEntry>;
  readonly active: TokenKey | undefined;
}

function index(entries: readonly KeyRingEntry[]): RingState {
  const byKid = new Map<string, KeyRingEntry>();
  for (const entry of entries) {
    if (byKid.has(entry.key.kid)) throw new ConfigError(`Two keys share the kid ${entry.key.kid}.`);
    byKid.set(entry.key.kid, entry);
  }
  const active = entries.filter((entry) => entry.status === 'active');
  if (active.length > 1) throw new ConfigError('A key ring has at most one active key.');
  return { entries: [...entries], byKid, active: active[0]?.key };
}

const verifies = (entry: KeyRingEntry, now: number) =>
  entry.status !== 'revoked' && !(entry.status === 'retiring' && entry.notAfter !== undefined && now >= entry.notAfter);

/**
 * A key ring from entries (at most one `active`).
 *
 * @example
 * ```ts
 * const keys = createKeyRing([{ key: importKey({ alg: 'EdDSA', kid: 'k1', key: privateJwk }), status: 'active' }]);
 * ```
 */
export function createKeyRing(initial: readonly KeyRingEntry[]): KeyRing {
  let state = index(initial);
  return {
    get entries() {
      return state.entries;
    },
    update(entries) {
      state = index(entries);
    },
    signingKey() {
      if (!state.active?.signingKey) throw new ConfigError('The key ring has no active signing key.');
      return state.active;
    },
    verificationKey(kid, now) {
      if (kid !== undefined) {
        const entry = state.byKid.get(kid);
        return entry && verifies(entry, now) ? entry.key : undefined;
      }
      const candidates = state.entries.filter((entry) => verifies(entry, now));
      return candidates.length === 1 ? candidates[0]?.key : undefined;
    },
    jwks(now) {
      return { keys: state.entries.filter((entry) => verifies(entry, now)).flatMap((entry) => publicJwk(entry.key) ?? []) };
    },
  };
}

/**
 * Marks key `kid` revoked in the ring at once, when the revocation list names it: it stops
 * verifying, signing and being published before any reload or refetch would tell.
 */
export function markKeyRevoked(ring: KeyRing, kid: string): void {
  if (!ring.entries.some((entry) => entry.key.kid === kid && entry.status !== 'revoked')) return;
  ring.update(ring.entries.map((entry) => (entry.key.kid === kid ? { ...entry, status: 'revoked' } : entry)));
}
