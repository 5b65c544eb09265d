/**
 * `tessera-auth/client`: the browser side of the hybrid strategy. The access token lives in memory only
 * (never in storage script could read later); the refresh handle is an HttpOnly cookie the page
 * never sees. Tokens are renewed before they expire, and tabs of one origin share each renewal:
 * a Web Lock elects the tab that refreshes, a BroadcastChannel hands the new token to the others.
 * It also works against stateful servers (cookie sessions, no token) and stateless ones. Where the
 * server binds tokens (DPoP), every token request carries a proof of this origin's key, which no
 * script can read (see `dpop-key.ts`).
 */

import { canHoldDpopKey, openDpopSigner, type DpopSigner } from './dpop-key.js';

/** The signed-in user, as the access token (or `/auth/me` for a session cookie) names it. */
export interface ClientUser {
  readonly id: string;
  readonly username: string;
  readonly roles: readonly string[];
}

/** Where the identity server is and how early tokens are renewed. */
export interface TesseraClientOptions {
  /** The identity server's URL (default: this page's origin). */
  baseUrl?: string;
  /** Renew this many seconds before the access token expires (default 30). */
  leewaySeconds?: number;
  /** Name of the lock, channel and key database shared by this origin's tabs (default `tessera`). */
  name?: string;
  /**
   * Prove a key with every login and refresh (RFC 9449 DPoP), so a server with `--dpop` binds the
   * tokens to it, and sign a proof for every request that presents a bound token (default true
   * where the browser has WebCrypto and IndexedDB). Servers without DPoP ignore the proofs.
   */
  dpop?: boolean;
  /**
   * The server's routes, relative to `baseUrl` (defaults: the identity server's own, `/auth/login`,
   * `/auth/refresh`, `/auth/me`, `/auth/logout`). An application that mounts Tessera elsewhere
   * names its routes here; what each must answer is in docs/browser-client.md.
   */
  paths?: Partial<ClientPaths>;
}

/** The routes the client calls (see `TesseraClientOptions.paths`). */
export interface ClientPaths {
  /** `POST {username, password}` → `{user, access_token?, token_type?, expires_in?, session?}`. */
  readonly login: string;
  /** `POST` with the refresh cookie → `{access_token, token_type, expires_in, session?}`; 401 or 404 when there is none. */
  readonly refresh: string;
  /** `GET` with the session cookie → `{user}` (stateful servers). */
  readonly me: string;
  /** `POST` with the credential → 204. */
  readonly logout: string;
}

const DEFAULT_PATHS: ClientPaths = { login: '/auth/login', refresh: '/auth/refresh', me: '/auth/me', logout: '/auth/logout' };

/** A failed call, with the server's problem `code` (`invalid_credentials`, `throttled` …). */
export class TesseraClientError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'TesseraClientError';
  }
}

/** The session behind the tokens, as the last login or refresh described it. */
export interface ClientSession {
  readonly id: string;
  /** Epoch ms: when the session ends if not used again (later with use). */
  readonly expiresAt: number;
}

interface TokenState {
  readonly token: string;
  /** `DPoP`: bound to this origin's key, presented with a proof. */
  readonly type: 'Bearer' | 'DPoP';
  /** Epoch ms, by this browser's clock. */
  readonly expiresAt: number;
  readonly user: ClientUser;
  readonly session: ClientSession | null;
}

/** What login and refresh answer (the fields the client reads). */
interface TokenBody {
  readonly access_token: string;
  readonly token_type?: string;
  readonly expires_in: number;
  readonly session?: { readonly id: string; readonly expires_at: string };
}

type Message = { type: 'token'; state: TokenState } | { type: 'signed-out' };

/** How long a tab waits for another tab's renewal before renewing itself. */
const WAIT_FOR_OTHER_TAB_MS = 5_000;

/** Display only: the token is verified by servers, never by the page. */
function userFromToken(token: string): ClientUser {
  const payload = JSON.parse(atob((token.split('.')[1] ?? '').replace(/-/g, '+').replace(/_/g, '/'))) as Record<string, unknown>;
  const roles = Array.isArray(payload.roles) ? payload.roles.filter((role): role is string => typeof role === 'string') : [];
  return { id: String(payload.sub), username: typeof payload.name === 'string' ? payload.name : '', roles };
}

async function problemOf(response: Response): Promise<TesseraClientError> {
  const body = (await response.json().catch(() => null)) as { code?: string; detail?: string } | null;
  return new TesseraClientError(response.status, body?.code ?? 'http_error', body?.detail ?? `HTTP ${response.status}`);
}

