import assert from 'node:assert/strict';
import { it } from 'node:test';
import express from 'express';
import { createRevocationMirror } from '../../packages/tessera-auth/src/revocation/revocation-mirror.js';
import { bearer, requireAuth } from '../../packages/tessera-auth/src/adapters/express.js';
import { createMemoryStore } from '../../packages/tessera-auth/src/stores/memory.js';
import { createKeyRing, createTokenIssuer, createVerifier, generateJwk, importKey } from '../../packages/tessera-auth/src/tokens/index.js';
import { Client } from '../helpers/http-client.js';
import { listen } from '../helpers/listen.js';

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
