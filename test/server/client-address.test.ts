import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../../packages/tessera-auth-server/src/cli/parse-flags.js';
import { parseTrustProxy } from '../../packages/tessera-auth-server/src/cli/serve-options.js';
import { Client } from '../helpers/http-client.js';
import { startTestServer } from '../helpers/server.js';

const PASSWORD = 'correct horse battery';
let serial = 0;

/** Logs a new user in with `headers`; returns the address the device list recorded for the session. */
async function recordedAddress(url: string, headers: Record<string, string>): Promise<string> {
  const username = `addr${process.pid}x${++serial}`;
  const client = new Client(url, headers);
  assert.equal((await client.post('/auth/register', { username, password: PASSWORD })).status, 201);
  assert.equal((await client.post('/auth/login', { username, password: PASSWORD })).status, 200);
  return (await client.get('/auth/sessions')).body.sessions[0].ip as string;
}

describe('--trust-proxy', () => {
  it('takes a hop count, or addresses, CIDR ranges and named ranges; never "true"', () => {
    assert.equal(parseTrustProxy('1'), 1);
    assert.equal(parseTrustProxy('loopback, 10.0.0.0/8,2001:db8::/32, 192.0.2.7'), 'loopback,10.0.0.0/8,2001:db8::/32,192.0.2.7');
    for (const bad of ['true', '', '10.0.0.0/33', '10.0.0.0/8/1', 'proxy.example', '1.2.3', '::1/129']) {
      assert.throws(() => parseTrustProxy(bad), UsageError, bad);
    }
  });

  it("with one hop trusted, the balancer's entry is the client's address; one that is not an address never reaches the device list or the throttle", async () => {
    const server = await startTestServer({ store: 'memory', trustProxy: 1 });
    try {
      assert.equal(
        await recordedAddress(server.url, { 'x-forwarded-for': '203.0.113.5, 198.51.100.9' }),
        '198.51.100.9',
        "a client's own entries are ignored",
      );
      assert.equal(
        await recordedAddress(server.url, { 'x-forwarded-for': '<script>alert(1)</script>' }),
        '127.0.0.1',
        'attack: markup as an address',
      );
    } finally {
      await server.stop();
    }
  });

  it('attack: without a trusted proxy a spoofed X-Forwarded-For changes nothing, the per-client limit included', async () => {
    const server = await startTestServer({ store: 'memory', loginThrottle: { perClient: { max: 3, windowMs: 60_000 } } });
    try {
      assert.equal(await recordedAddress(server.url, { 'x-forwarded-for': '203.0.113.5' }), '127.0.0.1');
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        const spoofed = new Client(server.url, { 'x-forwarded-for': `203.0.113.${i}` });
        statuses.push((await spoofed.post('/auth/login', { username: `nobody${i}`, password: 'guess guess' })).status);
      }
      assert.deepEqual(statuses, [401, 401, 401, 429, 429]);
    } finally {
      await server.stop();
    }
  });
});
