import { createServer, type RequestListener, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { clientNetwork } from './client-network.js';

export interface ConnectionLimits {
  /** Seconds a connection has to deliver a request's headers, from connecting or from its last response (default 10). */
  readonly headersTimeout?: number | undefined;
  /** Seconds a request has to arrive whole, body included (default 30). */
  readonly requestTimeout?: number | undefined;
  /** Open connections in all (default 1000, under the usual limit of 1024 descriptors); past it, a waiting connection is shed for each new one. */
  readonly maxConnections?: number | undefined;
  /** Open connections from one address, an IPv6 /64 counting as one (default 100; 0 for none, behind a balancer that limits clients itself). */
  readonly maxConnectionsPerClient?: number | undefined;
}

export const DEFAULT_CONNECTION_LIMITS = {
  headersTimeout: 10,
  requestTimeout: 30,
  maxConnections: 1000,
  maxConnectionsPerClient: 100,
} as const;

/**
 * An HTTP server for the open internet: Node's defaults let a connection sit 60 s on half a
 * header line and 300 s on a trickled body, and take connections until descriptors run out (then
 * every legitimate request fails). Node checks its request timers only on an interval and never for
 * a connection that has sent nothing or one partial line, so the header deadline is kept here per
 * connection: armed on connect and after each response, cleared when a request's headers are in.
 *
 * At the cap, a new connection is not refused: the server sheds a connection that is only waiting
 * (no request in progress), the oldest of the client holding the most. Slow sockets from a handful
 * of addresses then crowd out each other, never a client that sends its request at once.
 */
export function createLimitedServer(options: ConnectionLimits, handler: RequestListener): Server {
  const limits = { ...DEFAULT_CONNECTION_LIMITS, ...definedOnly(options) };
  const headersMs = limits.headersTimeout * 1000;
  const deadlines = new WeakMap<Socket, NodeJS.Timeout>();
  const clients = new Map<string, ClientConnections>();
  const clientOf = new WeakMap<Socket, ClientConnections>();
  let open = 0;

  const disarm = (socket: Socket) => {
    clearTimeout(deadlines.get(socket));
    clientOf.get(socket)?.waiting.delete(socket);
  };
  const arm = (socket: Socket) => {
    disarm(socket);
    if (socket.destroyed) return;
    deadlines.set(socket, setTimeout(() => socket.destroy(), headersMs).unref());
    clientOf.get(socket)?.waiting.add(socket); // re-added: the Set keeps the oldest waiting first
  };
  const server = createServer(
    {
      headersTimeout: headersMs,
      requestTimeout: Math.max(limits.requestTimeout * 1000, headersMs),
      connectionsCheckingInterval: Math.min(1000, headersMs),
    },
    function limitedRequest(request, response) {
      disarm(request.socket);
      response.once('finish', () => arm(request.socket));
      handler(request, response);
    },
  );
  server.keepAliveTimeout = Math.min(5000, headersMs);

  server.on('connection', (socket: Socket) => {
    const address = clientNetwork(socket.remoteAddress ?? '');
    const client = clients.get(address) ?? { open: 0, waiting: new Set<Socket>() };
    if (limits.maxConnectionsPerClient > 0 && client.open >= limits.maxConnectionsPerClient) return void socket.destroy();
    if (open >= limits.maxConnections && !shedOneWaiting(clients)) return void socket.destroy();
    open++;
    client.open++;
    clients.set(address, client);
    clientOf.set(socket, client);
    socket.once('close', () => {
      disarm(socket);
      open--;
      if (--client.open === 0) clients.delete(address);
    });
    arm(socket);
  });
  return server;
}

/** One client's (address or /64) open connections, and those of them waiting for a request. */
interface ClientConnections {
  open: number;
  readonly waiting: Set<Socket>;
}

/** Closes the oldest waiting connection of the client that holds the most; false if none waits. */
function shedOneWaiting(clients: ReadonlyMap<string, ClientConnections>): boolean {
  let crowd: ClientConnections | undefined;
  for (const client of clients.values()) if (client.waiting.size > 0 && client.open > (crowd?.open ?? 0)) crowd = client;
  const oldest = crowd?.waiting.values().next().value;
  if (!crowd || !oldest) return false;
  crowd.waiting.delete(oldest);
  oldest.destroy();
  return true;
}

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}
