import { EventEmitter } from 'node:events';
import { verifyingKeyOf } from '../base/verifying-key.js';
import type { Clock } from '../base/clock.js';
import { systemClock } from '../base/clock.js';
import { ConfigError, StoreUnavailableError, TokenRevokedError } from '../base/errors.js';
import type { RevocationFollower, RevocationStore } from '../stores/store.js';
import { createAcknowledgements, type Acknowledged } from './acknowledgements.js';
import { createRevocationList, type RevocableClaims, type RevocationEntry } from './revocation-list.js';

/** The events of a revocation mirror. */
export interface RevocationEvents {
  /** `position`: where the entry is in the shared feed (undefined for an entry added here without one). */
  revocation: [entry: RevocationEntry, position: string | undefined];
  /** The persisted list is in memory (its entries do not come as `revocation` events): see `snapshot`. */
  loaded: [];
  /** An entry added here has been applied by every instance sharing the store (or the wait gave up: `unacknowledged`). */
  acknowledged: [outcome: Acknowledged];
}

/** The store a mirror follows and how stale it may get. */
export interface RevocationMirrorOptions {
  /** The durable list, and with Redis the feed every instance follows. */
  store: { readonly revocations: RevocationStore };
  /**
   * Seconds the copy is trusted without hearing from the shared feed (default 5, at least 1). Past
   * it, `check` throws 503 `store_unavailable`: a partitioned instance never accepts blindly.
   */
  maxStaleness?: number;
  clock?: Clock;
  /** What a 503 says while the copy may be behind (default: the store is unavailable). */
  staleMessage?: string;
}

/** This process's copy of the revocation list (see `createRevocationMirror`). */
export interface RevocationMirror {
  /** Whether the persisted list is in memory (after which checks need not wait for it). */
  readonly loaded: boolean;
  /** `revocation`: an entry was heard from the shared feed (or added here, without a feed). */
  readonly events: EventEmitter<RevocationEvents>;
  /**
   * Makes sure the persisted list is in memory and the feed followed. Until then, checks fail
   * closed (the store error propagates as a 503) rather than trust a list that may be missing entries.
   */
  ensureLoaded(): Promise<void>;
  /** Whether the copy may be missing revocations: the shared feed has been silent too long. */
  isStale(): boolean;
  /** Seconds since the shared feed was last heard from; 0 for a store without a feed (the copy is the list). */
  feedSilenceSeconds(): number;
  /**
   * Throws 503 when the copy cannot be trusted, 401 `token_revoked` when the token is revoked. The
   * key's `kid` defaults to that of the key that verified `claims` (when a verifier returned them).
   */
  check(claims: RevocableClaims, kid?: string): void;
  /**
   * `verify(token)`, then `check` of its claims: how every reader of a credential reads one (the
   * request context, `bearer()`, introspection, device cookies), so none can forget the list or the
   * key that verified it. Throws what `verify` throws, then as `check`.
   */
  verified<Claims extends RevocableClaims>(token: unknown, verify: (token: unknown) => Claims): Claims;
  /** Whether the token is revoked by this copy, stale or not (`kid` as for `check`). */
  isRevoked(claims: RevocableClaims, kid?: string): boolean;
  /**
   * The entries in force in this copy, and the feed position they cover: every entry at or before
   * it is among them (`position` is undefined without a feed).
   */
  snapshot(): { entries: RevocationEntry[]; position: string | undefined };
  /**
   * Writes the entry durably, then applies it here; other instances hear it from the feed. With a
   * store that keeps acknowledgements (Redis, PostgreSQL), it resolves only once every instance
   * heard from within `maxStaleness` has applied it: when it resolves, no instance sharing the
   * store accepts what it revokes. The wait is bounded by `maxStaleness` and reported as
   * `acknowledged` events.
   */
  add(entry: RevocationEntry): Promise<void>;
  /** Drops entries that can no longer revoke anything (additions do it as the list grows). */
  prune(): void;
  /** Stops following the feed (the store itself belongs to the caller). */
  close(): void;
}

