import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../packages/tessera-auth/src/base/errors.js';
import { createKeyRing, createVerifier, generateJwk, importKey } from '../../packages/tessera-auth/src/tokens/index.js';
import { frozenClock } from '../helpers/clock.js';
import { AUDIENCE, forge, hmacWith, ISSUER } from './forge.js';

const NOW = 2_000_000_000; // seconds
const key = importKey({ alg: 'HS256', kid: 'k1', key: Buffer.alloc(32, 7) });
const keys = createKeyRing([{ key, status: 'active' }]);
const header = { alg: 'HS256', kid: 'k1', typ: 'at+jwt' };
const sign = (claims: Record<string, unknown>) =>
  forge(header, { iss: ISSUER, sub: 'u1', aud: AUDIENCE, exp: NOW + 60, ...claims }, hmacWith(Buffer.alloc(32, 7)));

function verifierAt(seconds: number, options: { leewaySeconds?: number; cacheSize?: number } = {}) {
  const clock = frozenClock(seconds * 1000);
  const verify = createVerifier({
    keys,
    typ: 'at+jwt',
    issuer: ISSUER,
    audience: [AUDIENCE, 'other'],
    leewaySeconds: 0,
    cacheSize: 0,
    clock,
    ...options,
  });
  return { verify, clock };
}

const code = (fn: () => unknown) => {
  try {
    fn();
    return 'ok';
  } catch (error) {
    return (error as { code: string }).code;
  }
};

describe('claims', () => {
  it('exp is exclusive: valid one second before, dead at that second', () => {
    assert.equal(
      code(() => verifierAt(NOW + 59).verify(sign({}))),
      'ok',
    );
    assert.equal(
      code(() => verifierAt(NOW + 60).verify(sign({}))),
      'token_expired',
    );
  });

  it('leeway extends exp, nbf and iat by at most the configured seconds', () => {
    assert.equal(
      code(() => verifierAt(NOW + 64, { leewaySeconds: 5 }).verify(sign({}))),
      'ok',
    );
    assert.equal(
      code(() => verifierAt(NOW + 65, { leewaySeconds: 5 }).verify(sign({}))),
      'token_expired',
    );
    assert.equal(
      code(() => verifierAt(NOW, { leewaySeconds: 5 }).verify(sign({ nbf: NOW + 5 }))),
      'ok',
    );
    assert.equal(
      code(() => verifierAt(NOW, { leewaySeconds: 5 }).verify(sign({ nbf: NOW + 6 }))),
      'token_not_yet_valid',
    );
    assert.equal(
      code(() => verifierAt(NOW, { leewaySeconds: 5 }).verify(sign({ iat: NOW + 6 }))),
      'token_claim_invalid',
    );
    assert.throws(() => createVerifier({ keys, typ: 'at+jwt', leewaySeconds: 61 }), ConfigError);
  });

  it('numeric claims must be numbers, and exp and sub are required', () => {
    const { verify } = verifierAt(NOW);
    assert.equal(
      code(() => verify(sign({ exp: String(NOW + 60) }))),
      'token_claim_invalid',
    );
    assert.equal(
      code(() => verify(sign({ nbf: '0' }))),
      'token_claim_invalid',
    );
    assert.equal(
      code(() => verify(sign({ iat: null }))),
      'token_claim_invalid',
    );
    assert.equal(
      code(() => verify(sign({ exp: undefined }))),
      'token_claim_invalid',
    );
    assert.equal(
      code(() => verify(sign({ sub: undefined }))),
      'token_claim_invalid',
    );
    assert.equal(
      code(() => verify(sign({ sub: 7 }))),
      'token_claim_invalid',
    );
  });

  it('iss must match and aud must name an accepted audience', () => {
    const { verify } = verifierAt(NOW);
    assert.equal(
      code(() => verify(sign({ iss: 'https://evil.example' }))),
      'token_claim_invalid',
    );
    assert.equal(
      code(() => verify(sign({ aud: 'billing' }))),
      'token_claim_invalid',
    );
    assert.equal(
      code(() => verify(sign({ aud: ['billing', 'other'] }))),
      'ok',
    );
    assert.equal(
      code(() => verify(sign({ aud: ['billing', 7] }))),
      'token_claim_invalid',
    );
    assert.equal(
      code(() => verify(sign({ aud: undefined }))),
      'token_claim_invalid',
    );
  });

  it('verified claims are frozen, so no caller can alter what another sees', () => {
    const claims = verifierAt(NOW).verify(sign({ aud: [AUDIENCE] }));
    assert.ok(Object.isFrozen(claims) && Object.isFrozen(claims.aud));
  });
});

