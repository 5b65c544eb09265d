import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TesseraError } from '../../packages/tessera-auth/src/base/errors.js';
import type { AuthContext } from '../../packages/tessera-auth/src/base/types.js';
import { createAuth, type Auth } from '../../packages/tessera-auth/src/core/create-auth.js';
import { internalsOf } from '../../packages/tessera-auth/src/core/internals.js';
import { createAuthContext } from '../../packages/tessera-auth/src/http/context.js';
import type { RequestFacts } from '../../packages/tessera-auth/src/http/request.js';
import { createMemoryStore } from '../../packages/tessera-auth/src/stores/memory.js';
import { createKeyRing, generateJwk, importKey } from '../../packages/tessera-auth/src/tokens/index.js';

/**
 * A login made by a request that already carries a credential ends the credential's session
 * first, in every strategy: the old token, and any service token issued on its behalf, are
 * refused afterwards, not left alive beside the new login.
 */
const keys = createKeyRing([{ key: importKey({ alg: 'EdDSA', key: generateJwk('EdDSA') }), status: 'active' }]);
const user = { id: 'ana', name: 'ana', roles: ['user'] };

function request(headers: Record<string, string>): RequestFacts {
  return { method: 'GET', ip: '127.0.0.1', header: (name) => headers[name] };
}

async function contextOf(auth: Auth, headers: Record<string, string>, cookies: string[] = []): Promise<AuthContext> {
  return createAuthContext(auth, request(headers), { appendSetCookie: (value) => void cookies.push(value) });
}

/** Whether a token is accepted now: signature, then the revocation list. */
function accepted(auth: Auth, token: string): boolean {
  const { tokens } = internalsOf(auth);
  try {
    tokens!.verified(token, tokens!.verifyAnyAudience);
    return true;
  } catch (error) {
    if (error instanceof TesseraError) return false;
    throw error;
  }
}

describe('a login over an existing credential ends that credential', () => {
  it('stateless: the previous token is revoked by the new login', async () => {
    const auth = createAuth({ strategy: 'stateless', store: createMemoryStore(), tokens: { keys, issuer: 'https://id.test' } });
    await auth.ready();
    const first = (await (await contextOf(auth, {})).login(user)).accessToken!.token;
    assert.equal(accepted(auth, first), true);
    const second = (await (await contextOf(auth, { authorization: `Bearer ${first}` })).login(user)).accessToken!.token;
    assert.equal(accepted(auth, first), false, 'the token the request carried is dead');
    assert.equal(accepted(auth, second), true);
    auth.close();
  });

  it('stateful: a service token issued for the replaced session dies with it', async () => {
    const auth = createAuth({
      strategy: 'stateful',
      store: createMemoryStore(),
      cookie: { secure: false },
      tokens: { keys, issuer: 'https://id.test' },
    });
    await auth.ready();
    const cookies: string[] = [];
    const first = await (await contextOf(auth, {}, cookies)).login(user);
    const service = auth.tokens!.issueService(user, first.session.id, first.session.expiresAt, 'orders', undefined).token;
    assert.equal(accepted(auth, service), true);
    const cookie = cookies[0]!.split(';')[0]!;
    await (await contextOf(auth, { cookie })).login(user);
    assert.equal(accepted(auth, service), false, 'the replaced session takes its service tokens along');
    auth.close();
  });
});

describe('a privilege change announces the old session’s end before it replaces the record', () => {
  it('attack: with the announcement failing once, the demoted admin’s old token is still ended by revokeUser (it was never listed again)', async () => {
    const store = createMemoryStore();
    let failNextAnnouncement = false;
    const revocations = store.revocations;
    const flaky = {
      ...store,
      revocations: {
        ...revocations,
        add: (entry: Parameters<typeof revocations.add>[0]) => {
          if (!failNextAnnouncement) return revocations.add(entry);
          failNextAnnouncement = false;
          return Promise.reject(new Error('the store failed'));
        },
      },
    };
    const auth = createAuth({ strategy: 'hybrid', store: flaky, cookie: { secure: false }, tokens: { keys, issuer: 'https://id.test' } });
    await auth.ready();
    const admin = { id: 'root', name: 'root', roles: ['admin'] };
    const login = await (await contextOf(auth, {})).login(admin, { transport: 'body' });
    const oldToken = login.accessToken!.token;

    failNextAnnouncement = true;
    const demoting = await contextOf(auth, { authorization: `Bearer ${oldToken}` });
    await assert.rejects(demoting.rotate({ ...admin, roles: ['user'] }), /the store failed/);
    // The operator's answer to a failed demotion: end everything the user holds.
    await auth.revokeUser(admin.id);
    assert.equal(accepted(auth, oldToken), false, 'the old admin token is dead');
    auth.close();
  });
});
