import { once } from 'node:events';
import { after, before } from 'node:test';
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

/**
 * Serves `handler` for the enclosing suite: started before its tests, stopped after, then
 * `cleanup` (a store to close, say). Returns a function that gives the URL.
 */
export function useServer(handler: RequestListener, cleanup?: () => unknown): () => string {
  let served: Awaited<ReturnType<typeof listen>> | undefined;
  before(async () => {
    served = await listen(handler);
  });
  after(async () => {
    served?.close();
    await cleanup?.();
  });
  return () => {
    if (!served) throw new Error('the server is not running');
    return served.url;
  };
}
