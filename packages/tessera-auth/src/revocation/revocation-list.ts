import type { Clock } from '../base/clock.js';
import type { RevocationEntry } from '../base/types.js';

export type { RevocationEntry };

/** The claims a revocation entry can match: `jti`, `sid`, `sub` with `iat`. */
export interface RevocableClaims {
  readonly sub?: string;
  readonly jti?: string;
  readonly iat?: number;
  readonly sid?: unknown;
}

export type RevocationList = ReturnType<typeof createRevocationList>;

/** Fewest entries at which adding one first drops the expired ones. */
const PRUNE_FLOOR = 1024;

/**
 * The in-memory list every instance checks on the request path: O(1), no I/O. Expired entries are
 * dropped whenever the list has doubled since the last sweep, so it stays within twice the live
 * entries at an amortised O(1) per addition.
 */
export function createRevocationList(clock: Clock) {
  const byKind = { jti: new Map<string, number>(), sid: new Map<string, number>(), kid: new Map<string, number>() };
  const subjects = new Map<string, { revokedBefore: number; expiresAt: number }>();
  let pruneAt = PRUNE_FLOOR;

  const live = (expiresAt: number | undefined) => expiresAt !== undefined && expiresAt > clock.now();
  const size = () => byKind.jti.size + byKind.sid.size + byKind.kid.size + subjects.size;

  const prune = (): void => {
    const now = clock.now();
    for (const map of Object.values(byKind)) for (const [value, expiresAt] of map) if (expiresAt <= now) map.delete(value);
    for (const [value, subject] of subjects) if (subject.expiresAt <= now) subjects.delete(value);
    pruneAt = Math.max(PRUNE_FLOOR, size() * 2);
  };

  return {
    /** Idempotent: adding an entry twice, or out of order, leaves the strictest state. */
    add(entry: RevocationEntry): void {
      if (size() >= pruneAt) prune();
      if (entry.kind === 'sub') {
        const current = subjects.get(entry.value);
        subjects.set(entry.value, {
          revokedBefore: Math.max(entry.revokedBefore, current?.revokedBefore ?? 0),
          expiresAt: Math.max(entry.expiresAt, current?.expiresAt ?? 0),
        });
        return;
      }
      const map = byKind[entry.kind];
      map.set(entry.value, Math.max(entry.expiresAt, map.get(entry.value) ?? 0));
    },

    isRevoked(claims: RevocableClaims, kid: string | undefined): boolean {
      if (claims.jti !== undefined && live(byKind.jti.get(claims.jti))) return true;
      if (typeof claims.sid === 'string' && live(byKind.sid.get(claims.sid))) return true;
      if (kid !== undefined && live(byKind.kid.get(kid))) return true;
      if (claims.sub !== undefined) {
        const subject = subjects.get(claims.sub);
        if (subject && live(subject.expiresAt) && (claims.iat ?? 0) * 1000 < subject.revokedBefore) return true;
      }
      return false;
    },

    /** Drops entries that can no longer kill anything. */
    prune,

    /** The entries in force, one for each value (the strictest of those added). */
    entries(): RevocationEntry[] {
      const now = clock.now();
      const entries: RevocationEntry[] = [];
      for (const [kind, map] of Object.entries(byKind) as ['jti' | 'sid' | 'kid', Map<string, number>][]) {
        for (const [value, expiresAt] of map) if (expiresAt > now) entries.push({ kind, value, expiresAt });
      }
      for (const [value, { revokedBefore, expiresAt }] of subjects) {
        if (expiresAt > now) entries.push({ kind: 'sub', value, revokedBefore, expiresAt });
      }
      return entries;
    },

    get size(): number {
      return size();
    },
  };
}
