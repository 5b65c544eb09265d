import { createParser } from 'eventsource-parser';
import { ConfigError } from '../base/errors.js';
import { followerOf, type FollowerState } from '../stores/feed-follower.js';
import type { RevocationEntry, RevocationFollower, RevocationStore } from '../stores/store.js';
import { createRevocationMirror, type RevocationMirror } from './revocation-mirror.js';

/** Where the identity server's stream is and who this service is there. */
export interface RevocationStreamOptions {
  /** The stream, e.g. `https://id.example.com/revocations/stream` (the metadata's `revocation_stream_endpoint`). */
  url: string | URL;
  /** This service's OAuth client at the identity server (`tessera serve --client ID:SECRET`). */
  clientId: string;
  clientSecret: string;
  /**
   * Seconds the copy is trusted without hearing from the stream (default 5, at least 1). Past it,
   * `check` throws 503 `store_unavailable`, as the identity server's own instances do.
   */
  maxStaleness?: number;
  /**
   * Where the follower says that the stream became unreachable (and why) or answers again: once
   * per change, not per request (default `console.error`: stderr).
   */
  log?: (message: string) => void;
}

/** Wait before reconnecting, unless the server's `retry:` says otherwise (ms). */
const RETRY_MS = 1000;

/**
 * A copy of the identity server's revocation list for a service that verifies its tokens locally,
 * kept current through `GET /revocations/stream`: no store credentials, no call per request. The
 * copy fails closed: until the stream's opening catch-up has arrived, and whenever it has been
 * silent past `maxStaleness`, `check` throws 503 rather than accept a token it may not know is
 * revoked. After a drop it resumes from the last entry it received (`Last-Event-ID`).
 *
 * @example
 * ```ts
 * const revocations = followRevocationStream({ url: 'https://id.example.com/revocations/stream', clientId, clientSecret });
 * await revocations.ensureLoaded();
 * app.use(bearer({ verify, remoteKeys, revocations }));
 * ```
 */
export function followRevocationStream(options: RevocationStreamOptions): RevocationMirror {
  const { maxStaleness = 5 } = options;
  return createRevocationMirror({
    store: { revocations: streamSource(options, maxStaleness * 1000) },
    maxStaleness,
    staleMessage: "The revocation list may be behind: the identity server's revocation stream is not answering.",
  });
}

/** The stream as the mirror's store: read-only, with the opening snapshot delivered through `follow`. */
function streamSource(options: RevocationStreamOptions, silenceMs: number): RevocationStore {
  const authorization = `Basic ${Buffer.from(`${options.clientId}:${options.clientSecret}`).toString('base64')}`;
  return {
    add: () => Promise.reject(new ConfigError('A revocation stream is read-only: revoke at the identity server.')),
    list: () => Promise.resolve([]), // the entries in force arrive on the stream itself, before `ready`
    follow: (onEntry) => followStream(options.url, authorization, silenceMs, onEntry, options.log ?? console.error),
  };
}

/** Follows the stream; a connection silent for `silenceMs` (the copy is stale by then) is opened again, perhaps at a healthier instance. */
function followStream(
  url: string | URL,
  authorization: string,
  silenceMs: number,
  onEntry: (entry: RevocationEntry, position: string) => void,
  log: (message: string) => void,
): RevocationFollower {
  let stopped = false;
  // What was last said about the stream: each change is said once.
  let said: 'answering' | 'failing' | undefined;
  const say = (now: 'answering' | 'failing', message: string) => {
    if (said !== now) log(`tessera: the revocation stream at ${String(url)} ${message}`);
    said = now;
  };
  const state: FollowerState = { lastContact: Date.now(), connected: false, position: '' };
  let lastEventId: string | undefined;
  let retryMs = RETRY_MS;
  let aborter: AbortController | undefined;
  let settle: { resolve: () => void; reject: (error: unknown) => void } | undefined;
  const ready = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));

  const parser = createParser({
    onEvent(event) {
      if (event.event !== 'revocation') return;
      if (event.id !== undefined) lastEventId = state.position = event.id;
      const entry = fromWire(event.data);
      if (entry) onEntry(entry, state.position);
    },
    // A heartbeat: the first after connecting means the catch-up before it is all in.
    onComment() {
      state.connected = true;
      if (said === 'failing') say('answering', 'answers again; tokens are checked against it again.');
      said = 'answering';
      settle?.resolve();
    },
    onRetry(ms) {
      retryMs = ms;
    },
  });

  const connect = async () => {
    const controller = (aborter = new AbortController());
    const silence = setTimeout(() => controller.abort(), silenceMs);
    try {
      const response = await fetch(url, {
        headers: { authorization, accept: 'text/event-stream', ...(lastEventId !== undefined && { 'last-event-id': lastEventId }) },
        signal: controller.signal,
      });
      if (response.status === 401) {
        const { detail } = (await response.json().catch(() => ({}))) as { detail?: unknown };
        throw new ConfigError(`The identity server refused this client (${String(detail ?? 401)}): check the client id and secret.`);
      }
      if (!response.ok || !response.body) throw new Error(`answered ${response.status}`);
      parser.reset();
      const decoder = new TextDecoder();
      const reader = response.body.getReader();
      for (let read = await reader.read(); !read.done; read = await reader.read()) {
        state.lastContact = Date.now();
        silence.refresh();
        parser.feed(decoder.decode(read.value, { stream: true }));
      }
    } finally {
      clearTimeout(silence);
      state.connected = false; // whatever ended the connection, entries may be missed until the next catch-up
    }
  };

  void (async () => {
    while (!stopped) {
      try {
        await connect();
      } catch (error) {
        if (error instanceof ConfigError) {
          stopped = true; // wrong credentials do not heal by retrying
          log(`tessera: ${error.message}`);
          settle?.reject(error);
          return;
        }
        if (!stopped) say('failing', `is unreachable (${reasonOf(error)}); tokens are refused with 503 until it answers.`);
      }
      if (!stopped) await new Promise((resolve) => setTimeout(resolve, retryMs));
    }
  })();

  return followerOf(ready, state, () => {
    stopped = true;
    aborter?.abort();
  });
}

/** Why a connection failed, in a few words: the system error code where there is one (ECONNREFUSED …). */
function reasonOf(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  if ((error as { name?: unknown }).name === 'AbortError') return 'silent past the staleness bound';
  return error instanceof Error ? error.message : String(error);
}

/** An entry as the stream sends it (`{kind, value, expires_at, revoked_before?}`), or undefined if malformed. */
function fromWire(data: string): RevocationEntry | undefined {
  let wire: unknown;
  try {
    wire = JSON.parse(data);
  } catch {
    return undefined;
  }
  if (typeof wire !== 'object' || wire === null) return undefined;
  const { kind, value, expires_at: expiresAt, revoked_before: revokedBefore } = wire as Record<string, unknown>;
  if (typeof value !== 'string' || typeof expiresAt !== 'number') return undefined;
  if (kind === 'sub') return typeof revokedBefore === 'number' ? { kind, value, expiresAt, revokedBefore } : undefined;
  if (kind === 'jti' || kind === 'sid' || kind === 'kid') return { kind, value, expiresAt };
  return undefined;
}
