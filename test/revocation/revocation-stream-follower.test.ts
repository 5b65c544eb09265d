import assert from 'node:assert/strict';
import { createConnection, createServer, type Socket } from 'node:net';
import { it } from 'node:test';
import { createBearerContext } from '../../packages/tessera-auth/src/http/bearer.js';
import { followRevocationStream } from '../../packages/tessera-auth/src/revocation/revocation-stream.js';
import { freePort } from '../../tools/redis-process.js';
import { parseClient } from '../../packages/tessera-auth-server/src/server/oauth-clients.js';
import { Client } from '../helpers/http-client.js';
import { startTestServer } from '../helpers/server.js';

const CLIENT = { id: 'orders', secret: 'a-client-secret-of-at-least-32-characters' };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A TCP relay to `port` that can cut every connection through it, or hold what the server sends
 * (a stalled stream: connections open, nothing delivered), and shows what clients sent.
 */
async function relay(port: number) {
  const sockets = new Set<Socket>();
  const requests: string[] = [];
  let holding = false;
  const server = createServer((client) => {
    const upstream = createConnection(port);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {});
    }
    client.once('data', (chunk) => requests.push(chunk.toString()));
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => void (holding || client.write(chunk)));
    upstream.on('end', () => client.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    requests,
    cut: () => sockets.forEach((socket) => socket.destroy()),
    /** From now on, nothing the server sends reaches the clients. */
    hold: () => void (holding = true),
    close: () => (sockets.forEach((socket) => socket.destroy()), server.close()),
  };
}

/** A stateless identity server with one user, and a revocation-stream client of it. */
async function withUser(server: { url: string }) {
  const account = new Client(server.url);
  await account.post('/auth/register', { username: 'rita', password: 'correct horse battery' });
  return {
    logIn: async () =>
      (await account.post('/auth/login', { username: 'rita', password: 'correct horse battery', transport: 'body' })).body
        .access_token as string,
    logOut: async (token: string) =>
      assert.equal((await new Client(server.url, { authorization: `Bearer ${token}` }).post('/auth/logout')).status, 204),
    sidOf: (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).sid as string,
  };
}

/** Whether a follower refuses the session now: revoked (401) or its copy untrusted (503). */
function refuses(revocations: { check(claims: { sid: string }): void }, sid: string): boolean {
  try {
    revocations.check({ sid });
    return false;
  } catch (error) {
    assert.ok(['token_revoked', 'store_unavailable'].includes((error as { code: string }).code));
    return true;
  }
}

// What a follower gets, as the docs state it: it is not waited for, so it refuses a revoked token
// once the entry reaches it (live stream), or, if the stream stalls, once its bound has passed since
// it last heard from the stream, which is before the answer: never later than the bound after it.
it('a stream follower refuses a revoked token once the entry arrives, and at the latest its bound after the answer when the stream stalls', async (t) => {
  const server = await startTestServer({ strategy: 'stateless', clients: [parseClient(`${CLIENT.id}:${CLIENT.secret}`)] });
  const proxy = await relay(Number(new URL(server.url).port));
  const bound = 1; // seconds
  const follow = (url: string) =>
    followRevocationStream({ url: `${url}/revocations/stream`, clientId: CLIENT.id, clientSecret: CLIENT.secret, maxStaleness: bound });
  const live = follow(server.url);
  const stalled = follow(proxy.url);
  try {
    const { logIn, logOut, sidOf } = await withUser(server);
    await Promise.all([live.ensureLoaded(), stalled.ensureLoaded()]);

    let before = 0; // entries already there when the answer arrived
    let latestMs = 0;
    for (let trial = 0; trial < 20; trial++) {
      const token = await logIn();
      await logOut(token);
      const answered = performance.now();
      if (live.isRevoked({ sid: sidOf(token) })) before++;
      else
        await new Promise<void>((resolve) =>
          live.events.on('revocation', function heard(entry) {
            if (entry.value !== sidOf(token)) return;
            live.events.off('revocation', heard);
            resolve();
          }),
        );
      latestMs = Math.max(latestMs, performance.now() - answered);
      assert.throws(() => live.check({ sid: sidOf(token) }), { code: 'token_revoked' });
    }
    t.diagnostic(
      `live stream: the entry was there when the answer arrived in ${before} of 20 trials; at most ${latestMs.toFixed(2)} ms after it`,
    );

    const token = await logIn();
    assert.equal(refuses(stalled, sidOf(token)), false);
    proxy.hold(); // the stream stalls: nothing more arrives, not even heartbeats
    await logOut(token);
    const answered = performance.now();
    assert.equal(stalled.isRevoked({ sid: sidOf(token) }), false, 'the entry never reached it');
    await sleep(bound * 1000 + 100 - (performance.now() - answered));
    assert.ok(refuses(stalled, sidOf(token)), 'refused once its bound has passed since the answer');
  } finally {
    live.close();
    stalled.close();
    proxy.close();
    await server.stop();
  }
});

