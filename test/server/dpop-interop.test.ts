import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { calculateJwkThumbprint, exportJWK, SignJWT } from 'jose';
import * as oauth from 'oauth4webapi';
import { claimsOf } from '../helpers/dpop-holder.js';
import { Client } from '../helpers/http-client.js';
import { startTestServer } from '../helpers/server.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;
const PASSWORD = 'correct horse battery';

const KEY_ALGORITHMS = {
  ES256: { name: 'ECDSA', namedCurve: 'P-256' },
  EdDSA: { name: 'Ed25519' },
  RS256: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
} as const;

/** GET /auth/me through oauth4webapi: 200 with the user, `nonce` when asked for one, or the challenge. */
async function me(token: string, DPoP: oauth.DPoPHandle): Promise<{ outcome: number | string; username?: string }> {
  try {
    const url = new URL('/auth/me', server.url);
    const response = await oauth.protectedResourceRequest(token, 'GET', url, new Headers(), null, {
      DPoP,
      [oauth.allowInsecureRequests]: true,
    });
    return { outcome: response.status, username: ((await response.json()) as { user: { username: string } }).user.username };
  } catch (error) {
    if (oauth.isDPoPNonceError(error)) return { outcome: 'nonce' };
    if (!(error instanceof oauth.WWWAuthenticateChallengeError)) throw error;
    const [challenge] = error.cause;
    return { outcome: `${challenge?.scheme} ${challenge?.parameters.error}` };
  }
}

let server: TestServer;

/**
 * An independent client: oauth4webapi's DPoP support (RFC 9449) signs the proofs of every resource
 * request and handles the server's nonces; the login, which is not an OAuth endpoint, is signed by
 * jose with the same WebCrypto key pair, whose private half cannot be exported.
 */
describe('DPoP with oauth4webapi as the client', () => {
  before(async () => {
    server = await startTestServer({ strategy: 'hybrid', dpop: 'required' });
  });
  after(() => server.stop());

  for (const [alg, algorithm] of Object.entries(KEY_ALGORITHMS)) {
    it(`${alg}: a login proof binds the token; oauth4webapi's proofs are accepted, nonce retry included`, async () => {
      const keyPair = (await crypto.subtle.generateKey(algorithm, false, ['sign', 'verify'])) as CryptoKeyPair;
      const jwk = await exportJWK(keyPair.publicKey);
      const username = `o4w${alg}${process.pid}`;
      assert.equal((await new Client(server.url).post('/auth/register', { username, password: PASSWORD })).status, 201);

      const login = async (nonce?: string) =>
        fetch(`${server.url}/auth/login`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            dpop: await new SignJWT({
              jti: randomUUID(),
              htm: 'POST',
              htu: `${server.url}/auth/login`,
              iat: Math.floor(Date.now() / 1000),
              ...(nonce && { nonce }),
            })
              .setProtectedHeader({ typ: 'dpop+jwt', alg, jwk })
              .sign(keyPair.privateKey),
          },
          body: JSON.stringify({ username, password: PASSWORD, transport: 'body' }),
        });
      const asked = await login();
      assert.equal(asked.status, 401);
      const loggedIn = await login(asked.headers.get('dpop-nonce') ?? undefined);
      assert.equal(loggedIn.status, 200);
      const { access_token: token, token_type: type } = (await loggedIn.json()) as { access_token: string; token_type: string };
      assert.equal(type, 'DPoP');
      assert.deepEqual(claimsOf(token).cnf, { jkt: await calculateJwkThumbprint(jwk) });

      // oauth4webapi starts without the nonce: the server asks for it, the handle keeps it, the retry passes.
      const DPoP = oauth.DPoP({}, keyPair);
      const first = await me(token, DPoP);
      assert.equal(first.outcome, 'nonce', 'the first proof carries no nonce');
      const second = await me(token, DPoP);
      assert.equal(second.outcome, 200);
      assert.equal(second.username, username);

      // A thief's key, through the same library and with a nonce of its own, is refused for this token.
      const thief = oauth.DPoP({}, (await crypto.subtle.generateKey(algorithm, false, ['sign', 'verify'])) as CryptoKeyPair);
      assert.equal((await me(token, thief)).outcome, 'nonce');
      assert.deepEqual(await me(token, thief), { outcome: 'dpop invalid_dpop_proof' });
    });
  }
});
