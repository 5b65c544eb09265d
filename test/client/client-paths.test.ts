import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { it } from 'node:test';
import { createTesseraClient } from '../../packages/tessera-auth/src/client/index.js';

/** A server that answers the client's contract at routes of its own choosing, and records what was called. */
it('the browser client calls the routes it is given (an app that mounts Tessera elsewhere)', async () => {
  const calls: string[] = [];
  const token = `x.${Buffer.from(JSON.stringify({ sub: 'u1', name: 'ana', roles: ['reader'] })).toString('base64url')}.y`;
  const server = createServer((req, res) => {
    calls.push(`${req.method} ${req.url}`);
    res.setHeader('content-type', 'application/json');
    if (req.url === '/session/new') {
      return void res.end(
        JSON.stringify({
          user: { id: 'u1', username: 'ana', roles: ['reader'] },
          access_token: token,
          token_type: 'Bearer',
          expires_in: 300,
        }),
      );
    }
    if (req.url === '/session/renew') return void res.writeHead(401).end(JSON.stringify({ code: 'unauthenticated' }));
    res.writeHead(204).end();
  }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = createTesseraClient({
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    paths: { login: '/session/new', refresh: '/session/renew', me: '/session/me', logout: '/session/end' },
  });
  try {
    assert.equal(await client.restore({ via: 'refresh' }), null);
    assert.deepEqual((await client.login('ana', 'pw')).roles, ['reader']);
    assert.equal(await client.getAccessToken(), token);
    await client.logout();
    assert.equal(client.user, null);
    assert.deepEqual(calls, ['POST /session/renew', 'POST /session/new', 'POST /session/end']);
  } finally {
    client.close();
    server.close();
  }
});