/** A browser's handle on its Tessera session (see `createTesseraClient`). */
export interface TesseraClient {
  /** The signed-in user, or null. */
  readonly user: ClientUser | null;
  /**
   * The session behind the access token (its id, when it ends unless used again), as the server
   * last described it; null when signed out or signed in by a session cookie (ask `/auth/me`).
   */
  readonly session: ClientSession | null;
  /** Calls `listener` with the user (or null) whenever that changes, in this tab or another; returns the unsubscribe function. */
  subscribe(listener: (user: ClientUser | null) => void): () => void;
  /**
   * Picks up an existing session after a page load: by the refresh cookie (hybrid), else by the
   * session cookie (stateful). `via` tries only the one the page knows the server uses.
   */
  restore(options?: { via?: 'refresh' | 'session' }): Promise<ClientUser | null>;
  /** Signs in with a password; throws `TesseraClientError` with the server's problem code. */
  login(username: string, password: string): Promise<ClientUser>;
  /**
   * A live access token (renewed first if it is about to expire), or null when signed out or
   * cookie-based. A DPoP-bound one is useless without a proof of this origin's key: use `fetch`.
   */
  getAccessToken(): Promise<string | null>;
  /** `fetch` with the access token attached (and a DPoP proof when it is bound; cookies ride along for same-origin calls). */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** Signs out here and in every tab. */
  logout(): Promise<void>;
  /** Stops the renewal timer and leaves the tab channel. */
  close(): void;
}

/**
 * The browser client: signs in, keeps the access token in memory and renews it before it expires,
 * shares the sign-in state between tabs, and restores it after a reload from the refresh cookie.
 *
 * @example
 * ```ts
 * const client = createTesseraClient({ baseUrl: 'https://id.example.com' });
 * await client.restore();
 * const orders = await client.fetch('/api/orders');
 * ```
 */
