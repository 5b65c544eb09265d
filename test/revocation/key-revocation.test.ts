import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import express from 'express';
import { createAuth } from '../../packages/tessera-auth/src/core/create-auth.js';
import { createRevocationMirror } from '../../packages/tessera-auth/src/revocation/revocation-mirror.js';
import { bearer, requireAuth } from '../../packages/tessera-auth/src/adapters/express.js';
import { createMemoryStore } from '../../packages/tessera-auth/src/stores/memory.js';
import { createRedisStore } from '../../packages/tessera-auth/src/stores/redis.js';
import {
  createKeyRing,
  createRemoteKeySet,
  createTokenIssuer,
  createVerifier,
  generateJwk,
  importKey,
  type TokenKey,
} from '../../packages/tessera-auth/src/tokens/index.js';
import { frozenClock } from '../helpers/clock.js';
import { Client } from '../helpers/http-client.js';
import { listen } from '../helpers/listen.js';
import { useRedis, waitUntilUp } from '../helpers/redis.js';

const ISSUER = 'https://id.example';

// A service that verifies from a JWKS it fetched earlier still holds a revoked key: the `kid` entry
// on the revocation list is what kills the key's tokens there, cached verifications included.
it('a kid revocation kills every token the key signed, fresh or cached, and no other', async () => {
  const [old, fresh] = [importKey({ alg: 'EdDSA', key: generateJwk('EdDSA') }), importKey({ alg: 'EdDSA', key: generateJwk('EdDSA') })];
  const ring = createKeyRing([
    { key: old, status: 'active' },
    { key: fresh, status: 'next' },
  ]);
  const issue = () =>
    createTokenIssuer({ keys: ring, issuer: ISSUER, ttlSeconds: 300 }).issue({ sub: 'u1', aud: ISSUER, claims: { sid: 's1' } }).token;
  const revocations = createRevocationMirror({ store: createMemoryStore() });
  await revocations.ensureLoaded();
  const app = express();
  app.use(bearer({ verify: createVerifier({ keys: ring, typ: 'at+jwt', issuer: ISSUER, audience: ISSUER }), revocations }));
  app.get('/orders', requireAuth(), (_req, res) => res.json({ ok: true }));
  const { server, url } = await listen(app);
  try {
    const signedByOld = new Client(url, { authorization: `Bearer ${issue()}` });
    assert.equal((await signedByOld.get('/orders')).status, 200, 'verified once, and cached');
    await revocations.add({ kind: 'kid', value: old.kid, expiresAt: Date.now() + 60_000 });
    const refused = await signedByOld.get('/orders');
    assert.equal(refused.status, 401);
    assert.equal(refused.body.code, 'token_revoked');
    assert.equal((await new Client(url, { authorization: `Bearer ${issue()}` }).get('/orders')).status, 401, 'a fresh one too');
    ring.update([
      { key: old, status: 'retiring', notAfter: Date.now() + 60_000 },
      { key: fresh, status: 'active' },
    ]);
    assert.equal((await new Client(url, { authorization: `Bearer ${issue()}` }).get('/orders')).status, 200, 'the new key signs on');
  } finally {
    server.close();
  }
});

