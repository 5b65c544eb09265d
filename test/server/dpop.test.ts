import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseClient } from '../../packages/tessera-auth-server/src/server/oauth-clients.js';
import { parseService } from '../../packages/tessera-auth-server/src/server/service-grants.js';
import { claimsOf, DpopHolder } from '../helpers/dpop-holder.js';
import { Client } from '../helpers/http-client.js';
import { handSignedRsaProof, oddRsaKey } from '../helpers/odd-rsa-key.js';
import { useRedis } from '../helpers/redis.js';
import { startTestServer } from '../helpers/server.js';
import { spawnServer, spawnServerWithFreshData, type ServerProcess } from '../helpers/server-process.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;
const PASSWORD = 'correct horse battery';
const SECRET = 'a-client-secret-of-at-least-32-characters';
let serial = 0;
const name = () => `dpop${process.pid}x${++serial}`;

async function register(server: { readonly url: string }): Promise<string> {
  const username = name();
  assert.equal((await new Client(server.url).post('/auth/register', { username, password: PASSWORD })).status, 201);
  return username;
}

/** Registers a user and logs in with a proof of `holder`'s key: the tokens are bound to it. */
async function boundLogin(server: { readonly url: string }, holder: DpopHolder, origin?: string) {
  const username = await register(server);
  const login = await holder.request(server.url, 'POST', '/auth/login', {
    json: { username, password: PASSWORD, transport: 'body' },
    ...(origin && { origin }),
  });
  assert.equal(login.status, 200, JSON.stringify(login.body));
  return { username, token: login.body.access_token as string, handle: login.body.refresh_token as string, login };
}

/** A refused request: 401, the RFC 9449 / RFC 6750 error in the DPoP or Bearer challenge, and Tessera's code. */
function assertRefused(response: { status: number; headers: Headers; body: Record<string, unknown> }, challenge: string, code: string) {
  assert.equal(response.status, 401, JSON.stringify(response.body));
  assert.equal(response.headers.get('www-authenticate'), challenge);
  assert.equal(response.body.code, code);
}

