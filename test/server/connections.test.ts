import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startTestServer } from '../helpers/server.js';
import { spawnServerWithFreshData, type ServerProcess } from '../helpers/server-process.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;

/** A raw connection to the server from `from` (any 127.x address is this machine). */
async function open(server: { readonly url: string }, from = '127.0.0.1'): Promise<Socket> {
  const { port } = new URL(server.url);
  const socket = connect({ host: '127.0.0.1', port: Number(port), localAddress: from });
  socket.on('error', () => {});
  await once(socket, 'connect');
  return socket;
}

/** Whether the server closes `socket` within `ms` (it is destroyed either way). */
async function closedWithin(socket: Socket, ms: number): Promise<boolean> {
  if (socket.closed) return true;
  const closed = new Promise<boolean>((resolve) => socket.once('close', () => resolve(true))); // an EPIPE on the way is fine
  const timer = new Promise<boolean>((resolve) => setTimeout(resolve, ms, false));
  const answer = await Promise.race([closed, timer]);
  socket.destroy();
  return answer;
}

/** A well-formed request on a fresh connection from `from`: the status line, or the error. */
async function request(server: { readonly url: string }, from: string): Promise<string> {
  try {
    const socket = await open(server, from);
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    await once(socket, 'close');
    return text.split('\r\n')[0] ?? '';
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * Slow and many connections against a real server with tight limits (1 s for headers, 2 s for a
 * whole request, 20 connections per address). Node's defaults would keep every one of these
 * sockets open for 60 to 300 s, or without end.
 */
describe('connections an attacker holds open', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ store: 'memory', limits: { headersTimeout: 1, requestTimeout: 2, maxConnectionsPerClient: 20 } });
  });
  after(() => server.stop());

  const trickle = (socket: Socket, text: string) => {
    const timer = setInterval(() => socket.writable && socket.write(text, () => {}), 200);
    socket.once('close', () => clearInterval(timer));
  };

  it('attack: a connection that sends nothing, one byte, or headers a line at a time is closed within the header timeout', async () => {
    const silent = await open(server);
    const oneByte = await open(server);
    oneByte.write('G');
    const slowHeaders = await open(server);
    slowHeaders.write('GET /healthz HTTP/1.1\r\n');
    trickle(slowHeaders, 'X-Padding: 1\r\n');
    const results = await Promise.all([silent, oneByte, slowHeaders].map((socket) => closedWithin(socket, 4_000)));
    assert.deepEqual(results, [true, true, true]);
  });

  it('attack: a body trickled a byte at a time is cut off by the request timeout', async () => {
    const slowBody = await open(server);
    slowBody.write('POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n');
    trickle(slowBody, ' ');
    assert.equal(await closedWithin(slowBody, 5_000), true);
  });

  it('a kept-alive connection idle after its response is closed too', async () => {
    const socket = await open(server);
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await once(socket, 'data');
    assert.equal(await closedWithin(socket, 4_000), true);
  });

  it('attack: one address opening many connections gets its share; another address is still served', async () => {
    const held = await Promise.all(Array.from({ length: 40 }, () => open(server, '127.0.0.2')));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const refused = held.filter((socket) => socket.closed).length;
    assert.equal(refused, 20, 'connections past the cap are closed at once');
    assert.equal(await request(server, '127.0.0.3'), 'HTTP/1.1 200 OK');
    for (const socket of held) socket.destroy();
  });
});

/**
 * The crowd: 100 slow-header sockets from each of 11 addresses against a real `tessera serve` with
 * its default caps (1,000 connections, 100 per address), each reopened when the server drops it.
 */
describe('connections: a crowd of slow sockets from a few addresses', () => {
  let server: ServerProcess;
  before(async () => {
    server = await spawnServerWithFreshData(['--store', 'memory', '--insecure-cookies', '--log-level', 'warn']);
  });
  after(() => server.stop());

  it('attack: 1,100 slow sockets from 11 addresses, reopened when dropped, leave every request of another client answered', async () => {
    let pressing = true;
    let opened = 0;
    let dropped = 0;
    const sockets = new Set<Socket>();
    const hold = async (from: string): Promise<void> => {
      if (!pressing) return;
      const socket = await open(server, from).catch(() => undefined);
      opened++;
      if (!socket) return void setImmediate(() => void hold(from));
      sockets.add(socket);
      socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n', () => {});
      socket.once('close', () => {
        sockets.delete(socket);
        dropped++;
        void hold(from); // as soon as it is dropped, the attacker opens another
      });
    };
    const addresses = Array.from({ length: 11 }, (_, i) => `127.0.0.${i + 2}`);
    await Promise.all(addresses.flatMap((from) => Array.from({ length: 100 }, () => hold(from))));
    // Past the 1,000-connection cap: the server has dropped some, and the attacker has reopened them.
    while (dropped < 100) await new Promise((resolve) => setTimeout(resolve, 20));

    const answers: string[] = [];
    for (let i = 0; i < 12; i++) answers.push(await request(server, '127.0.0.1'));
    const stillPressing = sockets.size;
    pressing = false;
    for (const socket of sockets) socket.destroy();
    assert.deepEqual(answers, Array(12).fill('HTTP/1.1 200 OK'), `${opened} attacker connections opened`);
    assert.ok(stillPressing >= 500, `${stillPressing} attacker sockets still open while the requests were answered`);
  });
});