describe('verified-token cache', () => {
  it('returns the claims of a fresh verification', () => {
    const { verify } = verifierAt(NOW, { cacheSize: 100 });
    const token = sign({ roles: ['user'] });
    assert.deepEqual(verify(token), verify(token));
  });

  it('never serves a token past its exp', () => {
    const { verify, clock } = verifierAt(NOW, { cacheSize: 100 });
    const token = sign({});
    verify(token);
    clock.advance(60_000);
    assert.equal(
      code(() => verify(token)),
      'token_expired',
    );
  });

  it('drops a token when its key is revoked or replaced', () => {
    const ring = createKeyRing([{ key, status: 'active' }]);
    const verify = createVerifier({ keys: ring, typ: 'at+jwt', issuer: ISSUER, audience: AUDIENCE, clock: frozenClock(NOW * 1000) });
    const token = sign({});
    verify(token);
    ring.update([{ key, status: 'revoked' }]);
    assert.equal(
      code(() => verify(token)),
      'token_revoked',
    );
    const sameKidNewSecret = importKey({ alg: 'HS256', kid: 'k1', key: Buffer.alloc(32, 9) });
    ring.update([{ key: sameKidNewSecret, status: 'active' }]);
    assert.equal(
      code(() => verify(token)),
      'token_signature',
    );
  });

  it('a retiring key verifies until its notAfter, then nothing it signed passes, cached or not', () => {
    const ring = createKeyRing([{ key, status: 'retiring', notAfter: (NOW + 30) * 1000 }]);
    const clock = frozenClock(NOW * 1000);
    const verify = createVerifier({ keys: ring, typ: 'at+jwt', issuer: ISSUER, audience: AUDIENCE, clock });
    const token = sign({});
    assert.equal(
      code(() => verify(token)),
      'ok',
    );
    clock.advance(30_000);
    assert.equal(
      code(() => verify(token)),
      'token_invalid',
    );
  });

  it('keeps failures out: a token refused for an unknown key verifies once the key arrives', () => {
    const ring = createKeyRing([]);
    const verify = createVerifier({ keys: ring, typ: 'at+jwt', issuer: ISSUER, audience: AUDIENCE, clock: frozenClock(NOW * 1000) });
    const token = sign({});
    assert.equal(
      code(() => verify(token)),
      'token_invalid',
    );
    ring.update([{ key, status: 'active' }]);
    assert.equal(
      code(() => verify(token)),
      'ok',
      'the refusal was not cached',
    );
  });
});

describe('key ring', () => {
  it('publishes next, active and retiring public keys; never secrets, never revoked keys', () => {
    const [next, active, retiring, revoked] = (['EdDSA', 'ES256', 'RS256', 'EdDSA'] as const).map((alg) =>
      importKey({ alg, key: generateJwk(alg) }),
    );
    const ring = createKeyRing([
      { key: next!, status: 'next' },
      { key: active!, status: 'active' },
      { key: retiring!, status: 'retiring', notAfter: Date.now() + 60_000 },
      { key: revoked!, status: 'revoked' },
      { key, status: 'retiring', notAfter: Date.now() + 60_000 },
    ]);
    const jwks = ring.jwks(Date.now());
    assert.deepEqual(jwks.keys.map((k) => k.kid).sort(), [next!.kid, active!.kid, retiring!.kid].sort());
    for (const jwk of jwks.keys) {
      assert.equal(jwk.use, 'sig');
      assert.ok(!('d' in jwk) && !('k' in jwk) && !('p' in jwk), 'no private material');
    }
    assert.equal(ring.signingKey(), active);
  });
});
