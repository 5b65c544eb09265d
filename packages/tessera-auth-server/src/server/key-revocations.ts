import type { AuthTokens } from 'tessera-auth';
import type { KeyRing } from 'tessera-auth/tokens';

/** How often the ring is looked at (the key directory itself is reread every two seconds). */
const CHECK_MS = 1000;

/**
 * Puts each revoked key of the ring on the revocation list, so a service that verifies from the
 * JWKS and follows the revocation stream refuses the key's tokens at once, not at its next JWKS
 * refresh. Every instance announces what it sees (the entries are idempotent), a key still revoked
 * at a restart again; a failed write is retried on the next look.
 */
export function announceRevokedKeys(ring: KeyRing, tokens: AuthTokens): { ready: Promise<void>; close(): void } {
  const announced = new Set<string>();
  let looking: Promise<void> | undefined;
  const look = () =>
    (looking ??= (async () => {
      for (const { key, status } of ring.entries) {
        if (status !== 'revoked' || announced.has(key.kid)) continue;
        await tokens.revokeKey(key.kid);
        announced.add(key.kid);
      }
    })().finally(() => (looking = undefined)));
  const timer = setInterval(() => void look().catch(() => {}), CHECK_MS);
  timer.unref();
  return { ready: look(), close: () => clearInterval(timer) };
}
