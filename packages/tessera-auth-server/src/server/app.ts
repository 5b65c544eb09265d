import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import express, { type Request, type Response } from 'express';
import { refreshTokens, requireAuth, sendProblem, tessera } from 'tessera-auth/express';
import {
  type Auth,
  AuthenticationRequiredError,
  clientAddress,
  CredentialsChangedError,
  type DeviceSession,
  DpopProofError,
  type Identity,
  InvalidCredentialsError,
  InvalidRequestError,
  type LoginResult,
  NotFoundError,
  StoreUnavailableError,
  ThrottledError,
  TOKEN_RESPONSE_HEADERS,
  UseDpopNonceError,
  tokenResponseBody,
  toOAuthError,
  type ServerStore,
  type UserRecord,
} from 'tessera-auth';
import { boundKeyOf, type KeyRing } from 'tessera-auth/tokens';
import { createDeviceCookies } from './device-cookie.js';
import { serverMetadata } from './metadata.js';
import { methodGuard } from './method-guard.js';
import { guardMetrics, type MetricsAccess } from './metrics-access.js';
import { createClientAuthenticator, type OAuthClient } from './oauth-clients.js';
import { oauthRoutes } from './oauth-routes.js';
import { OPENAPI } from './openapi.js';
import { authorizationPage, SELF_SERVICE_PAGE } from './page.js';
import { createAuthorization, sendOAuthProtocolError } from './oauth-authorization.js';
import { OAuthProtocolError } from './oauth-error.js';
import { type ClientThrottle, createClientThrottle } from './client-throttle.js';
import { DEFAULT_LOGIN_THROTTLE } from './login-throttle.js';
import { rpInitiatedLogout } from './rp-logout.js';
import { oauthCors } from './oauth-cors.js';
import { userInfo } from './userinfo.js';
import { PAGE_SCRIPT } from './page-script.js';
import { PAGE_STYLE } from './page-style.js';
import { checkNewPassword } from './password-policy.js';
import { createRevocationBroadcast, type RevocationBroadcast } from './revocation-stream.js';
import { body, requestError, withoutControls } from './request-body.js';
import { createServiceGrants, type ServiceGrant } from './service-grants.js';
import { clearedSignedInHint, signedInHint } from './signed-in-hint.js';
import type { Telemetry } from './telemetry.js';
import type { createUserService } from './users.js';
import { checkRoles, checkUsername } from './users.js';

export interface ServerAppOptions {
  auth: Auth;
  users: ReturnType<typeof createUserService>;
  /** The signing keys, whose public halves the JWKS route publishes. */
  keys: KeyRing;
  /** What ID and logout tokens are signed with (default `keys`); published beside them. */
  idTokenKeys?: KeyRing;
  /** Why the keys directory cannot be read now, if it cannot (health then fails). */
  keysFailing?: () => Error | undefined;
  /**
   * What device cookies are signed with, shared by the instances (at least 32 bytes; default: a
   * random one of this process, so they last as long as it). Not a token key: a routine rotation
   * retires those within hours, and device cookies live 180 days.
   */
  deviceCookieSecret?: Buffer;
  /** Express 'trust proxy': X-Forwarded-For is believed only from these proxies (a hop count, addresses, ranges). */
  trustProxy?: string | number;
  /**
   * OAuth clients: confidential ones may introspect, revoke and follow the revocation stream; those
   * with redirect URIs sign users in through the authorization code flow.
   */
  clients?: readonly OAuthClient[];
  /** What authorization codes are sealed with, shared by the instances (32 bytes; default: a random one of this process). */
  authorizationCodeSecret?: Buffer;
  /** The revocation stream's followers, for the caller to end at shutdown (default: one of the app's own). */
  revocationStream?: RevocationBroadcast | undefined;
  /** The services users may get tokens for, each with the scopes it grants (default: none). */
  services?: readonly ServiceGrant[];
  /** Request and security-event logs, metrics. */
  telemetry: Telemetry;
  /** Who may read `/metrics` (default: no one). */
  metrics?: MetricsAccess;
  /** Failed token endpoint requests, slowed (default: the login throttle's limits). */
  clientThrottle?: ClientThrottle;
}

