import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';

/** One request as the server received and answered it, as a proxy's log would have it. */
export interface LoggedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  status?: number;
  body?: string;
}

/** Puts a log in front of `server`'s request handler: every request, with its answer's status and body. */
export function logRequests(server: Server): LoggedRequest[] {
  const log: LoggedRequest[] = [];
  const [handler] = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const entry: LoggedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers };
    log.push(entry);
    const end = res.end.bind(res) as (chunk?: unknown) => ServerResponse;
    res.end = ((chunk?: unknown) => {
      entry.status = res.statusCode;
      entry.body = typeof chunk === 'string' || Buffer.isBuffer(chunk) ? chunk.toString() : '';
      return end(chunk);
    }) as typeof res.end;
    handler!(req, res);
  });
  return log;
}
