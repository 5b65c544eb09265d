import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAuth, createMemoryStore } from 'tessera-auth';
import { createKeyRing, generateJwk, importKey } from 'tessera-auth/tokens';

/**
 * What an application can reach on an Auth object is what the `Auth` interface declares: the
 * session manager, the hybrid runtime, the verifier and the in-memory revocation list are not on
 * it, so nothing can change one instance's list without the store and the feed.
 */
describe('the public Auth object', () => {
  const keys = createKeyRing([{ key: importKey({ alg: 'EdDSA', key: generateJwk('EdDSA') }), status: 'active' }]);

  it('has exactly the declared members, for every strategy', () => {
    for (const strategy of ['stateful', 'stateless', 'hybrid'] as const) {
      const auth = createAuth({ strategy, store: createMemoryStore(), tokens: { keys, issuer: 'https://id.test' } });
      assert.deepEqual(Object.keys(auth).sort(), [
        'capSessions',
        'clock',
        'close',
        'cookie',
        'credentialGeneration',
        'endSession',
        'events',
        'onError',
        'ready',
        'refreshCookie',
        'revocationEvents',
        'revokeUser',
        'store',
        'strategy',
        'tokens',
        'trustedOrigins',
      ]);
      assert.deepEqual(Object.keys(auth.tokens!).sort(), [
        'audience',
        'clientId',
        'cookie',
        'dpop',
        'ensureLoaded',
        'events',
        'feedSilenceSeconds',
        'isStale',
        'issueForClient',
        'issueService',
        'issuer',
        'revocationSnapshot',
        'revoke',
        'revokeKey',
        'ttlSeconds',
        'verified',
      ]);
      auth.close();
    }
  });

  it('revokes only through the store: an entry added with auth.tokens.revoke is durable', async () => {
    const store = createMemoryStore();
    const auth = createAuth({ strategy: 'stateless', store, tokens: { keys, issuer: 'https://id.test' } });
    await auth.ready();
    await auth.tokens!.revoke({ kind: 'jti', value: 'stolen', expiresAt: Date.now() + 60_000 });
    assert.deepEqual(
      (await store.revocations.list(Date.now())).map((entry) => entry.value),
      ['stolen'],
    );
    auth.close();
  });
});
