import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { RevocationEntry } from '../../packages/tessera-auth/src/base/types.js';
import { createAuth } from '../../packages/tessera-auth/src/core/create-auth.js';
import { internalsOf } from '../../packages/tessera-auth/src/core/internals.js';
import { createIntrospection } from '../../packages/tessera-auth/src/core/introspection.js';
import { createBearerContext } from '../../packages/tessera-auth/src/http/bearer.js';
import { createAuthContext } from '../../packages/tessera-auth/src/http/context.js';
import type { RequestFacts } from '../../packages/tessera-auth/src/http/request.js';
import { createMemoryStore } from '../../packages/tessera-auth/src/stores/memory.js';
import { createKeyRing, createVerifier, generateJwk, importKey } from '../../packages/tessera-auth/src/tokens/index.js';
import { createDeviceCookies } from '../../packages/tessera-auth-server/src/server/device-cookie.js';

const ISSUER = 'https://id.test';
const request = (token: string): RequestFacts => ({
  method: 'GET',
  ip: '127.0.0.1',
  header: (name) => (name === 'authorization' ? `Bearer ${token}` : undefined),
});
interface Claims {
  readonly jti: string;
  readonly sid: string;
  readonly sub: string;
}
const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Claims;

/**
 * Every reader of a credential (the request context of the token strategies, `bearer()` for
 * resource services, introspection, the identity server's device cookies) refuses it once any kind
 * of revocation entry covers it, a revocation of the key that signed it included, and accepts the
 * others. A reader that forgot the revocation list, or the verifying key, fails here.
 */
describe('every credential reader refuses what the revocation list revokes', () => {
  const [first, second] = [importKey({ alg: 'EdDSA', key: generateJwk('EdDSA') }), importKey({ alg: 'EdDSA', key: generateJwk('EdDSA') })];
  const keys = createKeyRing([
    { key: first, status: 'active' },
    { key: second, status: 'next' },
  ]);
  const auth = createAuth({ strategy: 'hybrid', store: createMemoryStore(), tokens: { keys, issuer: ISSUER } });
  const mirror = internalsOf(auth).tokens!.revocations;
  const introspection = createIntrospection(auth);
  const verify = createVerifier({ keys, typ: 'at+jwt', issuer: ISSUER, audience: ISSUER });
  let serial = 0;

  const readers = {
    'the request context': async (token: string) => {
      const context = await createAuthContext(auth, request(token), { appendSetCookie() {} });
      return Boolean(context.user);
    },
    'bearer()': async (token: string) => Boolean((await createBearerContext(request(token), { verify, revocations: mirror })).user),
    introspection: async (token: string) => (await introspection.introspect(token)).active,
  };
  const acceptedBy = async (token: string) =>
    Object.fromEntries(await Promise.all(Object.entries(readers).map(async ([name, read]) => [name, await read(token)] as const)));
  const everyone = (accepted: boolean) => Object.fromEntries(Object.keys(readers).map((name) => [name, accepted]));

  const login = async () => {
    const context = await createAuthContext(auth, { method: 'POST', ip: '127.0.0.1', header: () => undefined }, { appendSetCookie() {} });
    const result = await context.login({ id: `user-${++serial}`, roles: ['user'] }, { transport: 'body' });
    return result.accessToken!.token;
  };
  const later = () => Date.now() + 600_000;
  const entries: Record<string, (claims: Claims) => RevocationEntry> = {
    'its jti': (claims) => ({ kind: 'jti', value: claims.jti, expiresAt: later() }),
    'its session': (claims) => ({ kind: 'sid', value: claims.sid, expiresAt: later() }),
    'its user, before now': (claims) => ({ kind: 'sub', value: claims.sub, revokedBefore: Date.now() + 1000, expiresAt: later() }),
    'the key that signed it': () => ({ kind: 'kid', value: first.kid, expiresAt: later() }),
  };

  for (const [what, entryFor] of Object.entries(entries)) {
    it(`a token revoked by ${what}`, async () => {
      await auth.ready();
      const token = await login();
      const bystander = await login();
      assert.deepEqual(await acceptedBy(token), everyone(true), 'accepted before');
      await auth.tokens!.revoke(entryFor(claimsOf(token)));
      assert.deepEqual(await acceptedBy(token), everyone(false), 'refused after');
      if (what !== 'the key that signed it') assert.deepEqual(await acceptedBy(bystander), everyone(true), 'another token is not');
    });
  }

  it('device cookies: refused once their device, their user (before now) or their key is revoked', async () => {
    await auth.ready();
    const devices = createDeviceCookies({
      secret: randomBytes(32),
      issuer: ISSUER,
      secure: false,
      clock: auth.clock,
      verified: auth.tokens!.verified,
    });
    const freshDeviceOf = (userId: string) => devices.deviceOf(devices.issue(userId).split(';')[0], userId);
    const device = (user: string) => {
      const cookie = devices.issue(user).split(';')[0]!;
      const claims = claimsOf(cookie.slice(cookie.indexOf('=') + 1));
      return { claims, trusted: () => devices.deviceOf(cookie, user) !== undefined };
    };
    const revocations: [string, (claims: Claims) => RevocationEntry][] = [
      ['its device id', (claims) => ({ kind: 'jti', value: claims.jti, expiresAt: later() })],
      ['its user, before now', (claims) => ({ kind: 'sub', value: claims.sub, revokedBefore: Date.now() + 1000, expiresAt: later() })],
      ['the key that signed it', () => ({ kind: 'kid', value: 'device', expiresAt: later() })],
    ];
    for (const [what, entryFor] of revocations) {
      const [mine, bystander] = [device(`device-owner-${++serial}`), device(`bystander-${++serial}`)];
      assert.ok(mine.trusted() && bystander.trusted(), `trusted before: ${what}`);
      await auth.tokens!.revoke(entryFor(mine.claims));
      assert.equal(mine.trusted(), false, `refused after: ${what}`);
      if (what !== 'the key that signed it') assert.ok(bystander.trusted(), `another device is not: ${what}`);
    }
    assert.equal(freshDeviceOf('anyone'), undefined, 'the device key stays revoked');
  });

  it('a key revocation spares tokens of the other keys', async () => {
    keys.update([
      { key: first, status: 'revoked' },
      { key: second, status: 'active' },
    ]);
    assert.deepEqual(await acceptedBy(await login()), everyone(true));
    auth.close();
  });
});
