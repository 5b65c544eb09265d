import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createKeyRing, createVerifier, importKey, jwkThumbprint } from '../../packages/tessera-auth/src/tokens/index.js';
import { signBytes, verifyBytes } from '../../packages/tessera-auth/src/tokens/keys.js';
import { frozenClock } from '../helpers/clock.js';

const signingInput = (token: string) => Buffer.from(token.slice(0, token.lastIndexOf('.')), 'latin1');
const signatureOf = (token: string) => Buffer.from(token.slice(token.lastIndexOf('.') + 1), 'base64url');

describe('published test vectors', () => {
  it('RFC 7515 A.1: HS256, signed byte for byte and verified with its claims', () => {
    const token =
      'eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9' +
      '.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ' +
      '.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
    const key = importKey({
      alg: 'HS256',
      kid: 'rfc7515-a1',
      key: { kty: 'oct', k: 'AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow' },
    });
    assert.equal(signBytes(key, signingInput(token)).toString('base64url'), token.split('.')[2]);
    const verify = createVerifier({
      keys: createKeyRing([{ key, status: 'active' }]),
      typ: 'JWT',
      issuer: 'joe',
      requireSubject: false,
      leewaySeconds: 0,
      clock: frozenClock(1_300_819_379_000),
    });
    assert.equal(verify(token)['http://example.com/is_root'], true);
  });

  it('RFC 7515 A.3: ES256 verifies, and a one-bit change does not', () => {
    const token =
      'eyJhbGciOiJFUzI1NiJ9' +
      '.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ' +
      '.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q';
    const key = importKey({
      alg: 'ES256',
      key: {
        kty: 'EC',
        crv: 'P-256',
        x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
        y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
        d: 'jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI',
      },
    });
    const signature = signatureOf(token);
    assert.equal(signature.length, 64, 'raw R||S, not DER');
    assert.equal(verifyBytes(key, signingInput(token), signature), true);
    signature[10]! ^= 1;
    assert.equal(verifyBytes(key, signingInput(token), signature), false);
  });

  it('RFC 8037 A.3 and A.4: the Ed25519 thumbprint and the deterministic EdDSA signature', () => {
    const key = importKey({
      alg: 'EdDSA',
      key: {
        kty: 'OKP',
        crv: 'Ed25519',
        d: 'nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A',
        x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo',
      },
    });
    assert.equal(jwkThumbprint(key.verificationKey), 'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k');
    assert.equal(key.kid, 'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k');
    const token =
      'eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc' +
      '.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg';
    assert.equal(signBytes(key, signingInput(token)).toString('base64url'), token.split('.')[2]);
    assert.equal(verifyBytes(key, signingInput(token), signatureOf(token)), true);
  });
});
