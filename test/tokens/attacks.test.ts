import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KeyInvalidError, TokenError } from '../../packages/tessera-auth/src/base/errors.js';
import { createKeyRing, createVerifier, importKey } from '../../packages/tessera-auth/src/tokens/index.js';
import { generateKeyPairObjects as generateKeyPairSync } from '../../packages/tessera-auth/src/tokens/keys.js';
import { forge, hmacWith, setup, signWith, validClaims } from './forge.js';

/** Asserts the verifier refuses `token` with a TokenError, and that the message leaks no part of it. */
function refused(verify: (token: unknown) => unknown, token: string, code?: string) {
  assert.throws(
    () => verify(token),
    (error: unknown) => {
      assert.ok(error instanceof TokenError, `expected a TokenError, got ${String(error)}`);
      if (code) assert.equal(error.code, code);
      for (const part of token.split('.')) if (part.length >= 8) assert.ok(!error.message.includes(part), 'the message echoes the token');
      return true;
    },
  );
}

describe('attacks on the token verifier', () => {
  it('a genuine token verifies (the baseline every attack departs from)', () => {
    for (const alg of ['EdDSA', 'ES256', 'RS256', 'HS256', 'HS512'] as const) {
      const { verify, issue } = setup(alg);
      assert.equal(verify(issue()).sub, 'user-1', alg);
    }
  });

  it('"none" in every spelling, with and without a signature', () => {
    const { verify, key } = setup('EdDSA');
    for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
      refused(verify, forge({ alg, typ: 'at+jwt' }, validClaims()), 'token_invalid');
      refused(
        verify,
        forge({ alg, kid: key.kid, typ: 'at+jwt' }, validClaims(), () => 'c2lnbmF0dXJl'),
        'token_invalid',
      );
    }
  });

  it('algorithm confusion: the public key in every encoding used as an HMAC secret', () => {
    for (const alg of ['EdDSA', 'ES256', 'RS256'] as const) {
      const { verify, key } = setup(alg);
      const publicKey = key.verificationKey;
      const spki = publicKey.export({ format: 'pem', type: 'spki' }).toString();
      const encodings: (string | Buffer)[] = [
        spki,
        spki.trimEnd(),
        `${spki}\n`,
        ` ${spki}`,
        publicKey.export({ format: 'der', type: 'spki' }),
        JSON.stringify(publicKey.export({ format: 'jwk' })),
      ];
      if (alg === 'RS256') {
        const pkcs1 = publicKey.export({ format: 'pem', type: 'pkcs1' }).toString();
        encodings.push(pkcs1, `${pkcs1}\n`, publicKey.export({ format: 'der', type: 'pkcs1' }));
      }
      for (const secret of encodings) {
        for (const hs of ['HS256', 'HS512'] as const) {
          const hash = hs === 'HS256' ? 'sha256' : 'sha512';
          refused(verify, forge({ alg: hs, kid: key.kid, typ: 'at+jwt' }, validClaims(), hmacWith(secret, hash)), 'token_invalid');
          refused(verify, forge({ alg: hs, typ: 'at+jwt' }, validClaims(), hmacWith(secret, hash)), 'token_invalid');
        }
      }
    }
  });

  it('a string is never accepted as an HMAC secret, so a PEM cannot become one by configuration', () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const pem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
    assert.throws(() => importKey({ alg: 'HS256', kid: 'k', key: pem }), KeyInvalidError);
    assert.throws(() => importKey({ alg: 'HS256', kid: 'k', key: publicKey }), KeyInvalidError);
    assert.throws(() => importKey({ alg: 'EdDSA', key: Buffer.alloc(64) }), KeyInvalidError);
  });

  it('keys of the wrong type or strength for their algorithm are refused at load time', () => {
    assert.throws(() => importKey({ alg: 'HS256', kid: 'k', key: Buffer.alloc(31, 1) }), /at least 32 bytes/);
    assert.throws(() => importKey({ alg: 'HS512', kid: 'k', key: Buffer.alloc(63, 1) }), /at least 64 bytes/);
    assert.throws(() => importKey({ alg: 'RS256', key: generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey }), /2048/);
    assert.throws(() => importKey({ alg: 'ES256', key: generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey }), /P-256/);
    assert.throws(() => importKey({ alg: 'EdDSA', key: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey }), /Ed25519/);
    assert.throws(
      () =>
        importKey({
          alg: 'ES256',
          key: { ...generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'jwk' }), alg: 'ES384' },
        }),
      /ES384/,
    );
  });

  it('a token cannot bring its own key: jku, x5u, an embedded jwk, x5c', () => {
    const { verify, header } = setup('EdDSA');
    const attacker = generateKeyPairSync('ed25519');
    const signedByAttacker = signWith(attacker.privateKey, 'EdDSA');
    refused(
      verify,
      forge({ ...header, jwk: attacker.publicKey.export({ format: 'jwk' }) }, validClaims(), signedByAttacker),
      'token_invalid',
    );
    refused(verify, forge({ ...header, jku: 'https://attacker.example/jwks.json' }, validClaims(), signedByAttacker), 'token_invalid');
    refused(verify, forge({ ...header, x5u: 'https://attacker.example/cert.pem' }, validClaims(), signedByAttacker), 'token_invalid');
    refused(verify, forge({ ...header, x5c: ['MIIB'] }, validClaims(), signedByAttacker), 'token_invalid');
  });

  it('the forbidden header members are refused even when the signature is genuine', () => {
    const { verify, header, key } = setup('EdDSA');
    const genuine = signWith(key.signingKey!, 'EdDSA');
    refused(verify, forge({ ...header, jku: 'https://id.example/jwks' }, validClaims(), genuine), 'token_invalid');
    refused(verify, forge({ ...header, crit: ['exp'] }, validClaims(), genuine), 'token_invalid');
    refused(verify, forge({ ...header, crit: ['b64'], b64: false }, validClaims(), genuine), 'token_invalid');
    refused(verify, forge({ ...header, b64: false }, validClaims(), genuine), 'token_invalid');
  });

  it('kid only selects among local keys: unknown and path-like kids find nothing', () => {
    const { verify, header, key } = setup('EdDSA');
    const genuine = signWith(key.signingKey!, 'EdDSA');
    for (const kid of ['other', '../../etc/passwd', '', key.kid.toUpperCase()])
      refused(verify, forge({ ...header, kid }, validClaims(), genuine), 'token_invalid');
    refused(verify, forge({ ...header, kid: 42 }, validClaims(), genuine), 'token_invalid');
  });

  it('psychic ECDSA signatures (r = s = 0), DER signatures and wrong lengths fail', () => {
    const { verify, header, key, issue } = setup('ES256');
    refused(
      verify,
      forge(header, validClaims(), () => Buffer.alloc(64)),
      'token_signature',
    );
    const der = (input: string) => signWith(key.signingKey!, 'RS256')(input); // DER-encoded ECDSA
    refused(verify, forge(header, validClaims(), der), 'token_signature');
    const token = issue();
    const [h, p, s] = token.split('.') as [string, string, string];
    refused(verify, `${h}.${p}.${s.slice(0, -4)}`, 'token_signature');
    refused(verify, `${h}.${p}.`, 'token_signature');
    refused(verify, `${h}.${p}`, 'token_invalid');
    refused(verify, `${h}.${p}.${s}.${s}`, 'token_invalid');
  });

  it('truncated and stripped signatures fail for every algorithm', () => {
    for (const alg of ['EdDSA', 'RS256', 'HS256', 'HS512'] as const) {
      const { verify, issue } = setup(alg);
      const [h, p, s] = issue().split('.') as [string, string, string];
      refused(verify, `${h}.${p}.${s.slice(0, 10)}`, 'token_signature');
      refused(verify, `${h}.${p}.`, 'token_signature');
      const flipped = Buffer.from(s, 'base64url');
      flipped[0]! ^= 0x80;
      refused(verify, `${h}.${p}.${flipped.toString('base64url')}`, 'token_signature');
    }
  });

  it('a 1 MB token is refused by its size, before any decoding', () => {
    const { verify, header } = setup('HS256');
    const huge = forge(header, validClaims({ pad: 'x'.repeat(1024 * 1024) }));
    assert.ok(huge.length > 1_000_000);
    refused(verify, huge, 'token_invalid');
    assert.throws(() => verify(huge), /longer than 8192 characters/);
    refused(verify, 'a'.repeat(1024 * 1024), 'token_invalid');
  });

  it('duplicate header members and duplicate claims are refused, even correctly signed', () => {
    const { verify, key, header } = setup('HS256');
    const genuine = hmacWith(key.signingKey!.export());
    const claims = JSON.stringify(validClaims());
    refused(verify, forge(`{"alg":"HS256","kid":"${key.kid}","typ":"at+jwt","alg":"HS256"}`, claims, genuine), 'token_invalid');
    refused(verify, forge(`{"alg":"none","kid":"${key.kid}","typ":"at+jwt","alg":"HS256"}`, claims, genuine), 'token_invalid');
    refused(verify, forge(`{"alg":"HS256","kid":"${key.kid}","typ":"at+jwt","\\u0061lg":"HS256"}`, claims, genuine), 'token_invalid');
    refused(verify, forge(header, `${claims.slice(0, -1)},"sub":"admin"}`, genuine), 'token_invalid');
    // A repeated name inside a nested object is not a duplicate claim.
    assert.equal(verify(forge(header, validClaims({ extra: { a: 1, b: { a: 2 } }, other: { a: 3 } }), genuine)).sub, 'user-1');
  });

  it('non-canonical and non-url-safe base64 is refused, even under a genuine signature', () => {
    const { verify, issue, key, header } = setup('HS256');
    const token = issue();
    const [h, p, s] = token.split('.') as [string, string, string];
    // The last character of a 32-byte signature carries 2 unused bits; setting one is another spelling.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    refused(verify, `${h}.${p}.${s.slice(0, -1)}${alphabet[alphabet.indexOf(s.at(-1)!) ^ 1]}`, 'token_signature');
    refused(verify, `${h}.${p}.${s}=`, 'token_signature');

    // Payload spellings that Node's lenient decoder would accept, each signed with the real key.
    const mac = hmacWith(key.signingKey!.export());
    const signed = (headerSegment: string, payloadSegment: string) =>
      `${headerSegment}.${payloadSegment}.${mac(`${headerSegment}.${payloadSegment}`).toString('base64url')}`;
    let claims = JSON.stringify(validClaims({ jti: 'a' }));
    for (let i = 0; !/[+/]/.test(Buffer.from(claims).toString('base64')); i++) claims = JSON.stringify(validClaims({ jti: `j${i}?>` }));
    const standard = Buffer.from(claims).toString('base64').replace(/=+$/, '');
    const canonical = Buffer.from(claims).toString('base64url');
    const hSegment = Buffer.from(JSON.stringify(header)).toString('base64url');
    assert.equal(verify(signed(hSegment, canonical)).sub, 'user-1', 'the canonical spelling verifies');
    refused(verify, signed(hSegment, standard), 'token_invalid');
    refused(verify, signed(hSegment, `${canonical}==`), 'token_invalid');
    refused(verify, signed(hSegment, `${canonical.slice(0, 8)} ${canonical.slice(8)}`), 'token_invalid');
    refused(verify, signed(`${hSegment}\n`, canonical), 'token_invalid');
    void p;
  });

  it('an access token is refused where another kind is expected, and the other way round', () => {
    const { keys, issue, key } = setup('EdDSA');
    const idTokens = createVerifier({ keys, typ: 'JWT', cacheSize: 0 });
    refused(idTokens, issue(), 'token_claim_invalid');
    const accessVerifier = createVerifier({ keys, typ: 'at+jwt', cacheSize: 0 });
    const genuine = signWith(key.signingKey!, 'EdDSA');
    refused(accessVerifier, forge({ alg: 'EdDSA', kid: key.kid, typ: 'JWT' }, validClaims(), genuine), 'token_claim_invalid');
    refused(accessVerifier, forge({ alg: 'EdDSA', kid: key.kid }, validClaims(), genuine), 'token_claim_invalid');
    assert.equal(accessVerifier(forge({ alg: 'EdDSA', kid: key.kid, typ: 'application/AT+JWT' }, validClaims(), genuine)).sub, 'user-1');
  });

  it('a revoked key kills every token it signed, at once', () => {
    const { keys, key, verify, issue } = setup('EdDSA');
    const token = issue();
    assert.equal(verify(token).sub, 'user-1');
    keys.update([{ key, status: 'revoked' }]);
    refused(verify, token, 'token_revoked');
  });

  it('two keys with one kid cannot share a ring', () => {
    const { key } = setup('EdDSA');
    assert.throws(
      () =>
        createKeyRing([
          { key, status: 'active' },
          { key, status: 'next' },
        ]),
      /share the kid/,
    );
  });
});
