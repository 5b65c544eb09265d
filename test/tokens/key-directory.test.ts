import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  createTokenIssuer,
  createVerifier,
  generateKeyFile,
  openKeyDirectory,
  readKeyFiles,
  rotateKeys,
  setKeyStatus,
} from '../../packages/tessera-auth/src/tokens/index.js';
import { frozenClock } from '../helpers/clock.js';

const root = mkdtempSync(join(tmpdir(), 'tessera-keys-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => join(root, `keys-${++n}`);

const tokenFrom = (ring: ReturnType<typeof openKeyDirectory>['ring']) =>
  createTokenIssuer({ keys: ring, issuer: 'iss', ttlSeconds: 600 }).issue({ sub: 'u', aud: 'api' }).token;
const verifierOn = (ring: ReturnType<typeof openKeyDirectory>['ring'], clock = frozenClock(Date.now())) =>
  createVerifier({ keys: ring, typ: 'at+jwt', issuer: 'iss', audience: 'api', cacheSize: 0, clock });

describe('keys directory', () => {
  it('private keys are written 0600 in a 0700 directory', () => {
    const dir = freshDir();
    const file = generateKeyFile(dir, 'EdDSA', 'active');
    assert.equal(statSync(join(dir, `${file.kid}.json`)).mode & 0o777, 0o600);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.deepEqual(readdirSync(dir), [`${file.kid}.json`], 'no temporary file is left behind');
  });

  it('a rotation publishes the next key before it signs, and retires the old one only after its tokens expire', () => {
    const dir = freshDir();
    const clock = frozenClock(Date.now());
    const first = generateKeyFile(dir, 'EdDSA', 'active', clock.now());
    const server = openKeyDirectory(dir);
    const verify = verifierOn(server.ring, clock);
    const before = tokenFrom(server.ring);

    const step1 = rotateKeys(dir, { alg: 'ES256', maxTokenLifetimeSeconds: 600, now: clock.now() });
    server.reload();
    assert.deepEqual(
      server.ring
        .jwks(clock.now())
        .keys.map((k) => k.kid)
        .sort(),
      [first.kid, step1.created.kid].sort(),
      'next is published',
    );
    assert.equal(server.ring.signingKey().kid, first.kid, 'next does not sign yet');

    const step2 = rotateKeys(dir, { alg: 'ES256', maxTokenLifetimeSeconds: 600, now: clock.now() });
    server.reload();
    assert.equal(server.ring.signingKey().kid, step1.created.kid, 'next became active');
    const afterRotation = tokenFrom(server.ring);
    assert.equal(verify(before).sub, 'u', 'tokens of the retiring key still verify');
    assert.equal(verify(afterRotation).sub, 'u');

    clock.advance(600_000);
    assert.throws(() => verify(before), { code: 'token_invalid' }, 'retired once its last token expired');
    rotateKeys(dir, { alg: 'ES256', maxTokenLifetimeSeconds: 600, now: clock.now() });
    assert.ok(!readKeyFiles(dir).some((file) => file.kid === first.kid), 'and then it leaves the directory');
    assert.ok(step2.created.kid);
    server.close();
  });

  it('revoking a key kills its tokens on a running server after a reload', () => {
    const dir = freshDir();
    const file = generateKeyFile(dir, 'HS512', 'active');
    const server = openKeyDirectory(dir);
    const token = tokenFrom(server.ring);
    assert.equal(verifierOn(server.ring)(token).sub, 'u');
    setKeyStatus(dir, file.kid, 'revoked');
    server.reload();
    assert.throws(() => verifierOn(server.ring)(token), { code: 'token_revoked' });
    server.close();
  });

  it('attack: a key file whose kid is not its name is refused (two files claiming one kid froze the key set)', () => {
    const dir = freshDir();
    const real = generateKeyFile(dir, 'EdDSA', 'active');
    writeFileSync(join(dir, 'copy.json'), readFileSync(join(dir, `${real.kid}.json`)), { mode: 0o600 });
    assert.throws(() => readKeyFiles(dir), /copy\.json holds key .*: a key file is named <kid>\.json/);
  });

  it('a reload that fails is reported with the file and the reason, and the last good keys stay in use until it reads again', async () => {
    const dir = freshDir();
    const real = generateKeyFile(dir, 'EdDSA', 'active');
    const errors: string[] = [];
    const keys = openKeyDirectory(dir, { reloadIntervalMs: 20, onReloadError: (error) => errors.push(error.message) });
    try {
      writeFileSync(join(dir, 'broken.json'), '{ half a key', { mode: 0o600 });
      while (!keys.failing) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.match(errors[0] ?? '', /broken\.json could not be read/);
      assert.ok(keys.ring.signingKey(), 'still signing with the last good ring');
      rmSync(join(dir, 'broken.json'));
      while (keys.failing) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(keys.ring.signingKey().kid, real.kid);
    } finally {
      keys.close();
    }
  });

  it('a first start creates one active key; the JWKS never shows an HMAC secret', () => {
    const dir = freshDir();
    const server = openKeyDirectory(dir, { createIfEmpty: 'EdDSA' });
    assert.equal(readKeyFiles(dir).length, 1);
    generateKeyFile(dir, 'HS256', 'next');
    server.reload();
    assert.equal(server.ring.jwks(Date.now()).keys.length, 1);
    server.close();
  });
});

describe('tessera keys', () => {
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ['packages/tessera-auth-server/dist/cli/main.js', 'keys', ...args], { encoding: 'utf8' });

  it('generate, list, rotate and revoke', () => {
    const dir = freshDir();
    const generated = cli('generate', '--alg', 'ES256', '--out', dir);
    assert.equal(generated.status, 0, generated.stderr);
    const [kid] = generated.stdout.trim().split(' ');
    assert.equal(cli('generate', '--out', dir).status, 2, 'a second active key is refused');
    assert.equal(cli('generate', '--alg', 'HS1', '--out', dir).status, 2);
    assert.match(cli('rotate', '--dir', dir).stdout, /^next: /);
    assert.match(cli('rotate', '--dir', dir, '--max-token-lifetime', '60').stdout, new RegExp(`retiring: ${kid}`));
    assert.equal(cli('revoke', kid!, '--dir', dir).status, 0);
    const listed = cli('list', '--dir', dir)
      .stdout.trim()
      .split('\n')
      .map((line) => line.split('\t'));
    assert.deepEqual(listed.map((row) => row[2]).sort(), ['active', 'next', 'revoked']);
  });

  for (const prefix of ['-', '--']) {
    it(`revokes a key whose kid begins with "${prefix}" (base64url allows it: one kid in ${64 ** prefix.length})`, () => {
      const dir = freshDir();
      const [kid] = cli('generate', '--alg', 'HS256', '--out', dir).stdout.trim().split(' ');
      // The rest of the kid must not begin with "-" itself, or the kid would begin with one more.
      const dashed = `${prefix}A${kid!.slice(prefix.length + 1)}`;
      const file = readFileSync(join(dir, `${kid}.json`), 'utf8').replaceAll(kid!, dashed);
      rmSync(join(dir, `${kid}.json`));
      writeFileSync(join(dir, `${dashed}.json`), file);
      const revoked = cli('revoke', dashed, '--dir', dir);
      assert.equal(revoked.status, 0, revoked.stderr);
      assert.match(cli('list', '--dir', dir).stdout, new RegExp(`^${dashed}\\tHS256\\trevoked`));
    });
  }
});
