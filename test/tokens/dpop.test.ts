import assert from 'node:assert/strict';
import { createHash, KeyObject, randomBytes, randomUUID, sign } from 'node:crypto';
import { describe, it } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { DpopProofError, UseDpopNonceError } from '../../packages/tessera-auth/src/base/errors.js';
import { toProblem } from '../../packages/tessera-auth/src/http/problem.js';
import { createDpopNonces, createDpopVerifier } from '../../packages/tessera-auth/src/tokens/index.js';
import { frozenClock } from '../helpers/clock.js';
import { handSignedRsaProof, oddRsaKey, rsaThumbprint } from '../helpers/odd-rsa-key.js';

const URL_ = 'https://api.example/orders';
const TOKEN = 'an-access-token';
const ath = (token: string) => createHash('sha256').update(token).digest('base64url');

interface Holder {
  readonly alg: 'EdDSA' | 'Ed25519' | 'ES256' | 'RS256';
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
}

async function holder(alg: Holder['alg'] = 'ES256'): Promise<Holder> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { alg, privateKey, jwk: await exportJWK(publicKey) };
}

/** A proof as an independent client library (jose) makes it; `change` alters it for an attack. */
async function proof(
  who: Holder,
  claims: Record<string, unknown> = {},
  header: Record<string, unknown> = {},
  signWith: CryptoKey = who.privateKey,
): Promise<string> {
  return new SignJWT({ jti: randomUUID(), htm: 'GET', htu: URL_, iat: Math.floor(Date.now() / 1000), ath: ath(TOKEN), ...claims })
    .setProtectedHeader({ typ: 'dpop+jwt', alg: who.alg, jwk: who.jwk, ...header } as never)
    .sign(signWith);
}

const request = { method: 'GET', url: URL_, accessToken: TOKEN };
/** Makes the proof, then checks that `verify` refuses it for `request`. */
async function refuses(verify: (proof: string, req: typeof request) => unknown, making: Promise<string>, why: (error: unknown) => boolean) {
  const made = await making;
  assert.throws(() => verify(made, request), why);
}
const refusedBecause = (reason: RegExp) => (error: unknown) => error instanceof DpopProofError && reason.test(error.message);

