import { createServer, type RequestListener, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { clientNetwork } from './client-network.js';

export interface ConnectionLimits {
  /** Seconds a connection has to deliver a request's headers, from connecting or from its last response (default 10). */
  readonly headersTimeout?: number | undefined;
  /** Seconds a request has to arrive whole, body included (default 30). */
  readonly requestTimeout?: number | undefined;
  /** Open connections in all (default 1000, under the usual limit of 1024 descriptors); more are closed at once. */
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
 */
export function createLimitedServer(options: ConnectionLimits, handler: RequestListener): Server {
  const limits = { ...DEFAULT_CONNECTION_LIMITS, ...definedOnly(options) };
  const headersMs = limits.headersTimeout * 1000;
  const deadlines = new WeakMap<Socket, NodeJS.Timeout>();
  const disarm = (socket: Socket) => clearTimeout(deadlines.get(socket));
  const arm = (socket: Socket) => {
    disarm(socket);
    deadlines.set(socket, setTimeout(() => socket.destroy(), headersMs).unref());
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
  server.maxConnections = limits.maxConnections;
  server.keepAliveTimeout = Math.min(5000, headersMs);
  const openByAddress = new Map<string, number>();

  server.on('connection', (socket: Socket) => {
    const address = clientNetwork(socket.remoteAddress ?? '');
    const open = (openByAddress.get(address) ?? 0) + 1;
    if (limits.maxConnectionsPerClient > 0 && open > limits.maxConnectionsPerClient) return void socket.destroy();
    openByAddress.set(address, open);
    socket.once('close', () => {
      disarm(socket);
      const left = (openByAddress.get(address) ?? 1) - 1;
      if (left === 0) openByAddress.delete(address);
      else openByAddress.set(address, left);
    });
    arm(socket);
  });
  return server;
}

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}
