import type { RevocationMirror } from './revocation-mirror.js';

/**
 * Calls `revokeKey` for each key the revocation list names: those in it once it is loaded, then
 * each one as it arrives. A key ring or a remote key set drops the key on the event, not at its
 * next reload or refetch, and keeps it out after the entry itself has expired.
 */
export function followRevokedKeys(mirror: RevocationMirror, revokeKey: (kid: string) => void): void {
  const fromSnapshot = () => {
    for (const entry of mirror.snapshot().entries) if (entry.kind === 'kid') revokeKey(entry.value);
  };
  mirror.events.on('revocation', (entry) => {
    if (entry.kind === 'kid') revokeKey(entry.value);
  });
  if (mirror.loaded) fromSnapshot();
  else mirror.events.once('loaded', fromSnapshot);
}
