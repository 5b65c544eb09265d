import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createAuth } from '../../packages/tessera-auth/src/core/create-auth.js';
import { createMemoryStore } from '../../packages/tessera-auth/src/stores/memory.js';
import { createKeyRing, generateJwk, importKey } from '../../packages/tessera-auth/src/tokens/index.js';
import { webApp, type AdapterApp } from './apps.js';

describe('tessera/web refresh route: input limits', () => {
  const keys = createKeyRing([{ key: importKey({ alg: 'EdDSA', key: generateJwk('EdDSA') }), status: 'active' }]);
  const auth = createAuth({
    strategy: 'hybrid',
    store: createMemoryStore(),
    cookie: { secure: false },
    tokens: { keys, issuer: 'https://id.example' },
  });
  let app: AdapterApp;
  before(async () => {
    app = await webApp(auth);
  });
  after(async () => {
    await app.close();
    auth.close();
  });

  const refresh = (body: string | ReadableStream, headers: Record<string, string> = {}) =>
    fetch(`${app.url}/auth/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
      duplex: 'half',
    } as RequestInit);

  it('broken JSON and a non-string handle are 400, never a 500', async () => {
    for (const body of ['{"refresh_token":', '{"refresh_token":42}']) {
      const answer = await refresh(body);
      assert.equal(answer.status, 400, body);
      assert.equal(((await answer.json()) as { code: string }).code, 'invalid_request');
    }
  });

  it('a body over 16 KiB is refused before parsing, declared or streamed', async () => {
    const huge = JSON.stringify({ refresh_token: 'a'.repeat(20_000) });
    const declared = await refresh(huge);
    assert.equal(declared.status, 400);
    assert.equal(((await declared.json()) as { detail: string }).detail, 'The body is too large.');
    // No Content-Length: chunks until the cap is crossed (last: the server cuts this upload short).
    const chunks = Array.from({ length: 40 }, () => new TextEncoder().encode(' '.repeat(1024)));
    const streamed = await refresh(new ReadableStream({ pull: (c) => (chunks.length ? c.enqueue(chunks.pop()!) : c.close()) }));
    assert.equal(streamed.status, 400);
    assert.equal(((await streamed.json()) as { detail: string }).detail, 'The body is too large.');
  });
});
