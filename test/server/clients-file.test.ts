import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readClientsFile } from '../../packages/tessera-auth-server/src/server/clients-file.js';
import { CLI } from '../helpers/server-process.js';

const SECRET = 'x'.repeat(40);
const directory = mkdtempSync(join(tmpdir(), 'tessera-clients-'));
after(() => rmSync(directory, { recursive: true, force: true }));
let files = 0;
const fileOf = (content: unknown) => {
  const path = join(directory, `clients-${files++}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
};
const web = { client_id: 'web', client_secret: SECRET, redirect_uris: ['https://app.example/cb'] };

describe('--clients-file: RFC 7591 client metadata, checked at startup', () => {
  it('reads confidential and public clients: secrets kept as digests, defaults as RFC 7591 says', () => {
    const [confidential, native] = readClientsFile(
      fileOf([
        { ...web, client_name: 'Web', grant_types: ['authorization_code', 'refresh_token'], scope: 'orders:read' },
        { client_id: 'native', token_endpoint_auth_method: 'none', redirect_uris: ['com.example.app:/cb', 'http://127.0.0.1/cb'] },
      ]),
    );
    assert.equal(confidential!.secretHash?.length, 32);
    assert.deepEqual(
      [confidential!.name, confidential!.grantTypes, confidential!.scopes],
      ['Web', ['authorization_code', 'refresh_token'], ['orders:read']],
    );
    assert.equal(native!.secretHash, undefined);
    assert.deepEqual(native!.grantTypes, ['authorization_code']);
  });

  it('each mistake is refused with what is wrong, where', () => {
    const cases: [unknown, RegExp][] = [
      ['{"not": "an array"}', /must hold a JSON array/],
      ['[{]', /is not JSON/],
      [[{ ...web, redirect_uri: 'https://app.example/cb' }], /entry 1 has "redirect_uri", which is not a client metadata field/],
      [[{ ...web, client_id: 'a b' }], /entry 1: client_id must be/],
      [[{ ...web, client_secret: 'short' }], /client "web": client_secret must be at least 32 characters/],
      [[{ ...web, token_endpoint_auth_method: 'none' }], /a public client .* has no client_secret/],
      [[{ ...web, token_endpoint_auth_method: 'private_key_jwt' }], /token_endpoint_auth_method must be one of/],
      [[{ ...web, grant_types: ['password'] }], /grant_types may hold .* \(the password and implicit grants are not offered\)/],
      [[{ client_id: 'svc', grant_types: ['client_credentials'] }], /client_credentials needs a confidential client/],
      [[{ ...web, redirect_uris: [] }], /the authorization_code grant needs redirect_uris/],
      [[{ ...web, redirect_uris: ['http://app.example/cb'] }], /is plain http: only loopback addresses/],
      [[{ ...web, redirect_uris: ['https://app.example/cb#top'] }], /has a fragment/],
      [[{ ...web, redirect_uris: ['javascript:alert(1)'] }], /a redirect URI is https, loopback http, or a private-use scheme/],
      [[{ ...web, redirect_uris: ['/relative'] }], /is not an absolute URI/],
      [[{ ...web, response_types: ['token'] }], /response_types may only be \["code"\]/],
      [[web, web], /client_id "web" appears twice/],
    ];
    for (const [content, message] of cases) assert.throws(() => readClientsFile(fileOf(content)), message, JSON.stringify(content));
    assert.throws(() => readClientsFile(join(directory, 'missing.json')), /cannot read .*missing\.json: ENOENT/);
  });

  it('tessera serve refuses a bad file before it starts, in one line, and a client named twice across --client and the file', () => {
    const serve = (...args: string[]) =>
      spawnSync(process.execPath, [CLI, 'serve', '--store', 'memory', '--port', '0', ...args], { encoding: 'utf8', timeout: 30_000 });
    const bad = serve('--clients-file', fileOf([{ ...web, redirect_uris: ['http://app.example/cb'] }]));
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(bad.stderr, /^--clients-file: client "web": http:\/\/app\.example\/cb is plain http/m);
    const twice = serve('--clients-file', fileOf([web]), '--client', `web:${SECRET}`);
    assert.equal(twice.status, 2, twice.stderr);
    assert.match(twice.stderr, /The OAuth client "web" is configured twice/);
  });
});
