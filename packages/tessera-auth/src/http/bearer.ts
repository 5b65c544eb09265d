import type { ErrorReporter } from '../base/error-report.js';
import { identityOfClaims } from '../core/strategy.js';
import { NotImplementedError, StoreUnavailableError, TesseraError, TokenInvalidError, TokenKeyUnknownError } from '../base/errors.js';
import type {
  AuthContext,
  CredentialScheme,
  DeviceSession,
  Identity,
  LoginResult,
  SessionData,
  SessionInfo,
  Strategy,
} from '../base/types.js';
import type { RevocationMirror } from '../revocation/revocation-mirror.js';
import { followRevokedKeys } from '../revocation/revoked-keys.js';
import type { RemoteKeySet } from '../tokens/remote-key-set.js';
import { type TokenClaims, type Verifier } from '../tokens/verify.js';
import { checkSender, type DpopCheck } from './dpop.js';
import type { RequestFacts } from './request.js';

/** Longer headers are refused without looking further: no token we accept is that long. */
const MAX_AUTHORIZATION_BYTES = 16_384;

const SPACE = 0x20;

/** An Authorization scheme Tessera reads, with what tells it apart from any other. */
interface Scheme {
  readonly name: string;
  readonly lower: string;
  /** The name followed by whitespace or nothing: a header of this scheme, well-formed or not. */
  readonly pattern: RegExp;
}

const scheme = (name: string): Scheme => ({ name, lower: name.toLowerCase(), pattern: new RegExp(`^${name}(?:\\s|$)`, 'i') });
const BEARER = scheme('Bearer');
const DPOP = scheme('DPoP');

/**
 * The token after the scheme's name (any case) and one or more spaces (RFC 6750 §2.1, RFC 9449
 * §7.1); undefined when there is no Authorization header or it is of another scheme (a proxy's
 * `Basic`: as if the request carried no credential, RFC 6750 §3.1), null when it is a header of the
 * scheme without a token. The token's characters are not scanned here: the verifier decodes every
 * part as strict base64url and refuses anything else, so a second pass over ~500 characters on
 * every request would only change the error's wording.
 */
function readSchemeToken(header: string | undefined, { name, lower, pattern }: Scheme): string | undefined | null {
  if (header === undefined) return undefined;
  const length = name.length;
  if (header.length > length + 1 && header.length <= MAX_AUTHORIZATION_BYTES && header.charCodeAt(length) === SPACE) {
    const given = header.slice(0, length);
    if (given === name || given.toLowerCase() === lower) {
      let start = length + 1;
      while (header.charCodeAt(start) === SPACE) start++;
      return start < header.length ? header.slice(start) : null;
    }
  }
  return pattern.test(header) ? null : undefined;
}

/** The token of an `Authorization: Bearer` header (see `readSchemeToken`). */
export const readBearerToken = (header: string | undefined): string | undefined | null => readSchemeToken(header, BEARER);

/** The token of an `Authorization: DPoP` header, which comes with a `DPoP` proof header (RFC 9449 §7.1). */
export const readDpopToken = (header: string | undefined): string | undefined | null => readSchemeToken(header, DPOP);

/** The token of a request's Authorization header, `Bearer` or `DPoP`, and which; undefined for none or another scheme. */
export function readAuthorization(request: RequestFacts): { token: string | null; scheme: 'bearer' | 'dpop' } | undefined {
  const header = request.header('authorization');
  const bearer = readBearerToken(header);
  if (bearer !== undefined) return { token: bearer, scheme: 'bearer' };
  const dpop = header === undefined ? undefined : readDpopToken(header);
  return dpop === undefined ? undefined : { token: dpop, scheme: 'dpop' };
}

const readOnly = (): never => {
  throw new NotImplementedError('This service only verifies tokens; sessions are managed at the identity server.');
};

/** `req.auth` for a request authenticated (or not) by a bearer token: everything comes from the claims. */
export class BearerContext implements AuthContext {
  constructor(
    readonly claims: TokenClaims | null,
    readonly strategy: Strategy = 'stateless',
    readonly failure: TesseraError | null = null,
    readonly scheme: CredentialScheme = 'bearer',
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
   * there (logout, password change …) is refused here within milliseconds, not at its expiry. A
   * key it names leaves `remoteKeys` at once, for good.
   */
  revocations?: RevocationMirror;
  /**
   * DPoP proof checks, for tokens bound to a client's key (`cnf.jkt`): a `createDpopVerifier()`, and
   * the origin clients address this service at. Without it, bound tokens are refused.
   */
  dpop?: DpopCheck;
  /** Refuse bearer (unbound) tokens: every token must be DPoP-bound (default false). */
  dpopRequired?: boolean;
  /** Where unexpected errors are reported (see `CreateAuthOptions.onError`). */
  onError?: ErrorReporter;
}

/**
 * Authenticates a request by its bearer token, with no store and no network on the hot path. No
 * token yields an anonymous context; a bad one too, with the reason in `failure`: a route that
 * needs the user (`requireAuth`) answers with it, and a public route ignores the header.
 */
export async function createBearerContext(request: RequestFacts, options: BearerOptions): Promise<BearerContext> {
  const presented = readAuthorization(request);
  if (presented === undefined) return new BearerContext(null);
  const { token, scheme } = presented;
  try {
    const claims = await verifiedClaims(token, options);
    checkSender(claims, token as string, scheme, options.dpop, request, undefined, !options.dpopRequired);
    return new BearerContext(claims, 'stateless', null, scheme);
  } catch (error) {
    if (!(error instanceof TesseraError)) throw error;
    return new BearerContext(null, 'stateless', error, scheme);
  }
}

/** The remote key sets already told of each revocation list's key revocations. */
const keySetsFollowing = new WeakMap<RevocationMirror, WeakSet<RemoteKeySet>>();

/** A key the revocation list names leaves the remote key set on the event (once per list and key set). */
function dropRevokedKeys(revocations: RevocationMirror, remoteKeys: RemoteKeySet): void {
  let following = keySetsFollowing.get(revocations);
  if (!following) keySetsFollowing.set(revocations, (following = new WeakSet()));
  if (following.has(remoteKeys)) return;
  following.add(remoteKeys);
  followRevokedKeys(revocations, remoteKeys.revokeKey);
}

/** How long a request waits for the revocation list's first load before it is refused (an unreachable stream never loads). */
const LOAD_WAIT_MS = 5_000;

async function loadedWithin(revocations: RevocationMirror, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    const message = `The revocation list has not loaded within ${ms / 1000} s: is the identity server (or the store) reachable?`;
    timer = setTimeout(() => reject(new StoreUnavailableError(undefined, message)), ms);
  });
  try {
    await Promise.race([revocations.ensureLoaded(), late]);
  } finally {
    clearTimeout(timer);
  }
}

async function verifiedClaims(token: string | null, options: BearerOptions): Promise<TokenClaims> {
  if (token === null) throw new TokenInvalidError('malformed Authorization header');
  const { revocations, remoteKeys, verify } = options;
  if (revocations) {
    if (!revocations.loaded) await loadedWithin(revocations, LOAD_WAIT_MS);
    if (remoteKeys) dropRevokedKeys(revocations, remoteKeys);
  }
  remoteKeys?.refreshIfStale();
  try {
    return revocations ? revocations.verified(token, verify) : verify(token);
  } catch (error) {
    if (!(error instanceof TokenKeyUnknownError && remoteKeys && (await remoteKeys.refreshForUnknownKid()))) throw error;
    return revocations ? revocations.verified(token, verify) : verify(token);
  }
}
