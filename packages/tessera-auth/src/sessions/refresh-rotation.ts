import { createHmac, hash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../base/clock.js';
import { DpopProofError, RefreshTokenInvalidError } from '../base/errors.js';
import type { RefreshState, SessionRecord, Store } from '../stores/store.js';
import { sessionExpiresAt, storeTtlMs, type SessionPolicy } from './session-manager.js';
import { isWellFormedSessionId } from './session-id.js';

/**
 * How many rotations back a presented handle is still recognised as a former one of its session
 * (and so as theft). Further back, it is just unknown.
 */
const MAX_GENERATIONS = 64;
/** Rounds of compare-and-set before giving up: each lost round means another refresh won. */
const MAX_ATTEMPTS = 4;

export type RefreshOutcome =
  /** A new handle: `handle` replaces the presented one. */
  | { readonly kind: 'rotated'; readonly record: SessionRecord; readonly handle: string }
  /** The presented handle was rotated moments ago (another tab, a lost response): the same successor again. */
  | { readonly kind: 'replayed'; readonly record: SessionRecord; readonly handle: string }
  /** A former handle after the grace window: the caller must revoke the session. */
  | { readonly kind: 'reused'; readonly record: SessionRecord };

/** What a refresh request proved: the key of its DPoP proof and when it was made, and whether an unbound handle may renew. */
export interface RefreshProof {
  readonly jkt?: string | undefined;
  /** The proof's `iat`, epoch ms. */
  readonly proofIssuedAt?: number | undefined;
  readonly unboundAllowed: boolean;
}

/** A request without a DPoP proof, where bearer tokens are allowed. */
const UNBOUND: RefreshProof = { unboundAllowed: true };

/** A bound handle renews only with a proof of its key (RFC 9449 §5); checked before anything is rotated. */
function checkBinding(refresh: RefreshState, proof: RefreshProof): void {
  if (refresh.jkt === undefined) {
    if (!proof.unboundAllowed) throw new DpopProofError('this server renews DPoP-bound refresh tokens only');
  } else if (proof.jkt !== refresh.jkt) {
    throw new DpopProofError(
      proof.jkt === undefined ? 'the refresh token is DPoP-bound' : 'made with another key than the refresh token is bound to',
    );
  }
}

/**
 * A former bound handle with a proof of its key made before the handle was spent (the handle was
 * spent by the latest rotation at the latest): a captured refresh request replayed, perhaps at
 * another instance, whose per-instance `jti` cache never saw it. Only the key's holder makes
 * proofs, and one made before the rotation is no sign of theft: it is refused, and nothing is
 * spent or revoked. A proof made since the rotation is the key's holder reusing a former handle.
 * Proofs carry whole seconds, so one from the second of the rotation counts as made before it.
 */
const madeBeforeSpent = (refresh: RefreshState, proof: RefreshProof) =>
  refresh.jkt !== undefined && proof.proofIssuedAt !== undefined && proof.proofIssuedAt < refresh.issuedAt + 1000;

const sha256 = (secret: string) => hash('sha256', secret, 'base64url');
/** Each handle's successor is derived from it with the session's key: retries get the same answer. */
const successorOf = (key: string, secret: string) => createHmac('sha256', Buffer.from(key, 'base64url')).update(secret).digest('base64url');
const sameHash = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/** `<session id hash>.<secret>`: the first half is public (it is the access tokens' `sid`). */
export const refreshHandle = (idHash: string, secret: string) => `${idHash}.${secret}`;

function parseHandle(handle: string): { idHash: string; secret: string } | null {
  if (handle.length !== 87 || handle[43] !== '.') return null;
  const idHash = handle.slice(0, 43);
  const secret = handle.slice(44);
  return isWellFormedSessionId(idHash) && isWellFormedSessionId(secret) ? { idHash, secret } : null;
}

/**
 * Refresh handles of the hybrid strategy: opaque, 256-bit, stored as SHA-256, rotated on every
 * use with a compare-and-set in the store (so two instances rotating one handle cannot both win).
 *
 * Reuse detection without keeping old secrets: successor = HMAC(session key, handle), so walking
 * forward from a presented secret reaches the current hash only if it is a former handle of that
 * session. The immediate predecessor, within `graceMs` of the rotation, gets the same successor
 * again (tabs refreshing together, a response lost on the way); any former handle later than that
 * is theft. A secret that leads nowhere is merely invalid: the session half of a handle is public,
 * so an unknown secret proves nothing and must not let anyone revoke someone else's session.
 */
export function createRefreshRotation(store: Store, policy: SessionPolicy, clock: Clock, options: { graceMs: number }) {
  return {
    /**
     * A first secret and the state to store with a new session; its handle is `refreshHandle(idHash, secret)`.
     * With `jkt`, the handle is bound to that DPoP key for the session's life.
     */
    issue(jkt?: string): { secret: string; state: RefreshState } {
      const secret = randomBytes(32).toString('base64url');
      const state = {
        hash: sha256(secret),
        issuedAt: clock.now(),
        key: randomBytes(32).toString('base64url'),
        ...(jkt !== undefined && { jkt }),
      };
      return { secret, state };
    },

    /** The live session whose current handle this is, or null (former, unknown, malformed, ended). */
    async current(handle: string): Promise<SessionRecord | null> {
      const parsed = parseHandle(handle);
      if (!parsed) return null;
      const record = await store.sessions.get(parsed.idHash);
      if (!record?.refresh || clock.now() >= sessionExpiresAt(record, policy)) return null;
      return sameHash(sha256(parsed.secret), record.refresh.hash) ? record : null;
    },

    async refresh(handle: string, proof: RefreshProof = UNBOUND): Promise<RefreshOutcome> {
      const parsed = parseHandle(handle);
      if (!parsed) throw new RefreshTokenInvalidError();
      const { idHash, secret } = parsed;
      const presentedHash = sha256(secret);
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        const record = await store.sessions.get(idHash);
        const now = clock.now();
        if (!record?.refresh || now >= sessionExpiresAt(record, policy)) throw new RefreshTokenInvalidError();
        const { refresh } = record;

        if (sameHash(presentedHash, refresh.hash)) {
          checkBinding(refresh, proof);
          const next = successorOf(refresh.key, secret);
          const renewed = { ...record, lastSeenAt: now, refresh: { ...refresh, hash: sha256(next), issuedAt: now } };
          const result = await store.sessions.rotateRefresh(idHash, refresh.hash, renewed.refresh, storeTtlMs(renewed, policy, now));
          if (result === 'rotated') return { kind: 'rotated', record: renewed, handle: refreshHandle(idHash, next) };
          if (result === 'missing') throw new RefreshTokenInvalidError();
          continue; // another refresh won: read again, this handle is now the predecessor
        }

        let candidate = secret;
        for (let generation = 1; generation <= MAX_GENERATIONS; generation++) {
          candidate = successorOf(refresh.key, candidate);
          if (!sameHash(sha256(candidate), refresh.hash)) continue;
          checkBinding(refresh, proof);
          if (generation === 1 && now - refresh.issuedAt <= options.graceMs)
            return { kind: 'replayed', record, handle: refreshHandle(idHash, candidate) };
          if (madeBeforeSpent(refresh, proof)) throw new DpopProofError('replayed: made before the refresh token was spent');
          return { kind: 'reused', record };
        }
        throw new RefreshTokenInvalidError();
      }
      throw new RefreshTokenInvalidError();
    },
  };
}
