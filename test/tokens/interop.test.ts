import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, it, type TestContext } from 'node:test';
import * as jose from 'jose';
import {
  createKeyRing,
  createTokenIssuer,
  createVerifier,
  generateJwk,
  importKey,
  type Algorithm,
} from '../../packages/tessera-auth/src/tokens/index.js';
import { AUDIENCE, ISSUER } from './forge.js';

/** Debian's interpreter, where Debian's python3-jwt lives (not whatever python3 is first on PATH). */
const PYTHON = '/usr/bin/python3';
const hasPyJwt = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import jwt, cryptography']).status === 0;

function requirePyJwt(t: TestContext): boolean {
  if (hasPyJwt) return true;
  if (process.env.CI) throw new Error('PyJWT (apt-get install python3-jwt python3-cryptography) is required under CI.');
  t.skip('PyJWT is not installed');
  return false;
}

function pyjwt(request: Record<string, unknown>): Record<string, unknown> {
  const result = spawnSync(PYTHON, ['test/tokens/pyjwt.py'], { input: JSON.stringify(request), encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`PyJWT failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

const ASYMMETRIC: Algorithm[] = ['EdDSA', 'ES256', 'RS256'];

function tesseraSide(alg: Algorithm) {
  const jwk = generateJwk(alg);
  const key = importKey({ alg, key: jwk, kid: jwk.kid });
  const keys = createKeyRing([{ key, status: 'active' }]);
  return {
    jwk,
    keys,
    issue: () =>
      createTokenIssuer({ keys, issuer: ISSUER, ttlSeconds: 300 }).issue({ sub: 'user-1', aud: AUDIENCE, claims: { roles: ['user'] } })
        .token,
    verify: createVerifier({ keys, typ: 'at+jwt', issuer: ISSUER, audience: AUDIENCE }),
  };
}

const peerClaims = () => {
  const now = Math.floor(Date.now() / 1000);
  return { iss: ISSUER, sub: 'user-2', aud: AUDIENCE, iat: now, exp: now + 300, jti: 'peer' };
};

describe('interoperability with jose', () => {
  for (const alg of [...ASYMMETRIC, 'HS256', 'HS512'] as Algorithm[]) {
    it(`${alg}: Tessera's tokens verify under jose (from Tessera's JWKS), and jose's under Tessera`, async () => {
      const side = tesseraSide(alg);
      const token = side.issue();
      const joseKey = alg.startsWith('HS')
        ? Buffer.from(side.jwk.k!, 'base64url')
        : jose.createLocalJWKSet(side.keys.jwks(Date.now()) as jose.JSONWebKeySet);
      const { payload, protectedHeader } = await jose.jwtVerify(token, joseKey as Parameters<typeof jose.jwtVerify>[1], {
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: [alg],
        typ: 'at+jwt',
      });
      assert.equal(payload.sub, 'user-1');
      assert.equal(protectedHeader.kid, side.jwk.kid);

      const signingKey = await jose.importJWK(side.jwk, alg);
      const theirs = await new jose.SignJWT(peerClaims()).setProtectedHeader({ alg, kid: side.jwk.kid, typ: 'at+jwt' }).sign(signingKey);
      assert.equal(side.verify(theirs).sub, 'user-2');
    });
  }
});

describe('tokens from issuers that set no typ (most examples, RFC 7515 A.3 among them)', () => {
  it('verify with typ: null; a token typed as another kind is still refused; a missing typ option is a configuration error', async () => {
    const side = tesseraSide('ES256');
    const key = await jose.importJWK(side.jwk, 'ES256');
    const signed = (typ?: string) =>
      new jose.SignJWT(peerClaims()).setProtectedHeader({ alg: 'ES256', kid: side.jwk.kid, ...(typ && { typ }) }).sign(key);
    const [none, generic, typed] = await Promise.all([signed(), signed('JWT'), signed('at+jwt')]);
    const untyped = createVerifier({ keys: side.keys, typ: null, issuer: ISSUER, audience: AUDIENCE });
    assert.equal(untyped(none).sub, 'user-2');
    assert.equal(untyped(generic).sub, 'user-2', 'the generic JWT type names no kind');
    assert.throws(() => untyped(typed), { code: 'token_claim_invalid' });
    assert.throws(() => side.verify(none), { code: 'token_claim_invalid' }, 'an access-token verifier still wants at+jwt');
    assert.throws(() => createVerifier({ keys: side.keys, typ: undefined as unknown as string }), {
      code: 'invalid_config',
      message: /or be null/,
    });
  });
});

describe('interoperability with PyJWT (Debian python3-jwt)', () => {
  for (const alg of ASYMMETRIC) {
    it(`${alg}: Tessera's tokens verify under PyJWT fed from Tessera's JWKS, and PyJWT's under Tessera`, (t) => {
      if (!requirePyJwt(t)) return;
      const side = tesseraSide(alg);
      const verified = pyjwt({
        op: 'verify',
        jwks: side.keys.jwks(Date.now()),
        token: side.issue(),
        alg,
        issuer: ISSUER,
        audience: AUDIENCE,
      });
      assert.equal((verified.claims as { sub: string }).sub, 'user-1');

      const signed = pyjwt({ op: 'sign', jwk: side.jwk, alg, claims: peerClaims() });
      assert.equal(side.verify(signed.token).sub, 'user-2');
    });
  }

  it("HS512, the seeds' algorithm, with a shared secret", (t) => {
    if (!requirePyJwt(t)) return;
    const side = tesseraSide('HS512');
    const signed = pyjwt({ op: 'sign', jwk: side.jwk, alg: 'HS512', claims: peerClaims() });
    assert.equal(side.verify(signed.token).sub, 'user-2');
  });
});