describe('a revoked key leaves every key set on the revocation event (two processes on one Redis)', () => {
  const redisFor = useRedis();
  const newKey = () => importKey({ alg: 'EdDSA', key: generateJwk('EdDSA') });
  const kidsOf = (jwks: { keys: { kid: string }[] }) => jwks.keys.map((key) => key.kid);

  it('attack: a resource service refuses the stolen key after its entry expired, though a stale JWKS still lists it', async (t) => {
    const redis = redisFor(t);
    if (!redis) return;
    const stolen = newKey();
    const thief = createKeyRing([{ key: stolen, status: 'active' }]);
    const forge = () =>
      createTokenIssuer({ keys: thief, issuer: ISSUER, ttlSeconds: 300 }).issue({ sub: 'u1', aud: ISSUER, claims: { roles: ['admin'] } })
        .token;
    // A JWKS that goes on listing the key: a cache in front of the identity server, an instance not yet reloaded.
    const staleJwks = await listen((_req, res) =>
      res.setHeader('content-type', 'application/json').end(JSON.stringify(thief.jwks(Date.now()))),
    );
    const [identityStore, serviceStore] = [createRedisStore({ url: redis.url }), createRedisStore({ url: redis.url })];
    const clock = frozenClock(Date.now());
    const identity = createRevocationMirror({ store: identityStore });
    const revocations = createRevocationMirror({ store: serviceStore, clock });
    const remoteKeys = createRemoteKeySet({ url: staleJwks.url, cooldownMs: 0 });
    const app = express();
    app.use(
      bearer({
        verify: createVerifier({ keys: remoteKeys.ring, typ: 'at+jwt', issuer: ISSUER, audience: ISSUER }),
        remoteKeys,
        revocations,
      }),
    );
    app.get('/orders', requireAuth(), (_req, res) => res.json({ ok: true }));
    const service = await listen(app);
    const orders = async () => (await new Client(service.url, { authorization: `Bearer ${forge()}` }).get('/orders')).status;
    try {
      await Promise.all([identityStore, serviceStore].map(waitUntilUp));
      await Promise.all([identity.ensureLoaded(), remoteKeys.refresh()]);
      assert.equal(await orders(), 200, 'the stolen key verifies before its revocation');

      const heard = once(revocations.events, 'revocation');
      await identity.add({ kind: 'kid', value: stolen.kid, expiresAt: clock.now() + 3_600_000 });
      await heard;
      assert.deepEqual(kidsOf(remoteKeys.ring.jwks(Date.now())), [], 'dropped on the event');
      assert.equal(await orders(), 401);

      clock.advance(3_600_001);
      revocations.prune();
      assert.equal(revocations.isRevoked({ jti: 'j', sub: 'u1' }, stolen.kid), false, 'the entry itself has expired');
      await remoteKeys.refresh();
      assert.equal(await orders(), 401, 'the refetched JWKS does not bring the key back');
    } finally {
      service.close();
      staleJwks.close();
      identity.close();
      revocations.close();
      await Promise.all([identityStore.close(), serviceStore.close()]);
    }
  });

  it('an identity server instance stops publishing and signing with a key revoked at another, on the event', async (t) => {
    const redis = redisFor(t);
    if (!redis) return;
    const [compromised, successor] = [newKey(), newKey()];
    const ringOf = (): ReturnType<typeof createKeyRing> =>
      createKeyRing([
        { key: compromised, status: 'active' },
        { key: successor, status: 'next' },
      ]);
    const stores = [createRedisStore({ url: redis.url }), createRedisStore({ url: redis.url })];
    const rings = [ringOf(), ringOf()];
    const [a, b] = stores.map((store, i) => createAuth({ strategy: 'stateless', store, tokens: { keys: rings[i]!, issuer: ISSUER } }));
    try {
      await Promise.all(stores.map(waitUntilUp));
      await Promise.all([a!.ready(), b!.ready()]);
      const kids = (key: TokenKey) => key.kid;
      assert.deepEqual(kidsOf(rings[1]!.jwks(Date.now())).sort(), [compromised, successor].map(kids).sort());
      const heard = Promise.all([a, b].map((auth) => once(auth!.tokens!.events, 'revocation')));
      await a!.tokens!.revokeKey(compromised.kid);
      await heard;
      for (const ring of rings) {
        assert.deepEqual(kidsOf(ring.jwks(Date.now())), [successor.kid]);
        assert.throws(() => ring.signingKey(), 'no instance signs with it, before any reload');
      }
    } finally {
      a!.close();
      b!.close();
      await Promise.all(stores.map((store) => store.close()));
    }
  });
});
