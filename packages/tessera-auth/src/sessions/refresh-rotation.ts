import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../base/clock.js';
import { DpopProofError, RefreshTokenInvalidError } from '../base/errors.js';
import type { RefreshState, SessionRecord, Store } from '../stores/store.js';
import { sessionExpiresAt, storeTtlMs, type SessionPolicy } from './session-manager.js';
import { isWellFormedSessionId } from './session-id.js';

/**
 * How many former handles each session remembers, and so how many rotations back a presented
 * handle is still recognised as theft. Further back, it is just unknown.
 */
const MAX_SPENT = 16;
/** Bytes of SHA-256 kept per former handle: a forged secret matches one by chance with odds 16 in 2^64. */
const FINGERPRINT_BYTES = 8;
/** Rounds of compare-and-set before giving up: each lost round means another refresh won. */
const MAX_ATTEMPTS = 4;

export type RefreshOutcome =
  /** A new handle: `handle` replaces the presented one. */
  | { readonly kind: 'rotated'; readonly record: SessionRecord; readonly handle: string }
  /**
   * The presented handle was rotated moments ago (another tab, a lost response): it stays alive
   * beside its successor, and `handle` is the presented one.
   */
  | { readonly kind: 'replayed'; readonly record: SessionRecord; readonly handle: string }
  /** A former handle after the grace window: the caller must revoke the session. */
  | { readonly kind: 'reused'; readonly record: SessionRecord };

