import assert from 'node:assert/strict';
import { createConnection, createServer, type Socket } from 'node:net';
import { it } from 'node:test';
import { followRevocationStream } from '../../packages/tessera-auth/src/revocation/revocation-stream.js';
import { parseClient } from '../../packages/tessera-auth-server/src/server/oauth-clients.js';
import { Client } from '../helpers/http-client.js';
import { startTestServer } from '../helpers/server.js';

const CLIENT = { id: 'orders', secret: 'a-client-secret-of-at-least-32-characters' };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A TCP relay to `port` that can cut every connection through it, and shows what clients sent. */
async function relay(port: number) {
  const sockets = new Set<Socket>();
  const requests: string[] = [];
  const server = createServer((client) => {
    const upstream = createConnection(port);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {});
    }
    client.once('data', (chunk) => requests.push(chunk.toString()));
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    requests,
    cut: () => sockets.forEach((socket) => socket.destroy()),
    close: () => (sockets.forEach((socket) => socket.destroy()), server.close()),
  };
}

// The library's follower, cut off while revocations happen: it comes back with Last-Event-ID, is
// untrusted (503) meanwhile, and gets what it missed without the snapshot again.
it('followRevocationStream resumes with Last-Event-ID after a cut, and fails closed meanwhile', async () => {
  const server = await startTestServer({ strategy: 'stateless', clients: [parseClient(`${CLIENT.id}:${CLIENT.secret}`)] });
  const proxy = await relay(Number(new URL(server.url).port));
  const revocations = followRevocationStream({ url: `${proxy.url}/revocations/stream`, clientId: CLIENT.id, clientSecret: CLIENT.secret });
  try {
    const account = new Client(server.url);
    await account.post('/auth/register', { username: 'rita', password: 'correct horse battery' });
    const logIn = async () =>
      (await account.post('/auth/login', { username: 'rita', password: 'correct horse battery', transport: 'body' })).body
        .access_token as string;
    const logOut = async (token: string) =>
      assert.equal((await new Client(server.url, { authorization: `Bearer ${token}` }).post('/auth/logout')).status, 204);
    const sidOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).sid as string;

    const first = await logIn();
    await logOut(first); // in the snapshot
    await revocations.ensureLoaded();
    assert.ok(revocations.isRevoked({ sid: sidOf(first) }));
    const live = await logIn();
    await logOut(live); // a live event: the follower's cursor
    for (let i = 0; i < 200 && !revocations.isRevoked({ sid: sidOf(live) }); i++) await sleep(10);
    assert.ok(revocations.isRevoked({ sid: sidOf(live) }));

    const heard: string[] = [];
    revocations.events.on('revocation', (entry) => heard.push(entry.value));
    proxy.cut();
    const missed = await logIn();
    await logOut(missed);
    assert.throws(() => revocations.check({ sid: 'any' }), { code: 'store_unavailable' }, 'untrusted from the cut until the catch-up');
    for (let i = 0; i < 300 && !(revocations.isRevoked({ sid: sidOf(missed) }) && !revocations.isStale()); i++) await sleep(10);
    assert.ok(revocations.isRevoked({ sid: sidOf(missed) }), 'the entry made while it was cut off arrived');
    assert.equal(revocations.isStale(), false, 'trusted again');
    const resumed = proxy.requests.at(-1)!;
    assert.match(resumed, /^last-event-id: \S+\r$/im, 'it came back with its cursor');
    assert.equal(proxy.requests.length, 2);
    assert.deepEqual(heard, [sidOf(missed)], 'what it missed, and not the snapshot again');
  } finally {
    revocations.close();
    proxy.close();
    await server.stop();
  }
});