describe('DPoP on the identity server (--dpop required, hybrid)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({
      strategy: 'hybrid',
      dpop: 'required',
      clients: [parseClient(`gateway:${SECRET}`)],
      services: [parseService('orders orders:read')],
    });
  });
  after(() => server.stop());

  it('asks for a nonce first, then binds the tokens to the key of the login proof', async () => {
    const holder = await DpopHolder.create('ES256');
    const username = await register(server);
    const first = await holder.request(server.url, 'POST', '/auth/login', {
      json: { username, password: PASSWORD, transport: 'body' },
      claims: { nonce: undefined },
    });
    assertRefused(first, 'DPoP error="use_dpop_nonce"', 'use_dpop_nonce');
    assert.match(first.headers.get('dpop-nonce') ?? '', /^[0-9a-z]+\.[\w-]{22}$/);

    const { token, login } = await boundLogin(server, holder);
    assert.equal(login.body.token_type, 'DPoP');
    assert.deepEqual(claimsOf(token).cnf, { jkt: holder.jkt });
    const me = await holder.request(server.url, 'GET', '/auth/me', { token });
    assert.equal(me.status, 200, JSON.stringify(me.body));
    assert.equal(me.body.user.username, login.body.user.username);
  });

  it('refuses a login without a proof: no unbound token is issued', async () => {
    const username = await register(server);
    const response = await new Client(server.url).post('/auth/login', { username, password: PASSWORD, transport: 'body' });
    assertRefused(response, 'DPoP error="invalid_dpop_proof"', 'invalid_dpop_proof');
    assert.equal(response.body.access_token, undefined);
  });

  it('refuses a stolen bound token replayed as a bearer token, without a proof, or with a proof of another key', async () => {
    const holder = await DpopHolder.create('EdDSA');
    const thief = await DpopHolder.create('EdDSA');
    thief.nonce = holder.nonce; // nonces are public: the thief can have a fresh one too
    const { token } = await boundLogin(server, holder);
    const asBearer = await new Client(server.url, { authorization: `Bearer ${token}` }).get('/auth/me');
    assertRefused(asBearer, 'Bearer error="invalid_token"', 'token_invalid');
    const noProof = await holder.request(server.url, 'GET', '/auth/me', { token, proof: null });
    assertRefused(noProof, 'DPoP error="invalid_dpop_proof"', 'invalid_dpop_proof');
    const otherKey = await thief.request(server.url, 'GET', '/auth/me', { token });
    assertRefused(otherKey, 'DPoP error="invalid_dpop_proof"', 'invalid_dpop_proof');
    assert.match(otherKey.body.detail as string, /another key/);
    // The holder itself is still served.
    assert.equal((await holder.request(server.url, 'GET', '/auth/me', { token })).status, 200);
  });

  it('refuses a replayed proof, and proofs for another URL, another method, another token, or with a stale iat', async () => {
    const holder = await DpopHolder.create('RS256');
    const { token } = await boundLogin(server, holder);
    const used = await holder.request(server.url, 'GET', '/auth/me', { token });
    assert.equal(used.status, 200);
    const replayed = await holder.request(server.url, 'GET', '/auth/me', { token, proof: used.proof! });
    assertRefused(replayed, 'DPoP error="invalid_dpop_proof"', 'invalid_dpop_proof');
    assert.match(replayed.body.detail as string, /replayed/);

    const attacks: [string, Parameters<DpopHolder['request']>[3], RegExp][] = [
      ['another URL', { token, claims: { htu: `${server.url}/auth/sessions` } }, /htu/],
      ['another method', { token, claims: { htm: 'POST' } }, /htm/],
      ['a stale iat', { token, claims: { iat: Math.floor(Date.now() / 1000) - 120 } }, /iat/],
      ['an iat from the future', { token, claims: { iat: Math.floor(Date.now() / 1000) + 120 } }, /iat/],
      ['another token', { token, claims: { ath: 'x'.repeat(43) } }, /ath/],
      ['no token hash', { token, claims: { ath: undefined } }, /ath/],
      ['a made-up nonce', { token, claims: { nonce: 'zzzz.aaaaaaaaaaaaaaaaaaaaaa' } }, /nonce/],
    ];
    for (const [attack, options, reason] of attacks) {
      const response = await holder.request(server.url, 'GET', '/auth/me', options);
      assert.equal(response.status, 401, attack);
      assert.match(response.headers.get('www-authenticate') ?? '', /^DPoP error="(invalid_dpop_proof|use_dpop_nonce)"$/, attack);
      assert.match(`${response.body.code} ${response.body.detail}`, reason, attack);
    }
  });

  it('renews a bound refresh handle only with a proof of its key; a thief without it rotates nothing', async () => {
    const holder = await DpopHolder.create('ES256');
    const thief = await DpopHolder.create('ES256');
    const { handle } = await boundLogin(server, holder);
    thief.nonce = holder.nonce;
    const withoutProof = await new Client(server.url).post('/auth/refresh', { refresh_token: handle });
    assertRefused(withoutProof, 'DPoP error="invalid_dpop_proof"', 'invalid_dpop_proof');
    const otherKey = await thief.request(server.url, 'POST', '/auth/refresh', { json: { refresh_token: handle } });
    assertRefused(otherKey, 'DPoP error="invalid_dpop_proof"', 'invalid_dpop_proof');
    // Neither attempt used the handle up: its holder renews with it, and gets a bound token again.
    const renewed = await holder.request(server.url, 'POST', '/auth/refresh', { json: { refresh_token: handle } });
    assert.equal(renewed.status, 200, JSON.stringify(renewed.body));
    assert.equal(renewed.body.token_type, 'DPoP');
    assert.deepEqual(claimsOf(renewed.body.access_token).cnf, { jkt: holder.jkt });
    const next = await holder.request(server.url, 'POST', '/auth/refresh', { json: { refresh_token: renewed.body.refresh_token } });
    assert.equal(next.status, 200, 'the rotated handle is bound to the same key');
  });

  it('binds a service token to the caller’s key, and introspection names the key of tokens and handles', async () => {
    const holder = await DpopHolder.create('ES256');
    const { token, handle } = await boundLogin(server, holder);
    const service = await holder.request(server.url, 'POST', '/auth/token', { token, json: { audience: 'orders' } });
    assert.equal(service.status, 200, JSON.stringify(service.body));
    assert.equal(service.body.token_type, 'DPoP');
    assert.deepEqual(claimsOf(service.body.access_token).cnf, { jkt: holder.jkt });

    const introspect = async (value: string) => {
      const response = await fetch(`${server.url}/oauth/introspect`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`gateway:${SECRET}`).toString('base64')}` },
        body: new URLSearchParams({ token: value }),
      });
      return (await response.json()) as Record<string, unknown>;
    };
    const access = await introspect(token);
    assert.equal(access.active, true);
    assert.equal(access.token_type, 'DPoP');
    assert.deepEqual(access.cnf, { jkt: holder.jkt });
    assert.deepEqual((await introspect(handle)).cnf, { jkt: holder.jkt });
  });

  it('advertises its proof algorithms in the metadata', async () => {
    const metadata = await (await fetch(`${server.url}/.well-known/oauth-authorization-server`)).json();
    assert.deepEqual(metadata.dpop_signing_alg_values_supported, ['EdDSA', 'Ed25519', 'ES256', 'RS256']);
  });
});

describe('DPoP allowed: bound tokens for clients with a key, bearer tokens for the others', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ strategy: 'stateless', dpop: 'allowed' });
  });
  after(() => server.stop());

  it('binds a login with a proof and refuses that token as a bearer one; a login without one gets a bearer token', async () => {
    const holder = await DpopHolder.create('EdDSA');
    const { token, login } = await boundLogin(server, holder);
    assert.equal(login.body.token_type, 'DPoP');
    assert.equal((await holder.request(server.url, 'GET', '/auth/me', { token })).status, 200);
    const asBearer = await new Client(server.url, { authorization: `Bearer ${token}` }).get('/auth/me');
    assertRefused(asBearer, 'Bearer error="invalid_token"', 'token_invalid');

    const username = await register(server);
    const plain = await new Client(server.url).post('/auth/login', { username, password: PASSWORD });
    assert.equal(plain.body.token_type, 'Bearer');
    assert.equal(claimsOf(plain.body.access_token).cnf, undefined);
    const bearer = plain.body.access_token as string;
    assert.equal((await new Client(server.url, { authorization: `Bearer ${bearer}` }).get('/auth/me')).status, 200);
    // An unbound token cannot be dressed up as a DPoP one.
    const dressed = await holder.request(server.url, 'GET', '/auth/me', { token: bearer });
    assertRefused(dressed, 'DPoP error="invalid_token"', 'token_invalid');
  });

  it('a password change made with a bound token keeps that token and ends the user’s other bound tokens', async () => {
    const holder = await DpopHolder.create('ES256');
    const { token, username } = await boundLogin(server, holder);
    const other = await holder.request(server.url, 'POST', '/auth/login', { json: { username, password: PASSWORD } });
    assert.equal(other.status, 200);
    const changed = await holder.request(server.url, 'POST', '/auth/password', {
      token,
      json: { current_password: PASSWORD, new_password: 'another horse battery' },
    });
    assert.equal(changed.status, 204, JSON.stringify(changed.body));
    assert.equal((await holder.request(server.url, 'GET', '/auth/me', { token })).status, 200, 'the caller’s token stays');
    const ended = await holder.request(server.url, 'GET', '/auth/me', { token: other.body.access_token });
    assertRefused(ended, 'DPoP error="invalid_token"', 'token_revoked');
  });
});

describe('DPoP across two instances sharing a store and keys', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-dpop-'));
  const ORIGIN = 'https://id.test';
  let first: TestServer;
  let second: TestServer;
  before(async () => {
    const options = { strategy: 'hybrid', dpop: 'required', dataDir, issuer: ORIGIN } as const;
    first = await startTestServer(options);
    second = await startTestServer(options);
  });
  after(async () => {
    await first.stop();
    await second.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('a nonce from one instance is good at the other; the binding holds at both', async () => {
    const holder = await DpopHolder.create('ES256');
    const thief = await DpopHolder.create('ES256');
    const { token, handle } = await boundLogin(first, holder, ORIGIN);
    const nonce = holder.nonce;
    const atSecond = await holder.request(second.url, 'GET', '/auth/me', { token, origin: ORIGIN });
    assert.equal(atSecond.status, 200, JSON.stringify(atSecond.body));
    assert.equal(holder.nonce, nonce, 'the second instance accepted the first one’s nonce without asking for another');

    thief.nonce = nonce;
    assertRefused(
      await new Client(second.url, { authorization: `Bearer ${token}` }).get('/auth/me'),
      'Bearer error="invalid_token"',
      'token_invalid',
    );
    assertRefused(
      await thief.request(second.url, 'GET', '/auth/me', { token, origin: ORIGIN }),
      'DPoP error="invalid_dpop_proof"',
      'invalid_dpop_proof',
    );
    assertRefused(
      await thief.request(second.url, 'POST', '/auth/refresh', { json: { refresh_token: handle }, origin: ORIGIN }),
      'DPoP error="invalid_dpop_proof"',
      'invalid_dpop_proof',
    );
    const renewed = await holder.request(second.url, 'POST', '/auth/refresh', { json: { refresh_token: handle }, origin: ORIGIN });
    assert.equal(renewed.status, 200, JSON.stringify(renewed.body));
  });

  it('a proof names the public origin, never the address the request reached', async () => {
    const holder = await DpopHolder.create('ES256');
    const { token } = await boundLogin(first, holder, ORIGIN);
    // Made for the instance's own address instead of the issuer's origin: not a proof for this server.
    const response = await holder.request(second.url, 'GET', '/auth/me', { token });
    assertRefused(response, 'DPoP error="invalid_dpop_proof"', 'invalid_dpop_proof');
    assert.match(response.body.detail as string, /htu/);
  });
});

describe('DPoP proof keys against tessera serve (--dpop allowed)', () => {
  let server: ServerProcess;
  before(async () => {
    server = await spawnServerWithFreshData(['--dpop', 'allowed', '--insecure-cookies', '--log-level', 'warn']);
  });
  after(() => server.stop());

  it('attack: a login proof with a working RSA key of a 3071-bit exponent (5 ms of CPU to verify) is refused before any RSA operation', async () => {
    const username = await register(server);
    const holder = await DpopHolder.create('EdDSA');
    const asked = await holder.request(server.url, 'POST', '/auth/login', {
      json: { username, password: 'not the password' },
      claims: { nonce: undefined },
    });
    assert.equal(asked.body.code, 'use_dpop_nonce');
    const login = (proof: string) =>
      fetch(`${server.url}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', dpop: proof },
        body: JSON.stringify({ username, password: PASSWORD, transport: 'body' }),
      });
    const htu = `${server.url}/auth/login`;
    for (const key of [oddRsaKey(3072, 'huge'), oddRsaKey(1024)]) {
      const refused = await login(handSignedRsaProof(key, { htm: 'POST', htu, nonce: holder.nonce }));
      assert.equal(refused.status, 401);
      const body = (await refused.json()) as Record<string, unknown>;
      assert.equal(body.code, 'invalid_dpop_proof');
      assert.match(body.detail as string, /e = 65537 and 2048 to 4096 bits/);
    }
    const ordinary = await login(handSignedRsaProof(oddRsaKey(2048), { htm: 'POST', htu, nonce: holder.nonce }));
    assert.equal(ordinary.status, 200, 'an ordinary RSA key still binds a login');
    assert.equal(((await ordinary.json()) as Record<string, unknown>).token_type, 'DPoP');
  });
});

