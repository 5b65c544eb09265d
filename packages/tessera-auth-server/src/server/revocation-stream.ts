import { randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';
import type { AuthTokens, RevocationEntry } from 'tessera-auth';

/** A current server writes a heartbeat this often; the contract promises at least every second. */
const HEARTBEAT_MS = 500;
/** Entries kept for followers that come back with `Last-Event-ID`; one from before them gets the snapshot. */
const LOG_SIZE = 10_000;
/** A follower that leaves this much unread past its opening catch-up is cut off: it resumes from its last id. */
const MAX_UNREAD_BYTES = 1 << 20;
const HEARTBEAT = ': heartbeat\n\n';

/** An entry as followers read it: snake_case, times in epoch ms. */
function wireEntry(entry: RevocationEntry) {
  return {
    kind: entry.kind,
    value: entry.value,
    expires_at: entry.expiresAt,
    ...(entry.kind === 'sub' && { revoked_before: entry.revokedBefore }),
  };
}

const frame = (entry: RevocationEntry, id?: string) =>
  `event: revocation\n${id === undefined ? '' : `id: ${id}\n`}data: ${JSON.stringify(wireEntry(entry))}\n\n`;

export type RevocationBroadcast = ReturnType<typeof createRevocationBroadcast>;

/**
 * `GET /revocations/stream`: this instance's copy of the revocation list, as Server-Sent Events.
 * A follower gets the entries in force, then each new one as this instance hears of it, with no
 * store read per follower: one feed per instance, however many follow it.
 *
 * Ids are positions in the shared feed, the same at every instance sharing the store, so a follower
 * may resume at any of them. An instance that does not know the position (it restarted, or the
 * position is older than what it keeps) sends the snapshot instead: more than was missed, never less.
 * Snapshot entries carry no id but the last, the position the snapshot covers: a follower cut off
 * in the middle keeps the id it came with, and is sent it all again.
 *
 * Heartbeats go out only while this instance's own copy is current: a follower of a partitioned
 * instance goes stale after its bound, exactly as the instance does.
 */
export function createRevocationBroadcast(tokens: AuthTokens) {
  // Positions of an instance without a shared feed (memory, SQLite) are its own, made unique per run.
  const run = randomBytes(6).toString('base64url');
  let counter = 0;
  // The position just before the log's first entry: a follower there lacks exactly the log.
  let start = tokens.revocationSnapshot().position ?? `${run}.0`;
  let head = start;
  let log: { position: string; event: string }[] = [];
  let indexOf = new Map<string, number>();
  const followers = new Map<Response, number>(); // each with the bytes it may leave unread

  const send = (res: Response, chunk: string) => {
    res.write(chunk);
    if (res.writableLength > followers.get(res)!) res.destroy();
  };

  const onRevocation = (entry: RevocationEntry, position: string | undefined) => {
    head = position ?? `${run}.${++counter}`;
    const event = frame(entry, head);
    indexOf.set(head, log.length);
    log.push({ position: head, event });
    if (log.length > 2 * LOG_SIZE) {
      start = log[log.length - LOG_SIZE - 1]!.position;
      log = log.slice(-LOG_SIZE);
      indexOf = new Map(log.map((logged, index) => [logged.position, index]));
    }
    for (const res of followers.keys()) send(res, event);
  };
  tokens.events.on('revocation', onRevocation);

  const timer = setInterval(() => {
    if (tokens.isStale()) return;
    for (const res of followers.keys()) send(res, HEARTBEAT);
  }, HEARTBEAT_MS);
  timer.unref();

  /** What a follower at `cursor` lacks: the logged entries after it, or the snapshot. */
  const catchUp = (cursor: string | undefined): string => {
    const last = cursor === start ? -1 : cursor === undefined ? undefined : indexOf.get(cursor);
    if (last !== undefined) {
      return log
        .slice(last + 1)
        .map((logged) => logged.event)
        .join('');
    }
    const { entries } = tokens.revocationSnapshot();
    return entries.map((entry, index) => frame(entry, index === entries.length - 1 ? head : undefined)).join('');
  };

  return {
    async handle(req: Request, res: Response): Promise<void> {
      await tokens.ensureLoaded();
      const cursor = req.get('last-event-id');
      res.shouldKeepAlive = false; // an ended stream closes its connection: the follower reconnects afresh
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-accel-buffering': 'no', // nginx: pass each event on at once
      });
      // Synchronous from here to the registration: no entry can fall between the catch-up and the live ones.
      const opening = `retry: 1000\n\n${catchUp(cursor)}`;
      followers.set(res, MAX_UNREAD_BYTES + Buffer.byteLength(opening));
      res.on('close', () => followers.delete(res));
      send(res, opening);
      if (!tokens.isStale()) send(res, HEARTBEAT); // caught up: current from now on
    },

    /** How many followers are connected. */
    get followers() {
      return followers.size;
    },

    /** Ends every stream (a shutdown): followers resume at another instance. */
    close(): void {
      clearInterval(timer);
      tokens.events.off('revocation', onRevocation);
      for (const res of followers.keys()) res.end();
      followers.clear();
    },
  };
}