const iso = (ms: number) => new Date(ms).toISOString();
const publicUser = (user: Identity | UserRecord) => ({
  id: user.id,
  username: 'username' in user ? user.username : (user.name ?? ''),
  roles: [...user.roles],
});
const identityOf = (user: UserRecord): Identity => ({ id: user.id, name: user.username, roles: user.roles });
const device = (session: DeviceSession) => ({
  id: session.id,
  created_at: iso(session.createdAt),
  last_seen_at: iso(session.lastSeenAt),
  expires_at: iso(session.expiresAt),
  user_agent: session.userAgent,
  ip: session.ip,
  current: session.current,
  ...(session.clientId !== undefined && { client_id: session.clientId }),
});

/** A module of the browser client, as the library package ships it; the page imports the client, which imports its key module. */
const clientModule = (file: string) =>
  readFileSync(new URL(file, import.meta.resolve('tessera-auth/client')), 'utf8').replace(/\n\/\/# sourceMappingURL=.*$/, '\n');

/** The page's own files: nothing inline, nothing from elsewhere, no frames, forms post nowhere. */
const PAGE_FILES = [
  ['/tessera-page.css', 'text/css', PAGE_STYLE],
  ['/tessera-page.js', 'text/javascript', PAGE_SCRIPT],
  ['/tessera-client.js', 'text/javascript', clientModule('./index.js')],
  ['/dpop-key.js', 'text/javascript', clientModule('./dpop-key.js')],
] as const;
const PAGE_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'";

const missingCounters = (): never => {
  throw new TypeError('The identity server needs a ServerStore (users and counters).');
};

/** A login that lost the race with a credential change is checked again, against the new credentials. */
const MAX_LOGIN_ATTEMPTS = 3;

/** Attacker-chosen text in a log line: bounded. */
const forLog = (text: string) => (text.length > 64 ? `${text.slice(0, 64)}…` : text);

/** The identity server's HTTP contract (DESIGN.md), built only on Tessera's public API. */
export function createServerApp({
  auth,
  users,
  keys,
  idTokenKeys = keys,
  keysFailing = () => undefined,
  deviceCookieSecret = randomBytes(32),
  trustProxy,
  clients = [],
  services = [],
  telemetry,
  metrics = 'off',
  revocationStream = auth.tokens && createRevocationBroadcast(auth.tokens),
  authorizationCodeSecret = randomBytes(32),
  clientThrottle = createClientThrottle((auth.store as Partial<ServerStore>).counters ?? missingCounters(), DEFAULT_LOGIN_THROTTLE),
}: ServerAppOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  // Paths match exactly, as the prefix rules below (no-store, the OAuth error format) read them:
  // `/AUTH/sessions` is no route, not an account answer without its Cache-Control.
  app.enable('case sensitive routing');
  app.set('trust proxy', trustProxy ?? false);
  app.use(function securityHeaders(req, res, next) {
    res.set({ 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' });
    // Account answers carry personal data (user agents, addresses, tokens): never cached.
    if (req.path.startsWith('/auth/') || req.path.startsWith('/admin/')) res.set('cache-control', 'no-store');
    next();
  });
  // Every later reader of req.ip (routes, logs, the adapter) sees a valid address, never a header's text.
  app.use(function validClientAddress(req, _res, next) {
    Object.defineProperty(req, 'ip', { value: clientAddress(req.ip, req.socket.remoteAddress), configurable: true });
    next();
  });
  app.use(telemetry.observeRequests);
  app.use(oauthCors(clients));
  app.use(methodGuard(OPENAPI.paths));
  // Before tessera(): a scrape carries no credential, and must not cost a store read if it did.
  app.get('/metrics', guardMetrics(metrics), telemetry.metricsRoute);
  app.use(express.json({ limit: '16kb' }));
  // Before tessera(): renewing must work with an expired access token still in the headers.
  if (auth.strategy === 'hybrid') app.post('/auth/refresh', refreshTokens(auth));
  const authorization = createAuthorization({
    auth,
    clients,
    keys: idTokenKeys,
    codeSecret: authorizationCodeSecret,
    counters: (auth.store as Partial<ServerStore>).counters ?? missingCounters(),
    telemetry,
    page: (client) => authorizationPage(client.name ?? client.id),
    pagePolicy: PAGE_POLICY,
    services,
    throttle: clientThrottle,
  });
  // Clients authenticate with HTTP Basic or their id, not as users; the browser brings its cookies.
  app.use('/oauth', oauthRoutes(auth, clients, telemetry, authorization.token));
  app.get('/oauth/authorize', authorization.authorizePage);
  app.get('/oauth/logout', rpInitiatedLogout(auth, clients, idTokenKeys));
  const authenticateClient = createClientAuthenticator(clients);
  app.get('/revocations/stream', async (req, res) => {
    if (!revocationStream) throw new NotFoundError('This server signs no tokens.');
    authenticateClient(req.headers.authorization, {});
    await revocationStream.handle(req, res);
  });
  app.use(tessera(auth));
  app.post('/oauth/authorize', authorization.authorizeDecision);
  app.get('/oauth/userinfo', userInfo(auth));
  // Ids in paths (a device, a user) reach the store: never with a control character.
  app.param('id', function idWithoutControls(_req, _res, next, id: string) {
    withoutControls(id, 'id');
    next();
  });
  const devices =
    auth.tokens &&
    createDeviceCookies({
      secret: deviceCookieSecret,
      issuer: auth.tokens.issuer,
      secure: auth.cookie.secure,
      clock: auth.clock,
      verified: auth.tokens.verified,
    });

  /**
   * The password check of login and password change, with its outcome in the security log. What
   * vouches for the client: its device cookie at login, its session for a password change.
   */
  async function checkCredentials(req: Request, username: string, password: string, via: 'login' | 'password_change') {
    const ip = req.ip ?? '';
    const session = req.auth.session?.id;
    const trustedFor =
      via === 'login'
        ? (userId: string) => devices?.deviceOf(req.headers.cookie, userId)
        : () => (session === undefined ? undefined : `session:${session}`);
    try {
      return await users.authenticate(username, password, { ip, trustedFor });
    } catch (error) {
      const fields = { username: forLog(username), ip, via };
      if (error instanceof InvalidCredentialsError) telemetry.security('login_failed', fields);
      if (error instanceof ThrottledError) telemetry.security('login_throttled', { ...fields, retry_after: error.retryAfterSeconds });
      throw error;
    }
  }

  app.get('/', (_req, res) => {
    res.set('content-security-policy', PAGE_POLICY).type('html').send(SELF_SERVICE_PAGE);
  });
  for (const [path, type, text] of PAGE_FILES) {
    app.get(path, (_req, res) => void res.type(type).set('cache-control', 'no-cache').send(text));
  }

  const dpop = auth.tokens?.dpop;
  const metadata = () =>
    auth.tokens &&
    serverMetadata(auth.tokens.issuer, {
      services,
      clients,
      dpopAlgorithms: dpop?.mode === 'off' ? [] : (dpop?.algorithms ?? []),
      signingAlgorithms: [...new Set(idTokenKeys.jwks(Date.now()).keys.map((key) => key.alg))],
      authorization: authorization.supported,
      refresh: auth.strategy === 'hybrid',
    });
  for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
    app.get(path, (_req, res) => {
      const document = metadata();
      if (!document) throw new NotFoundError('This server signs no tokens.');
      res.set('cache-control', 'public, max-age=300').json(document);
    });
  }
  app.get('/openapi.json', (_req, res) => void res.set('cache-control', 'no-cache').json(OPENAPI));

  /** 503 while the keys directory cannot be read: a balancer should send users elsewhere. */
  const keysUnreadable = (res: Response): boolean => {
    if (!keysFailing()) return false;
    const detail = 'The keys directory cannot be read (see the log); the keys read last are in use.';
    res
      .status(503)
      .type('application/problem+json')
      .json({ type: 'urn:tessera:error:keys_unreadable', title: 'Keys unreadable', status: 503, code: 'keys_unreadable', detail });
    return true;
  };
  app.get('/healthz', async (_req, res) => {
    await auth.store.ping();
    if (!keysUnreadable(res)) res.json({ status: 'ok' });
  });
  // Orchestrators' probes, apart: alive (restart it if not) and ready (send it traffic).
  app.get('/livez', (_req, res) => void res.set('cache-control', 'no-store').json({ status: 'ok' }));
  app.get('/readyz', async (_req, res) => {
    res.set('cache-control', 'no-store');
    await auth.store.ping();
    // A copy of the revocation list that may be behind refuses tokens (503): no traffic until current.
    if (auth.tokens?.isStale()) throw new StoreUnavailableError();
    if (!keysUnreadable(res)) res.json({ status: 'ok' });
  });

  // Public keys only. Five minutes of caching: a rotation publishes the next key well before it signs.
  app.get('/.well-known/jwks.json', (_req, res) => {
    const now = Date.now();
    const published = idTokenKeys === keys ? keys.jwks(now) : { keys: [...keys.jwks(now).keys, ...idTokenKeys.jwks(now).keys] };
    res.set('cache-control', 'public, max-age=300').json(published);
  });

  app.post('/auth/register', async (req, res) => {
    const input = body(req);
    const username = checkUsername(input.username);
    const user = await users.register(username, checkNewPassword(input.password, username), req.ip ?? '');
    telemetry.security('registered', { user_id: user.id, username: user.username, ip: req.ip });
    res.status(201).json({ user: publicUser(user) });
  });

  app.post('/auth/login', async (req, res) => {
    const input = body(req);
    if (typeof input.username !== 'string' || typeof input.password !== 'string') {
      throw new InvalidRequestError('username and password are required.');
    }
    const transport = input.transport ?? 'cookie';
    if (transport !== 'cookie' && transport !== 'body') throw new InvalidRequestError('transport must be "cookie" or "body".');
    const { password } = input;
    const username = withoutControls(input.username, 'username');
    // A bad DPoP proof (or one without the current nonce) is answered before any password is hashed.
    if (req.auth.failure instanceof DpopProofError || req.auth.failure instanceof UseDpopNonceError) throw req.auth.failure;
    const login = async (attempt: number): Promise<{ user: UserRecord; result: LoginResult }> => {
      const { user, generation } = await checkCredentials(req, username, password, 'login');
      try {
        return { user, result: await req.auth.login(identityOf(user), { transport, generation }) };
      } catch (error) {
        if (!(error instanceof CredentialsChangedError) || attempt === MAX_LOGIN_ATTEMPTS) throw error;
        return login(attempt + 1);
      }
    };
    const { user, result } = await login(1);
    // This client has now proven it knows the password: later attempts through it are counted on
    // their own. Only for clients that keep cookies; bearer and body-transport clients get none.
    const keepsCookies =
      auth.strategy === 'stateful' || (auth.strategy === 'hybrid' && transport === 'cookie') || auth.tokens?.cookie === true;
    if (devices && keepsCookies) res.append('set-cookie', devices.issue(user.id));
    if (keepsCookies)
      res.append(
        'set-cookie',
        signedInHint(auth.strategy === 'hybrid' ? 'refresh' : 'session', auth.cookie.secure, auth.cookie.maxAgeSeconds),
      );
    telemetry.security('login_succeeded', { user_id: user.id, ip: req.ip, strategy: auth.strategy, transport });
    res.set(TOKEN_RESPONSE_HEADERS).json({
      user: publicUser(user),
      session: { id: result.session.id, expires_at: iso(result.session.expiresAt) },
      ...tokenResponseBody(result),
    });
  });

  app.get('/auth/me', requireAuth(), (req, res) => {
    const { user, session } = req.auth;
    res.json({
      user: publicUser(user as Identity),
      auth: { strategy: req.auth.strategy, session_id: session?.id ?? null, expires_at: session ? iso(session.expiresAt) : null },
    });
  });

  app.post('/auth/logout', async (req, res) => {
    const user = req.auth.user;
    await req.auth.logout();
    if (user) telemetry.security('logout', { user_id: user.id, ip: req.ip });
    res.append('set-cookie', clearedSignedInHint(auth.cookie.secure)).status(204).end();
  });

  app.post('/auth/logout-all', requireAuth(), async (req, res) => {
    const user = req.auth.user as Identity;
    const ended = await req.auth.logoutAll();
    telemetry.security('logout_all', { user_id: user.id, sessions: ended, ip: req.ip });
    res.append('set-cookie', clearedSignedInHint(auth.cookie.secure)).status(204).end();
  });

  app.get('/auth/sessions', requireAuth(), async (req, res) => {
    res.json({ sessions: (await req.auth.listSessions()).map(device) });
  });

  app.delete('/auth/sessions/:id', requireAuth(), async (req, res) => {
    if (!(await req.auth.revokeSession(String(req.params.id)))) throw new NotFoundError('No such session of yours.');
    telemetry.security('device_revoked', { user_id: (req.auth.user as Identity).id, device_id: String(req.params.id), ip: req.ip });
    res.status(204).end();
  });

  app.post('/auth/password', requireAuth(), async (req, res) => {
    const input = body(req);
    if (typeof input.current_password !== 'string') throw new InvalidRequestError('current_password is required.');
    const identity = req.auth.user as Identity;
    const newPassword = checkNewPassword(input.new_password, identity.name ?? '', 'new_password');
    const { user: account } = await checkCredentials(req, identity.name ?? '', input.current_password, 'password_change');
    if (account.id !== identity.id) throw new NotFoundError('The account no longer exists.');
    await users.changePassword(account, newPassword);
    const ended = await req.auth.logoutAll({ keepCurrent: true });
    telemetry.security('password_changed', { user_id: account.id, sessions: ended, ip: req.ip });
    res.status(204).end();
  });

  // Tokens and sessions carry the roles they were issued with, so a change ends them all: the next
  // login carries the new roles (a privilege change renews the session, as OWASP advises).
  app.put('/admin/users/:id/roles', requireAuth({ roles: ['admin'] }), async (req, res) => {
    const roles = checkRoles(body(req).roles);
    const user = await users.setRoles(String(req.params.id), roles);
    if (!user) throw new NotFoundError('No such user.');
    const ended = await auth.revokeUser(user.id);
    telemetry.security('roles_changed', { user_id: user.id, roles, by: (req.auth.user as Identity).id, sessions: ended });
    res.json({ user: publicUser(user) });
  });

  // A token for another service, on behalf of the caller: it dies with the caller's session.
  const grant = auth.tokens && createServiceGrants(services, auth.tokens.audience);
  app.post('/auth/token', requireAuth(), (req, res) => {
    const tokens = auth.tokens;
    if (!tokens || !grant) throw new NotFoundError('This server signs no tokens.');
    const input = body(req);
    const { audience, scope } = grant(input.audience, input.scope);
    const session = req.auth.session;
    if (!session) throw new AuthenticationRequiredError('A token on behalf of a session needs one.');
    // A caller holding a DPoP-bound token gets a service token bound to the same key.
    const jkt = req.auth.claims ? boundKeyOf(req.auth.claims) : undefined;
    const issued = tokens.issueService(req.auth.user as Identity, session.id, session.expiresAt, audience, scope, jkt);
    res.set(TOKEN_RESPONSE_HEADERS).json({
      access_token: issued.token,
      token_type: jkt === undefined ? 'Bearer' : 'DPoP',
      expires_in: issued.expiresIn,
      ...(scope && { scope }),
    });
  });

  app.use(() => {
    throw new NotFoundError('No such route.');
  });
  // OAuth endpoints answer as OAuth clients expect (RFC 6749 §5.2); every other route problem+json.
  app.use(function errors(error: unknown, req: Request, res: express.Response, next: express.NextFunction) {
    if (res.headersSent) return next(error);
    const known = requestError(error) ?? error;
    if (known instanceof OAuthProtocolError) return sendOAuthProtocolError(res, known);
    if (!req.path.startsWith('/oauth/')) return sendProblem(res, known, req.auth?.scheme);
    const answer = toOAuthError(known);
    res.status(answer.status).set(answer.headers).json(answer.body);
  });
  return app;
}