describe('DPoP proofs (RFC 9449 §4.3)', () => {
  it('accepts a proof from jose for each allowed algorithm, and names its key', async () => {
    const verify = createDpopVerifier();
    for (const alg of ['EdDSA', 'Ed25519', 'ES256', 'RS256'] as const) {
      const who = await holder(alg);
      const { jkt } = verify(await proof(who), request);
      const { kty, crv, x, y, e, n } = who.jwk;
      const members = kty === 'RSA' ? { e, kty, n } : kty === 'EC' ? { crv, kty, x, y } : { crv, kty, x };
      assert.equal(
        jkt,
        createHash('sha256').update(JSON.stringify(members)).digest('base64url'),
        `${alg}: cnf.jkt is the RFC 7638 thumbprint`,
      );
    }
  });

  it('compares htu without query and fragment, after normalising the URL', async () => {
    const verify = createDpopVerifier();
    const who = await holder();
    assert.ok(verify(await proof(who, { htu: 'HTTPS://API.example:443/orders' }), { ...request, url: `${URL_}?page=2#top` }).jkt);
  });

  it('refuses a bound token replayed without a proof, or with a garbled one', async () => {
    const verify = createDpopVerifier();
    assert.throws(() => verify(undefined, request), refusedBecause(/no DPoP header/));
    assert.throws(() => verify('a.b', request), refusedBecause(/not a JWS/));
    assert.throws(() => verify(`${'x'.repeat(5000)}.a.b`, request), refusedBecause(/too long/));
  });

  it('refuses the wrong typ, a symmetric or unlisted algorithm, crit, and a key that is not public', async () => {
    const verify = createDpopVerifier({ algorithms: ['ES256', 'EdDSA'] });
    const who = await holder();
    await refuses(verify, proof(who, {}, { typ: 'JWT' }), refusedBecause(/typ/));
    const rsa = await holder('RS256');
    await refuses(verify, proof(rsa), refusedBecause(/algorithm not allowed/));
    const secret = new TextEncoder().encode('a shared secret of thirty-two bytes!');
    const hs = await new SignJWT({ jti: randomUUID(), htm: 'GET', htu: URL_, iat: Math.floor(Date.now() / 1000) })
      .setProtectedHeader({ typ: 'dpop+jwt', alg: 'HS256', jwk: { kty: 'oct', k: Buffer.from(secret).toString('base64url') } } as never)
      .sign(secret);
    assert.throws(() => verify(hs, request), refusedBecause(/algorithm not allowed/));
    // jose will not sign an unknown crit: this one is made by hand, as an attacker would.
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const input = `${encode({ typ: 'dpop+jwt', alg: 'ES256', jwk: who.jwk, crit: ['x-anything'], 'x-anything': 1 })}.${encode({ jti: randomUUID(), htm: 'GET', htu: URL_, iat: Math.floor(Date.now() / 1000), ath: ath(TOKEN) })}`;
    const signature = sign('sha256', Buffer.from(input), { key: KeyObject.from(who.privateKey), dsaEncoding: 'ieee-p1363' }).toString(
      'base64url',
    );
    assert.throws(() => verify(`${input}.${signature}`, request), refusedBecause(/crit/));
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const leaked = await exportJWK(privateKey);
    await refuses(verify, proof(who, {}, { jwk: leaked }), refusedBecause(/public key/));
    await refuses(verify, proof(who, {}, { jwk: (await holder('EdDSA')).jwk }), refusedBecause(/fit the algorithm/));
  });

  it('attack: refuses working RSA keys no client has (a huge exponent, e = 3, under 2048 or over 4096 bits), and takes those clients have', () => {
    const verify = createDpopVerifier();
    const proofOf = (key: ReturnType<typeof oddRsaKey>) => handSignedRsaProof(key, { htm: 'GET', htu: URL_, ath: ath(TOKEN) });
    for (const bits of [2048, 3072, 4096]) {
      const key = oddRsaKey(bits);
      assert.equal(verify(proofOf(key), request).jkt, rsaThumbprint(key.publicJwk), `${bits} bits`);
    }
    const odd = {
      'a 3071-bit exponent': oddRsaKey(3072, 'huge'),
      'e = 3': oddRsaKey(2048, 3n),
      '1024 bits': oddRsaKey(1024),
      '4160 bits': oddRsaKey(4160),
    };
    for (const [what, key] of Object.entries(odd)) {
      assert.throws(() => verify(proofOf(key), request), refusedBecause(/e = 65537 and 2048 to 4096 bits/), what);
    }
  });

  it('refuses a proof signed by another key than the one it names', async () => {
    const verify = createDpopVerifier();
    const [victim, thief] = [await holder(), await holder()];
    // The thief names the victim's key (whose thumbprint the token is bound to) but cannot sign with it.
    await refuses(verify, proof(victim, {}, {}, thief.privateKey), refusedBecause(/signature/));
    // Also once the victim's header is known (its key kept imported): every proof's signature is checked.
    verify(await proof(victim), request);
    await refuses(verify, proof(victim, {}, {}, thief.privateKey), refusedBecause(/signature/));
  });

  it('refuses a proof for another method, another URL, another token, or with a stale or future iat', async () => {
    const verify = createDpopVerifier();
    const who = await holder();
    const now = Math.floor(Date.now() / 1000);
    await refuses(verify, proof(who, { htm: 'POST' }), refusedBecause(/htm/));
    await refuses(verify, proof(who, { htu: 'https://api.example/admin' }), refusedBecause(/htu/));
    await refuses(verify, proof(who, { htu: 'https://evil.example/orders' }), refusedBecause(/htu/));
    await refuses(verify, proof(who, { ath: ath('another token') }), refusedBecause(/ath/));
    await refuses(verify, proof(who, { ath: undefined }), refusedBecause(/ath/));
    await refuses(verify, proof(who, { iat: now - 120 }), refusedBecause(/iat/));
    await refuses(verify, proof(who, { iat: now + 60 }), refusedBecause(/iat/));
    await refuses(verify, proof(who, { iat: String(now) }), refusedBecause(/iat/));
  });

  it('refuses a replayed proof, but not one refused earlier for another reason', async () => {
    const verify = createDpopVerifier();
    const who = await holder();
    const once = await proof(who);
    assert.throws(() => verify(once, { ...request, method: 'POST' }), refusedBecause(/htm/));
    assert.ok(verify(once, request).jkt);
    assert.throws(() => verify(once, request), refusedBecause(/replayed/));
  });

  it('asks for its nonce, accepts it at any instance with the secret, and refuses a forged or expired one', async () => {
    const secret = randomBytes(32);
    const clock = frozenClock(Date.now());
    const nonces = createDpopNonces({ secret, clock });
    const [here, there] = [
      createDpopVerifier({ nonces, clock }),
      createDpopVerifier({ nonces: createDpopNonces({ secret, clock }), clock }),
    ];
    const who = await holder();
    const iat = () => Math.floor(clock.now() / 1000);
    let asked: UseDpopNonceError | undefined;
    await refuses(here, proof(who, { iat: iat() }), (error) => (asked = error as UseDpopNonceError) instanceof UseDpopNonceError);
    const problem = toProblem(asked);
    assert.equal(problem.status, 401);
    assert.equal(problem.headers['www-authenticate'], 'DPoP error="use_dpop_nonce"');
    assert.equal(problem.headers['dpop-nonce'], nonces.current());
    assert.ok(there(await proof(who, { iat: iat(), nonce: asked!.nonce }), request).jkt, 'another instance accepts it');
    const forged = createDpopNonces({ secret: randomBytes(32), clock }).current();
    await refuses(here, proof(who, { iat: iat(), nonce: forged }), (error) => error instanceof UseDpopNonceError);
    clock.advance(125_000); // two windows later
    await refuses(here, proof(who, { iat: iat(), nonce: asked!.nonce }), (error) => error instanceof UseDpopNonceError);
  });

  it('answers an invalid proof with the DPoP challenge', () => {
    const problem = toProblem(new DpopProofError('replayed'), 'bearer');
    assert.equal(problem.status, 401);
    assert.equal(problem.headers['www-authenticate'], 'DPoP error="invalid_dpop_proof"');
    assert.equal(problem.body.code, 'invalid_dpop_proof');
  });
});
