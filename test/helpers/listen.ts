import { once } from 'node:events';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Serves `handler` (an Express app or any request listener) on a free loopback port. */
export async function listen(handler: RequestListener): Promise<{ url: string; server: Server; close(): void }> {
  const server = createServer(handler).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    close: () => {
      server.close();
      server.closeAllConnections();
    },
  };
}