/**
 * This process's copy of the revocation list: replayed from the store, then kept current by the
 * store's feed. Every check is a few in-memory lookups. Used by the token strategies, and on its own
 * by resource services that verify the identity server's tokens.
 *
 * @example
 * ```ts
 * const revocations = createRevocationMirror({ store: createRedisStore({ url }) });
 * await revocations.ensureLoaded();
 * app.use(bearer({ verify, revocations }));
 * ```
 */
export function createRevocationMirror(options: RevocationMirrorOptions): RevocationMirror {
  const { store } = options;
  const clock = options.clock ?? systemClock;
  const list = createRevocationList(clock);
  const events = new EventEmitter<RevocationEvents>();
  const maxStalenessMs = (options.maxStaleness ?? 5) * 1000;
  // The feed answers at least every half second; a bound under a second would flap.
  if (!(maxStalenessMs >= 1000)) throw new ConfigError('maxStaleness must be at least 1 second.');
  let loading: Promise<void> | undefined;
  let loaded = false;
  let follower: RevocationFollower | undefined;
  // Acknowledged revocation, where the store keeps acknowledgements: this instance's heartbeat,
  // and the wait of each change for the others.
  const acknowledgements =
    store.revocations.acknowledgements && createAcknowledgements(store.revocations.acknowledgements, () => follower, maxStalenessMs);

  const isStale = () =>
    // Real time, not the injected clock: this measures the feed connection's health. An instance
    // that has not acknowledged lately is no longer waited for by the others: it must refuse.
    follower !== undefined &&
    (!follower.connected ||
      Date.now() - follower.lastContact > maxStalenessMs ||
      (acknowledgements !== undefined && !acknowledgements.fresh()));

  const check = (claims: RevocableClaims, kid = verifyingKeyOf(claims)): void => {
    if (isStale()) throw new StoreUnavailableError(undefined, options.staleMessage);
    if (list.isRevoked(claims, kid)) throw new TokenRevokedError();
  };

  return {
    events,
    get loaded() {
      return loaded;
    },

    async ensureLoaded(): Promise<void> {
      if (loaded) return;
      loading ??= (async () => {
        // Follow first, then replay: an entry added in between arrives by one route or both.
        follower ??= store.revocations.follow?.((entry, position) => {
          list.add(entry);
          events.emit('revocation', entry, position);
          void acknowledgements?.acknowledge();
        });
        await follower?.ready;
        for (const entry of await store.revocations.list(clock.now())) list.add(entry);
        // Heard from before the first request: the others wait for this instance from now on.
        await acknowledgements?.acknowledge();
        loaded = true;
        events.emit('loaded');
      })().catch((error: unknown) => {
        loading = undefined;
        throw error;
      });
      await loading;
    },

    isStale,

    feedSilenceSeconds(): number {
      return follower ? Math.max(0, Date.now() - follower.lastContact) / 1000 : 0;
    },

    check,

    verified(token, verify) {
      const claims = verify(token);
      check(claims);
      return claims;
    },

    isRevoked: (claims: RevocableClaims, kid = verifyingKeyOf(claims)) => list.isRevoked(claims, kid),
    snapshot: () => ({ entries: list.entries(), position: follower?.position }),
    prune: list.prune,

    async add(entry: RevocationEntry): Promise<void> {
      const position = await store.revocations.add(entry);
      list.add(entry);
      // With a shared feed, the event fires when the entry comes back from it, on every instance.
      if (!follower) events.emit('revocation', entry, undefined);
      if (acknowledgements && typeof position === 'string') events.emit('acknowledged', await acknowledgements.applied(position));
    },

    close(): void {
      acknowledgements?.close();
      follower?.stop();
      follower = undefined;
    },
  };
}