/** What a refresh request proved: the key of its DPoP proof and when it was made, and whether an unbound handle may renew. */
export interface RefreshProof {
  readonly jkt?: string | undefined;
  /** The proof's `iat`, epoch ms. */
  readonly proofIssuedAt?: number | undefined;
  readonly unboundAllowed: boolean;
  /**
   * The OAuth client renewing (the identity server's token endpoint), absent for the first-party
   * application: a handle renews only for the client it was granted to (`SessionRecord.clientId`).
   */
  readonly clientId?: string | undefined;
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

const digest = (secret: string) => hash('sha256', secret, 'buffer');
const sameHash = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/** The live handles' hashes (`RefreshState.hash`): the current one first. */
const liveHashes = (refresh: RefreshState) => refresh.hash.split(' ');

/** The fingerprints of the former handles, newest first. */
function spentFingerprints(refresh: RefreshState): Buffer[] {
  const packed = Buffer.from(refresh.spent, 'base64url');
  const fingerprints: Buffer[] = [];
  for (let at = 0; at + FINGERPRINT_BYTES <= packed.length; at += FINGERPRINT_BYTES)
    fingerprints.push(packed.subarray(at, at + FINGERPRINT_BYTES));
  return fingerprints;
}

/** `spent` after a rotation: the handles that were live, the one used first, then the older ones. */
function spentAfter(refresh: RefreshState, used: Buffer): string {
  const fingerprints = [used.subarray(0, FINGERPRINT_BYTES)];
  for (const live of liveHashes(refresh)) fingerprints.push(Buffer.from(live, 'base64url').subarray(0, FINGERPRINT_BYTES));
  for (const old of spentFingerprints(refresh)) fingerprints.push(old);
  const unique = fingerprints.filter((fingerprint, i) => fingerprints.findIndex((other) => other.equals(fingerprint)) === i);
  return Buffer.concat(unique.slice(0, MAX_SPENT)).toString('base64url');
}

/** `<session id hash>.<secret>`: the first half is public (it is the access tokens' `sid`). */
export const refreshHandle = (idHash: string, secret: string) => `${idHash}.${secret}`;

function parseHandle(handle: string): { idHash: string; secret: string } | null {
  if (handle.length !== 87 || handle[43] !== '.') return null;
  const idHash = handle.slice(0, 43);
  const secret = handle.slice(44);
  return isWellFormedSessionId(idHash) && isWellFormedSessionId(secret) ? { idHash, secret } : null;
}

/**
 * Refresh handles of the hybrid strategy: opaque, 256-bit, drawn at random, stored as SHA-256,
 * rotated on every use with a compare-and-set in the store (so two instances rotating one handle
 * cannot both win). Nothing stored yields a handle: a copy of the store and any former handle give
 * no way to the current one.
 *
 * Each session remembers the fingerprints of its latest former handles: one presented again is
 * theft. The immediate predecessor, within `graceMs` of the rotation, is the exception (tabs
 * refreshing together, a response lost on the way): it stays alive beside its successor, and
 * whichever of the two renews next spends both. A secret that matches nothing is merely invalid:
 * the session half of a handle is public, so an unknown secret proves nothing and must not let
 * anyone revoke someone else's session.
 */
export function createRefreshRotation(store: Store, policy: SessionPolicy, clock: Clock, options: { graceMs: number }) {
  /** A compare-and-set of the refresh state; `true` when it was written, `false` when another refresh won. */
  async function replace(record: SessionRecord, next: RefreshState, now: number): Promise<boolean> {
    const renewed = { ...record, lastSeenAt: now, refresh: next };
    const result = await store.sessions.rotateRefresh(record.idHash, record.refresh!.hash, next, storeTtlMs(renewed, policy, now));
    if (result === 'missing') throw new RefreshTokenInvalidError();
    return result === 'rotated';
  }

  return {
    /**
     * A first secret and the state to store with a new session; its handle is `refreshHandle(idHash, secret)`.
     * With `jkt`, the handle is bound to that DPoP key for the session's life.
     */
    issue(jkt?: string): { secret: string; state: RefreshState } {
      const secret = randomBytes(32).toString('base64url');
      const state = { hash: digest(secret).toString('base64url'), issuedAt: clock.now(), spent: '', ...(jkt !== undefined && { jkt }) };
      return { secret, state };
    },

    /** The live session whose live handle this is, or null (former, unknown, malformed, ended). */
    async current(handle: string): Promise<SessionRecord | null> {
      const parsed = parseHandle(handle);
      if (!parsed) return null;
      const record = await store.sessions.get(parsed.idHash);
      if (!record?.refresh || clock.now() >= sessionExpiresAt(record, policy)) return null;
      const presented = digest(parsed.secret).toString('base64url');
      return liveHashes(record.refresh).some((live) => sameHash(presented, live)) ? record : null;
    },

    async refresh(handle: string, proof: RefreshProof = UNBOUND): Promise<RefreshOutcome> {
      const parsed = parseHandle(handle);
      if (!parsed) throw new RefreshTokenInvalidError();
      const { idHash, secret } = parsed;
      const presented = digest(secret);
      const presentedHash = presented.toString('base64url');
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        const record = await store.sessions.get(idHash);
        const now = clock.now();
        if (!record?.refresh || now >= sessionExpiresAt(record, policy)) throw new RefreshTokenInvalidError();
        // Another client's handle is no handle of this one's: nothing rotated, nothing revoked.
        if (record.clientId !== proof.clientId) throw new RefreshTokenInvalidError();
        const { refresh } = record;
        const live = liveHashes(refresh);
        // No grace at all with 0, even within the millisecond of the rotation.
        const inGrace = options.graceMs > 0 && now - refresh.issuedAt <= options.graceMs;

        const liveAt = live.findIndex((hash) => sameHash(presentedHash, hash));
        if (liveAt === 0 || (liveAt > 0 && !inGrace)) {
          checkBinding(refresh, proof);
          const secretNext = randomBytes(32).toString('base64url');
          const next = { ...refresh, hash: digest(secretNext).toString('base64url'), issuedAt: now, spent: spentAfter(refresh, presented) };
          if (await replace(record, next, now))
            return { kind: 'rotated', record: { ...record, lastSeenAt: now, refresh: next }, handle: refreshHandle(idHash, secretNext) };
          continue; // another refresh won: read again, this handle is now the predecessor
        }
        if (liveAt > 0) {
          checkBinding(refresh, proof);
          return { kind: 'replayed', record, handle };
        }

        const spentAt = spentFingerprints(refresh).findIndex((fingerprint) => fingerprint.equals(presented.subarray(0, FINGERPRINT_BYTES)));
        if (spentAt === -1) throw new RefreshTokenInvalidError();
        checkBinding(refresh, proof);
        if (spentAt === 0 && inGrace) {
          // The predecessor, moments after its rotation: kept alive beside its successor.
          const next = { ...refresh, hash: `${live[0]} ${presentedHash}` };
          if (await replace(record, next, now)) return { kind: 'replayed', record: { ...record, refresh: next }, handle };
          continue;
        }
        if (madeBeforeSpent(refresh, proof)) throw new DpopProofError('replayed: made before the refresh token was spent');
        return { kind: 'reused', record };
      }
      throw new RefreshTokenInvalidError();
    },
  };
}