describe('DPoP: a captured refresh request replayed at another instance (tessera serve, two instances on Redis)', () => {
  const redisFor = useRedis();
  const ORIGIN = 'https://id.test';

  it('attack: replayed past the grace window, it is refused and spends nothing: the owner keeps the session', async (t) => {
    const redis = redisFor(t);
    if (!redis) return;
    const dataDir = mkdtempSync(join(tmpdir(), 'tessera-dpop-replay-'));
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    const flags = ['--store', 'redis', '--redis-url', `${redis.url}/3`, '--issuer', ORIGIN, '--dpop', 'required', '--refresh-grace', '0'];
    const common = [...flags, '--keys-dir', join(dataDir, 'keys'), '--insecure-cookies', '--log-level', 'warn'];
    const a = await spawnServer([...common, '--data-dir', join(dataDir, 'a')]);
    t.after(() => a.stop());
    const b = await spawnServer([...common, '--data-dir', join(dataDir, 'b')]);
    t.after(() => b.stop());

    const owner = await DpopHolder.create('ES256');
    const { handle } = await boundLogin(a, owner, ORIGIN);
    const renewed = await owner.request(a.url, 'POST', '/auth/refresh', { json: { refresh_token: handle }, origin: ORIGIN });
    assert.equal(renewed.status, 200, JSON.stringify(renewed.body));
    // The attacker captured that request (proof and body) and sends it again, at the other instance.
    const replayed = await fetch(`${b.url}/auth/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', dpop: renewed.proof! },
      body: JSON.stringify({ refresh_token: handle }),
    });
    const body = (await replayed.json()) as Record<string, unknown>;
    assert.equal(replayed.status, 401, JSON.stringify(body));
    assert.equal(body.code, 'invalid_dpop_proof', 'refused as a replay, not taken as reuse');

    const next = await owner.request(b.url, 'POST', '/auth/refresh', {
      json: { refresh_token: renewed.body.refresh_token },
      origin: ORIGIN,
    });
    assert.equal(next.status, 200, `the owner's successor still renews: ${JSON.stringify(next.body)}`);
    // A proof made after the rotation (iat 2 s ahead, within the allowed skew: proofs carry whole
    // seconds) reusing a spent handle is still theft by whoever holds the key: the session ends.
    const reused = await owner.request(a.url, 'POST', '/auth/refresh', {
      json: { refresh_token: handle },
      origin: ORIGIN,
      claims: { iat: Math.floor(Date.now() / 1000) + 2 },
    });
    assert.equal(reused.body.code, 'refresh_token_reused');
  });
});
