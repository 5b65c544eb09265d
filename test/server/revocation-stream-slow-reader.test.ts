import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { parseClient } from '../../packages/tessera-auth-server/src/server/oauth-clients.js';
import { createRedisStore } from '../../packages/tessera-auth/src/stores/redis.js';
import { useRedis } from '../helpers/redis.js';
import { startTestServer } from '../helpers/server.js';

const CLIENT = { id: 'orders', secret: 'a-client-secret-of-at-least-32-characters' };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A follower on a raw socket: it reads the response head, then (when `stalls`) never reads again. */
async function follower(url: string, stalls: boolean): Promise<{ socket: Socket; received: () => number }> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  await once(socket, 'connect');
  const auth = Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64');
  socket.write(`GET /revocations/stream HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Basic ${auth}\r\n\r\n`);
  let bytes = 0;
  let head = '';
  await new Promise<void>((resolve) => {
    const onData = (chunk: Buffer) => {
      bytes += chunk.length;
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      assert.match(head, /^HTTP\/1\.1 200/);
      if (stalls) {
        socket.off('data', onData);
        socket.pause(); // a reader that stops: what it is sent piles up in the kernel, then in the server
      } else {
        socket.off('data', onData);
        socket.on('data', (more: Buffer) => (bytes += more.length));
      }
      resolve();
    };
    socket.on('data', onData);
  });
  return { socket, received: () => bytes };
}

/** The server's count of stream followers, from /metrics. */
async function followers(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^tessera_revocation_stream_followers (\d+)/m.exec(text)?.[1] ?? NaN);
}

describe('the revocation stream against a follower that stops reading', () => {
  const redisFor = useRedis();

  it('cuts it off once it leaves 1 MiB unread, so it cannot grow the server’s memory; a reading follower keeps up', async (t) => {
    const redis = redisFor(t);
    if (!redis) return;
    const server = await startTestServer({
      strategy: 'hybrid',
      store: 'redis',
      redisUrl: redis.url,
      clients: [parseClient(`${CLIENT.id}:${CLIENT.secret}`)],
      metrics: 'public',
    });
    const writer = createRedisStore({ url: redis.url });
    const slow = await follower(server.url, true);
    const reader = await follower(server.url, false);
    try {
      assert.equal(await followers(server.url), 2);
      // Revocations from another instance, through the shared feed: ~150-byte events for both followers.
      let added = 0;
      const expiresAt = Date.now() + 600_000;
      // Paced (about 10,000 a second), so the reading follower, in this same busy process, keeps up.
      while ((await followers(server.url)) === 2 && added < 200_000) {
        await Promise.all(
          Array.from({ length: 1_000 }, () =>
            writer.revocations.add({ kind: 'jti', value: `attack-${added++}-${'x'.repeat(40)}`, expiresAt }),
          ),
        );
        await sleep(100);
      }
      const started = Date.now();
      while ((await followers(server.url)) === 2 && Date.now() - started < 10_000) await sleep(100);
      assert.equal(await followers(server.url), 1, `the stalled follower is cut off (after ${added} revocations)`);
      // The reading follower got every event (and heartbeats): about 150 bytes each.
      for (const begun = Date.now(); reader.received() < added * 100 && Date.now() - begun < 10_000;) await sleep(50);
      assert.ok(reader.received() >= added * 100, `the reader kept up: ${reader.received()} bytes for ${added} events`);
      assert.ok(!reader.socket.destroyed, 'and is still connected');
      t.diagnostic(`stalled follower cut after ${added} revocations`);
    } finally {
      slow.socket.destroy();
      reader.socket.destroy();
      await writer.close();
      await server.stop();
    }
  });
});