export function createTesseraClient(options: TesseraClientOptions = {}): TesseraClient {
  const base = options.baseUrl ?? '';
  const leewayMs = (options.leewaySeconds ?? 30) * 1000;
  const name = options.name ?? 'tessera';
  const paths: ClientPaths = { ...DEFAULT_PATHS, ...options.paths };
  const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel(name) : undefined;
  const listeners = new Set<(user: ClientUser | null) => void>();

  let state: TokenState | null = null;
  /** A user signed in by a session cookie (stateful servers): no token to manage. */
  let cookieUser: ClientUser | null = null;
  let renewing: Promise<TokenState | null> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let waiters: ((state: TokenState | null) => void)[] = [];

  const fresh = (candidate: TokenState | null) => candidate !== null && candidate.expiresAt - leewayMs > Date.now();

  function adopt(next: TokenState | null, announce: boolean): void {
    state = next;
    if (next) cookieUser = null;
    clearTimeout(timer);
    // Renew ahead of expiry; with several tabs, the lock makes this one renewal, not one per tab.
    if (next) timer = setTimeout(() => void renew().catch(() => undefined), Math.max(0, next.expiresAt - leewayMs - Date.now()));
    if (announce)
      channel?.postMessage(next ? ({ type: 'token', state: next } satisfies Message) : ({ type: 'signed-out' } satisfies Message));
    for (const resolve of waiters) resolve(next);
    waiters = [];
    for (const listener of listeners) listener(next?.user ?? cookieUser);
  }

  channel?.addEventListener('message', (event: MessageEvent<Message>) => {
    if (event.data.type === 'token') adopt(event.data.state, false);
    else adopt(null, false);
  });

  let signer: Promise<DpopSigner | null> | undefined;
  /** This origin's DPoP key, opened once; null when off or the browser cannot hold one. */
  const dpopSigner = () => (signer ??= options.dpop !== false && canHoldDpopKey() ? openDpopSigner(`${name}-dpop`) : Promise.resolve(null));

  /**
   * One request. `proof`: a login or refresh (a proof of the key, so the server can bind the
   * tokens), or the token the request presents (with a proof if it is bound). A server that asks
   * for a new DPoP nonce is answered once more, with it.
   */
  async function call(path: string, init: RequestInit = {}, proof?: 'key' | TokenState): Promise<Response> {
    const method = init.method ?? 'GET';
    const send = async () => {
      const dpop = proof === 'key' || proof?.type === 'DPoP' ? await dpopSigner() : null;
      const token = typeof proof === 'object' ? proof : undefined;
      const response = await fetch(base + path, {
        ...init,
        credentials: base ? 'include' : 'same-origin',
        headers: {
          // A content type only with a body: some frameworks (Fastify) refuse an empty JSON body.
          ...(init.body !== undefined && { 'content-type': 'application/json' }),
          ...(dpop && { dpop: await dpop.proof(method, base + path, token?.token) }),
          ...(token && { authorization: `${token.type} ${token.token}` }),
          ...init.headers,
        },
      });
      dpop?.learn(response);
      return response;
    };
    const response = await send();
    const nonceAsked = response.status === 401 && /error="use_dpop_nonce"/.test(response.headers.get('www-authenticate') ?? '');
    return nonceAsked ? send() : response;
  }

  function stateFrom(body: TokenBody): TokenState {
    const session = body.session ? { id: body.session.id, expiresAt: Date.parse(body.session.expires_at) } : null;
    const type = body.token_type === 'DPoP' ? 'DPoP' : 'Bearer';
    const expiresAt = Date.now() + body.expires_in * 1000;
    return { token: body.access_token, type, expiresAt, user: userFromToken(body.access_token), session };
  }

  /** One request to the server: the refresh cookie for a new token (null when there is no session). */
  async function refreshNow(): Promise<TokenState | null> {
    const response = await call(paths.refresh, { method: 'POST' }, 'key');
    // No session (401), or no refresh route at all (404: a stateful or stateless server).
    if (response.status === 401 || response.status === 404) {
      adopt(null, false);
      return null;
    }
    if (!response.ok) throw await problemOf(response);
    const next = stateFrom((await response.json()) as TokenBody);
    adopt(next, true);
    return next;
  }

  /** Another tab holds the lock and is renewing: wait for its broadcast (or give up after a while). */
  function otherTabsRenewal(): Promise<TokenState | null | 'timeout'> {
    return new Promise((resolve) => {
      const giveUp = setTimeout(() => resolve('timeout'), WAIT_FOR_OTHER_TAB_MS);
      waiters.push((next) => {
        clearTimeout(giveUp);
        resolve(next);
      });
    });
  }

  async function coordinatedRefresh(): Promise<TokenState | null> {
    const locks = typeof navigator === 'object' ? navigator.locks : undefined;
    // Without Web Locks, tabs may race; the server's grace window keeps the loser's handle alive too.
    if (!locks) return refreshNow();
    const lockName = `${name}:refresh`;
    const outcome: TokenState | null | 'timeout' = await locks.request(lockName, { ifAvailable: true }, async (lock) => {
      if (lock) return fresh(state) ? state : refreshNow();
      return otherTabsRenewal();
    });
    if (outcome !== 'timeout') return outcome;
    return locks.request(lockName, async (): Promise<TokenState | null> => (fresh(state) ? state : refreshNow()));
  }

  function renew(): Promise<TokenState | null> {
    renewing ??= coordinatedRefresh().finally(() => (renewing = undefined));
    return renewing;
  }

  /** A valid access token, renewed first if it is about to expire; null when signed out (or cookie-based). */
  async function liveToken(): Promise<TokenState | null> {
    if (state && fresh(state)) return state;
    if (cookieUser) return null;
    return renew();
  }

  /** `fetch` with the access token (or the session cookie); a 401 for an expired token is renewed and retried once. */
  async function authorizedFetch(path: string, init: RequestInit = {}): Promise<Response> {
    const send = async () => call(path, init, (await liveToken()) ?? undefined);
    const response = await send();
    if (response.status !== 401 || (!state && !cookieUser)) return response;
    const { code } = (await response
      .clone()
      .json()
      .catch(() => ({}))) as { code?: string };
    if (code === 'token_expired' && state) {
      state = null;
      return send();
    }
    // The credential is dead (this device was signed out elsewhere): every tab learns it now.
    // Other 401s, such as a wrong current password, leave the user signed in.
    if (code === 'token_revoked' || code === 'unauthenticated') {
      cookieUser = null;
      adopt(null, true);
    }
    return response;
  }

  return {
    get user(): ClientUser | null {
      return state?.user ?? cookieUser;
    },

    get session(): ClientSession | null {
      return state?.session ?? null;
    },

    subscribe(listener: (user: ClientUser | null) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    async restore(options: { via?: 'refresh' | 'session' } = {}): Promise<ClientUser | null> {
      if (options.via !== 'session' && (await renew())) return state?.user ?? null;
      if (options.via === 'refresh') return null;
      const me = await call(paths.me);
      cookieUser = me.ok ? ((await me.json()) as { user: ClientUser }).user : null;
      for (const listener of listeners) listener(cookieUser);
      return cookieUser;
    },

    async login(username: string, password: string): Promise<ClientUser> {
      const response = await call(paths.login, { method: 'POST', body: JSON.stringify({ username, password }) }, 'key');
      if (!response.ok) throw await problemOf(response);
      const body = (await response.json()) as { user: ClientUser } & Partial<TokenBody>;
      if (body.access_token && body.expires_in) {
        adopt(stateFrom(body as TokenBody), true);
      } else {
        cookieUser = body.user;
        adopt(null, false);
      }
      return body.user;
    },

    getAccessToken: async () => (await liveToken())?.token ?? null,

    fetch: authorizedFetch,

    async logout(): Promise<void> {
      await authorizedFetch(paths.logout, { method: 'POST' });
      cookieUser = null;
      adopt(null, true);
    },

    close(): void {
      clearTimeout(timer);
      channel?.close();
      listeners.clear();
    },
  };
}
