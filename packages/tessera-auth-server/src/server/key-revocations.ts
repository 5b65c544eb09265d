import type { AuthTokens, Clock } from 'tessera-auth';
import type { KeyRing } from 'tessera-auth/tokens';

/** How often the ring is looked at (the key directory itself is reread every two seconds). */
const CHECK_MS = 1000;
/** A revoked key's entry is renewed this often (it lives an hour or more): while the key file says revoked, it never lapses. */
const RENEW_MS = 20 * 60_000;

/**
 * Puts each revoked key of the ring on the revocation list, so a service that verifies from the
 * JWKS and follows the revocation stream refuses the key's tokens at once, not at its next JWKS
 * refresh, and renews the entry for as long as the key stays revoked: a stolen key signs new
 * tokens whenever its thief likes. Every instance announces what it sees (the entries are
 * idempotent), a key still revoked at a restart again; a failed write is retried on the next look.
 */
export function announceRevokedKeys(ring: KeyRing, tokens: AuthTokens, clock: Clock): { ready: Promise<void>; close(): void } {
  const announcedAt = new Map<string, number>();
  let looking: Promise<void> | undefined;
  const look = () =>
    (looking ??= (async () => {
      for (const { key, status } of ring.entries) {
        const last = announcedAt.get(key.kid);
        if (status !== 'revoked' || (last !== undefined && clock.now() - last < RENEW_MS)) continue;
        await tokens.revokeKey(key.kid);
        announcedAt.set(key.kid, clock.now());
      }
    })().finally(() => (looking = undefined)));
  const timer = setInterval(() => void look().catch(() => {}), CHECK_MS);
  timer.unref();
  return { ready: look(), close: () => clearInterval(timer) };
}
