import assert from 'node:assert/strict';
import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { describe, it } from 'node:test';
import { jwkThumbprint } from '../../packages/tessera-auth/src/tokens/index.js';
import { Client } from '../helpers/http-client.js';
import { startTestServer } from '../helpers/server.js';

const part = (token: string, index: number) =>
  JSON.parse(Buffer.from(token.split('.')[index]!, 'base64url').toString()) as Record<string, unknown>;

describe('the access token with the server defaults', () => {
  it('names its key with the start of the key thumbprint and its jti with 96 bits, and carries nothing else new', async () => {
    const server = await startTestServer({ strategy: 'hybrid' });
    try {
      const client = new Client(server.url);
      assert.equal((await client.post('/auth/register', { username: 'alice', password: 'correct horse battery' })).status, 201);
      const login = await client.post('/auth/login', { username: 'alice', password: 'correct horse battery', transport: 'body' });
      const token = login.body.access_token as string;
      const header = part(token, 0);
      const [published] = (await client.get('/.well-known/jwks.json')).body.keys as (JsonWebKey & { kid: string })[];
      assert.equal(header.kid, published!.kid);
      assert.equal(header.kid, jwkThumbprint(createPublicKey({ key: published!, format: 'jwk' })).slice(0, 8));
      const claims = part(token, 1);
      assert.equal(Buffer.from(claims.jti as string, 'base64url').length, 12);
      assert.deepEqual(Object.keys(claims).sort(), ['aud', 'client_id', 'exp', 'iat', 'iss', 'jti', 'name', 'roles', 'sid', 'sub']);
      // 568 bytes before the short kid and jti, with the same claims (a five-digit port in iss and aud).
      assert.ok(token.length <= 520, `${token.length} bytes`);
    } finally {
      await server.stop();
    }
  });
});