// The library's follower, cut off while revocations happen: it comes back with Last-Event-ID, is
// untrusted (503) meanwhile, and gets what it missed without the snapshot again.
it('followRevocationStream resumes with Last-Event-ID after a cut, and fails closed meanwhile', async () => {
  const server = await startTestServer({ strategy: 'stateless', clients: [parseClient(`${CLIENT.id}:${CLIENT.secret}`)] });
  const proxy = await relay(Number(new URL(server.url).port));
  const revocations = followRevocationStream({ url: `${proxy.url}/revocations/stream`, clientId: CLIENT.id, clientSecret: CLIENT.secret });
  try {
    const { logIn, logOut, sidOf } = await withUser(server);

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

/** A gate in front of `port`: closed, it accepts and drops every connection (counting them); open, it relays. */
async function gate(port: number) {
  let open = false;
  let dropped = 0;
  const server = createServer((client) => {
    client.on('error', () => {});
    if (!open) {
      dropped++;
      return void client.destroy();
    }
    const upstream = createConnection(port);
    upstream.on('error', () => {});
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    dropped: () => dropped,
    open: () => void (open = true),
    close: () => server.close(),
  };
}

const until = async (condition: () => boolean) => {
  while (!condition()) await sleep(20);
};

it('an unreachable identity server: a 503 that says so, one log line when it fails and one when it answers again', async () => {
  const server = await startTestServer({ strategy: 'stateless', clients: [parseClient(`${CLIENT.id}:${CLIENT.secret}`)] });
  const door = await gate(Number(new URL(server.url).port));
  const lines: string[] = [];
  const revocations = followRevocationStream({
    url: `${door.url}/revocations/stream`,
    clientId: CLIENT.id,
    clientSecret: CLIENT.secret,
    log: (line) => void lines.push(line),
  });
  const loading = revocations.ensureLoaded(); // what a service does at startup, or its first request
  try {
    await until(() => door.dropped() >= 3); // three attempts, one line
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(
      lines[0]!,
      /^tessera: the revocation stream at http:\/\/127\.0\.0\.1:\d+\/revocations\/stream is unreachable \(.+\); tokens are refused with 503 until it answers\.$/,
    );
    assert.throws(() => revocations.check({ sid: 'any' }), {
      code: 'store_unavailable',
      message: "The revocation list may be behind: the identity server's revocation stream is not answering.",
    });
    door.open();
    await loading;
    await until(() => lines.length === 2);
    assert.match(lines[1]!, /answers again; tokens are checked against it again\.$/);
    assert.doesNotThrow(() => revocations.check({ sid: 'any' }));
  } finally {
    revocations.close();
    door.close();
    await server.stop();
  }
});

it('a server without clients, and a wrong secret, are refused with what to check', async () => {
  const without = await startTestServer({ strategy: 'stateless' });
  const withClient = await startTestServer({ strategy: 'stateless', clients: [parseClient(`${CLIENT.id}:${CLIENT.secret}`)] });
  try {
    for (const [server, secret, said] of [
      [without, CLIENT.secret, /This server has no OAuth clients: start it with --client ID:SECRET\./],
      [withClient, 'a-wrong-secret-of-at-least-32-characters', /\(Client authentication failed\.\): check the client id and secret\./],
    ] as const) {
      const lines: string[] = [];
      const revocations = followRevocationStream({
        url: `${server.url}/revocations/stream`,
        clientId: CLIENT.id,
        clientSecret: secret,
        log: (line) => void lines.push(line),
      });
      await assert.rejects(revocations.ensureLoaded(), (error: Error) => said.test(error.message));
      assert.equal(lines.length, 1);
      assert.match(lines[0]!, said);
      revocations.close();
    }
  } finally {
    await without.stop();
    await withClient.stop();
  }
});

it('a resource service whose revocation list never loaded refuses after the wait, saying why, instead of holding the request', async () => {
  const port = await freePort(); // nothing listens: the identity server is down
  const revocations = followRevocationStream({
    url: `http://127.0.0.1:${port}/revocations/stream`,
    clientId: 'a',
    clientSecret: 'b',
    log: () => {},
  });
  try {
    const request = { method: 'GET', ip: '127.0.0.1', header: (name: string) => (name === 'authorization' ? 'Bearer a.b.c' : undefined) };
    const context = await createBearerContext(request, {
      verify: () => assert.fail('not verified before the list is loaded'),
      revocations,
    });
    assert.equal(context.user, null);
    assert.equal(context.failure?.code, 'store_unavailable');
    assert.match(
      context.failure!.message,
      /^The revocation list has not loaded within 5 s: is the identity server \(or the store\) reachable\?$/,
    );
  } finally {
    revocations.close();
  }
});
