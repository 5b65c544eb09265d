import { identityOfClaims } from '../core/strategy.js';
import { NotImplementedError, TesseraError, TokenInvalidError, TokenKeyUnknownError } from '../base/errors.js';
import type { AuthContext, DeviceSession, Identity, LoginResult, SessionData, SessionInfo, Strategy } from '../base/types.js';
import type { RevocationMirror } from '../revocation/revocation-mirror.js';
import type { RemoteKeySet } from '../tokens/remote-key-set.js';
import { type TokenClaims, type Verifier, verifyingKeyOf } from '../tokens/verify.js';
import type { RequestFacts } from './request.js';

/** Longer headers are refused without looking further: no token we accept is that long. */
const MAX_AUTHORIZATION_BYTES = 16_384;

/** The scheme is `Bearer`: any other (a proxy's `Basic`) is not a credential for Tessera. */
const BEARER_SCHEME = /^bearer(?:\s|$)/i;
const SPACE = 0x20;

/**
 * The token after `Bearer` (any case) and one or more spaces (RFC 6750 §2.1); undefined when there
 * is no Authorization header or it is of another scheme (§3.1: as if the request carried no
 * credential), null when it is a bearer header without a token. The token's characters are not
 * scanned here: the verifier decodes every part as strict base64url and refuses anything else, so a
 * second pass over ~500 characters on every request would only change the error's wording.
 */
export function readBearerToken(header: string | undefined): string | undefined | null {
  if (header === undefined) return undefined;
  if (header.length > 7 && header.length <= MAX_AUTHORIZATION_BYTES && header.charCodeAt(6) === SPACE) {
    const scheme = header.slice(0, 6);
    if (scheme === 'Bearer' || scheme.toLowerCase() === 'bearer') {
      let start = 7;
      while (header.charCodeAt(start) === SPACE) start++;
      return start < header.length ? header.slice(start) : null;
    }
  }
  return BEARER_SCHEME.test(header) ? null : undefined;
}

const readOnly = (): never => {
  throw new NotImplementedError('This service only verifies tokens; sessions are managed at the identity server.');
};

/** `req.auth` for a request authenticated (or not) by a bearer token: everything comes from the claims. */
export class BearerContext implements AuthContext {
  readonly scheme: 'cookie' | 'bearer' = 'bearer';

  constructor(
    readonly claims: TokenClaims | null,
    readonly strategy: Strategy = 'stateless',
    readonly failure: TesseraError | null = null,
  ) {}

  #user: Identity | null | undefined;

  /** Built once per request from the claims (requireAuth and the route both read it). */
  get user(): Identity | null {
    if (this.#user !== undefined) return this.#user;
    this.#user = this.claims && identityOfClaims(this.claims);
    return this.#user;
  }

  get session(): SessionInfo | null {
    const claims = this.claims;
    if (!claims || typeof claims.sid !== 'string') return null;
    return { id: claims.sid, createdAt: (claims.iat ?? claims.exp) * 1000, expiresAt: claims.exp * 1000, data: {} };
  }

  async login(_identity: Identity): Promise<LoginResult> {
    return readOnly();
  }

  async logout(): Promise<void> {
    return readOnly();
  }

  async logoutAll(_options?: { keepCurrent?: boolean }): Promise<number> {
    return readOnly();
  }

  async rotate(_identity?: Identity): Promise<LoginResult> {
    return readOnly();
  }

  async listSessions(): Promise<DeviceSession[]> {
    return readOnly();
  }

  async revokeSession(_id: string): Promise<boolean> {
    return readOnly();
  }

  async updateData(_update: (data: SessionData) => SessionData): Promise<Readonly<SessionData>> {
    return readOnly();
  }
}

/**
 * How a resource service verifies the identity server's tokens: a verifier, optionally the JWKS
 * behind it and the revocation feed.
 *
 * @example
 * ```ts
 * const remote = createRemoteKeySet({ url: 'https://id.example.com/.well-known/jwks.json' });
 * await remote.refresh();
 * const options: BearerOptions = { verify: createVerifier({ keys: remote.ring, typ: 'at+jwt', issuer, audience: 'orders' }), remoteKeys: remote };
 * ```
 */
export interface BearerOptions {
  verify: Verifier;
  /** A remote key set behind `verify`: refreshed when stale, and refetched once for an unknown kid. */
  remoteKeys?: RemoteKeySet;
  /**
   * The identity server's revocation list, followed through the shared store: a token revoked
   * there (logout, password change …) is refused here within milliseconds, not at its expiry.
   */
  revocations?: RevocationMirror;
}

/**
 * Authenticates a request by its bearer token, with no store and no network on the hot path. No
 * token yields an anonymous context; a bad one too, with the reason in `failure`: a route that
 * needs the user (`requireAuth`) answers with it, and a public route ignores the header.
 */
export async function createBearerContext(request: RequestFacts, options: BearerOptions): Promise<BearerContext> {
  const token = readBearerToken(request.header('authorization'));
  if (token === undefined) return new BearerContext(null);
  try {
    return new BearerContext(await verifiedClaims(token, options));
  } catch (error) {
    if (!(error instanceof TesseraError)) throw error;
    return new BearerContext(null, 'stateless', error);
  }
}

async function verifiedClaims(token: string | null, options: BearerOptions): Promise<TokenClaims> {
  if (token === null) throw new TokenInvalidError('malformed Authorization header');
  options.remoteKeys?.refreshIfStale();
  let claims: TokenClaims;
  try {
    claims = options.verify(token);
  } catch (error) {
    if (!(error instanceof TokenKeyUnknownError && options.remoteKeys && (await options.remoteKeys.refreshForUnknownKid()))) throw error;
    claims = options.verify(token);
  }
  if (options.revocations) {
    if (!options.revocations.loaded) await options.revocations.ensureLoaded();
    options.revocations.check(claims, verifyingKeyOf(claims));
  }
  return claims;
}
