import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as jose from 'jose';
import * as openid from 'openid-client';
import { digest } from '../../packages/tessera-auth-server/src/server/oauth-clients.js';
import { Client } from '../helpers/http-client.js';
import { authorizationPath, pkce, tokenRequest } from '../helpers/oauth.js';
import { listen } from '../helpers/listen.js';
import { freePort, useRedis } from '../helpers/redis.js';
import { startTestServer } from '../helpers/server.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;
const PASSWORD = 'correct horse battery';
const SECRET = 'l'.repeat(40);
const RP = { id: 'rp', secret: SECRET };
const CALLBACK = 'https://rp.example/callback';
const AFTER_LOGOUT = 'https://rp.example/signed-out';
const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/**
 * Back-Channel Logout 1.0 and RP-initiated logout, two instances sharing Redis: each way a session
 * ends, at either instance, sends the relying party one logout token for that session, which jose
 * verifies (signature, `typ`, issuer, audience, `events`, `sid`, no `nonce`).
 */
describe('OAuth logout: back channel and RP-initiated, two instances sharing Redis', () => {
  const redisOf = useRedis();
  const cleanup: (() => unknown)[] = [];
  after(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it('every kind of end reaches the relying party once, from whichever instance made it', async (t) => {
    const redis = redisOf(t);
    if (!redis) return;
    // The relying party's back channel: every logout token it receives, by sid.
    const received = new EventEmitter();
    const tokens: string[] = [];
    const receiver = await listen((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        const token = new URLSearchParams(body).get('logout_token') ?? '';
        tokens.push(token);
        received.emit('token', token);
        res.end();
      });
    });
    cleanup.push(() => receiver.close());
    const dataDir = mkdtempSync(join(tmpdir(), 'tessera-logout-'));
    cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
    // The instances' common issuer is A's URL: every endpoint in the metadata is on loopback.
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}`;
    const options = {
      issuer,
      strategy: 'hybrid',
      store: 'redis',
      redisUrl: redis.url,
      dataDir,
      refreshGrace: 0,
      bootstrapAdmin: { username: 'root', password: PASSWORD },
      clients: [
        {
          id: 'rp',
          secretHash: digest(SECRET),
          name: 'Relying Party',
          redirectUris: [CALLBACK],
          grantTypes: ['authorization_code', 'refresh_token'],
          backchannelLogoutUri: `${receiver.url}/backchannel`,
          postLogoutRedirectUris: [AFTER_LOGOUT],
        },
      ],
    } as const;
    const a = await startTestServer({ ...options, port });
    cleanup.push(() => a.stop());
    const b = await startTestServer(options);
    cleanup.push(() => b.stop());
    const jwks = jose.createRemoteJWKSet(new URL(`${a.url}/.well-known/jwks.json`));
    const config = await openid.discovery(new URL(a.url), 'rp', SECRET, openid.ClientSecretBasic(SECRET), {
      execute: [openid.allowInsecureRequests],
    });
    assert.equal(config.serverMetadata().end_session_endpoint, `${issuer}/oauth/logout`);
    assert.equal(config.serverMetadata().backchannel_logout_supported, true);

    const username = `lara${process.pid}`;
    const browser = new Client(a.url);
    assert.equal((await browser.post('/auth/register', { username, password: PASSWORD })).status, 201);
    assert.equal((await browser.post('/auth/login', { username, password: PASSWORD }, { origin: a.url })).status, 200);

    /** An authorization of the relying party: its tokens, from instance `at`. */
    const signIn = async (at: TestServer) => {
      const { verifier, challenge } = pkce();
      const path = authorizationPath({
        client_id: 'rp',
        redirect_uri: CALLBACK,
        response_type: 'code',
        scope: 'openid',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      });
      const code = new URL((await browser.get(path)).headers.get('location')!).searchParams.get('code')!;
      const fields = { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: CALLBACK };
      const { status, body } = await tokenRequest(at.url, fields, RP);
      assert.equal(status, 200);
      return {
        access_token: body.access_token!,
        refresh_token: body.refresh_token!,
        id_token: body.id_token!,
        sid: jose.decodeJwt(body.id_token!).sid as string,
      };
    };
    /** The logout token for `sid`, verified: it arrives after `end` answered, or during it. */
    const logoutTokenFor = async (sid: string, end: () => Promise<unknown>) => {
      const arrived = (async () => {
        for (;;) {
          const found = tokens.find((token) => jose.decodeJwt(token).sid === sid);
          if (found) return found;
          await once(received, 'token');
        }
      })();
      await end();
      // Generous: a missing token fails the test here rather than at the file's time limit.
      const token = await Promise.race([
        arrived,
        sleep(20_000, undefined, { ref: false }).then(() => Promise.reject(new Error(`no logout token for ${sid} in 20 s`))),
      ]);
      const { payload, protectedHeader } = await jose.jwtVerify(token, jwks, { issuer, audience: 'rp', typ: 'logout+jwt' });
      assert.deepEqual(payload.events, { [LOGOUT_EVENT]: {} });
      assert.equal(payload.nonce, undefined);
      assert.ok(payload.sub && payload.jti && payload.iat && protectedHeader.kid);
      return payload;
    };
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
    const firstParty = async (at: TestServer) =>
      (await new Client(at.url).post('/auth/login', { username, password: PASSWORD, transport: 'body' })).body.access_token as string;

    const ends: Record<string, (session: Awaited<ReturnType<typeof signIn>>) => Promise<unknown>> = {
      'the client logs out with its token (B)': (session) =>
        new Client(b.url).post('/auth/logout', undefined, bearer(session.access_token)),
      'RP-initiated logout (B)': async (session) => {
        const url = openid.buildEndSessionUrl(config, {
          id_token_hint: session.id_token,
          post_logout_redirect_uri: AFTER_LOGOUT,
          state: 'bye',
        });
        const answer = await new Client(b.url).get(url.pathname + url.search);
        assert.equal(answer.status, 303);
        assert.equal(answer.headers.get('location'), `${AFTER_LOGOUT}?state=bye`);
      },
      'a device revoked from the device list (A)': async (session) =>
        new Client(a.url, bearer(await firstParty(a))).delete(`/auth/sessions/${encodeURIComponent(session.sid)}`),
      'RFC 7009 revocation of its refresh token (B)': (session) =>
        fetch(`${b.url}/oauth/revoke`, {
          method: 'POST',
          headers: {
            authorization: `Basic ${Buffer.from(`rp:${SECRET}`).toString('base64')}`,
            'content-type': 'application/x-www-form-urlencoded',
          },
          body: new URLSearchParams({ token: session.refresh_token }),
        }),
      'a reused refresh token (B)': async (session) => {
        await openid.refreshTokenGrant(config, session.refresh_token);
        await assert.rejects(openid.refreshTokenGrant(config, session.refresh_token));
      },
      'logout everywhere (A)': async () => new Client(a.url, bearer(await firstParty(a))).post('/auth/logout-all'),
      'a password change (B)': async () => {
        const user = new Client(b.url, bearer(await firstParty(b)));
        assert.equal((await user.post('/auth/password', { current_password: PASSWORD, new_password: `${PASSWORD}!` })).status, 204);
        assert.equal((await user.post('/auth/password', { current_password: `${PASSWORD}!`, new_password: PASSWORD })).status, 204);
      },
      'a role change by an admin (A)': async (session) => {
        const root = (await new Client(a.url).post('/auth/login', { username: 'root', password: PASSWORD, transport: 'body' })).body;
        const admin = new Client(a.url, bearer(root.access_token as string));
        assert.equal(
          (await admin.put(`/admin/users/${jose.decodeJwt(session.access_token).sub}/roles`, { roles: ['user', 'editor'] })).status,
          200,
        );
      },
    };
    const sids: string[] = [];
    for (const [kind, end] of Object.entries(ends)) {
      // The browser's own session may have ended with the last change: sign it in again.
      await browser.post('/auth/login', { username, password: PASSWORD }, { origin: a.url });
      const session = await signIn(kind.endsWith('(A)') ? b : a);
      const payload = await logoutTokenFor(session.sid, () => end(session));
      assert.equal(payload.sid, session.sid, kind);
      sids.push(session.sid);
      // Revoked means dead at the relying party, and here too.
      assert.equal((await new Client(a.url).get('/auth/me', bearer(session.access_token))).status, 401, kind);
    }
    // Each end was told once: neither instance repeats the other's.
    const told = tokens.map((token) => jose.decodeJwt(token).sid);
    for (const sid of sids) assert.equal(told.filter((one) => one === sid).length, 1);
  });
});
