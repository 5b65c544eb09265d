import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { readKeyFiles } from '../../packages/tessera-auth/src/tokens/index.js';
import { Client } from '../helpers/http-client.js';
import { CLI, spawnServer, type ServerProcess } from '../helpers/server-process.js';

const NOBODY = 65534;

/** Waits for what the server does on its next reload of the directory (every 2 s); 60 s at most, then fails with `what`. */
async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`still not so after 60 s: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
const asRoot = process.getuid?.() === 0;

/**
 * The built packages where `nobody` can read them, wherever this checkout lives (under /root, say):
 * hard links in a world-readable folder, made at once and taking no space.
 */
function readableCheckout(parent: string): string {
  const checkout = join(parent, 'checkout');
  mkdirSync(checkout, { mode: 0o755 });
  const copied = spawnSync('cp', ['-al', 'packages', 'node_modules', 'package.json', checkout], { encoding: 'utf8' });
  assert.equal(copied.status, 0, copied.stderr);
  return checkout;
}

/** Root is needed to run a server as another user; CI runs as root, so there it never skips. */
function requireRoot(t: TestContext): boolean {
  if (asRoot) return true;
  if (process.env.CI) throw new Error('These tests run a server as another user, which needs root; CI runs as root.');
  t.skip('needs root (to run tessera serve as nobody)');
  return false;
}

/**
 * `tessera serve` running as `nobody` on its own data directory (0700, nobody's), while an operator
 * runs `tessera keys` as root, as `sudo tessera keys revoke` does.
 */
describe('the keys directory of a server running as another user than tessera keys', () => {
  let dataDir: string;
  let keysDir: string;
  let server: ServerProcess | undefined;
  before(async () => {
    if (!asRoot) return;
    dataDir = mkdtempSync(join(tmpdir(), 'tessera-owner-'));
    keysDir = join(dataDir, 'keys');
    mkdirSync(keysDir, { mode: 0o700 });
    chownSync(dataDir, NOBODY, NOBODY);
    chownSync(keysDir, NOBODY, NOBODY);
    server = await spawnServer(['--data-dir', dataDir, '--insecure-cookies', '--public-metrics'], {}, undefined, {
      uid: NOBODY,
      gid: NOBODY,
      checkout: readableCheckout(dataDir),
    });
  });
  after(async () => {
    await server?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const kids = async () =>
    ((await new Client(server!.url).get('/.well-known/jwks.json')).body.keys as { kid: string }[]).map((key) => key.kid);

  it('attack: a key revoked with sudo tessera keys is read by the server: its files keep the directory’s owner, and the key leaves the JWKS', async (t) => {
    if (!requireRoot(t)) return;
    const keys = (args: string[]) => spawnSync(process.execPath, [CLI, 'keys', ...args, '--dir', keysDir], { encoding: 'utf8' });
    assert.equal(keys(['rotate']).status, 0); // a next key beside the active one
    const [active] = readKeyFiles(keysDir).filter((file) => file.status === 'active');
    const next = readKeyFiles(keysDir).find((file) => file.status === 'next')!.kid;
    await until(async () => (await kids()).includes(next), 'the server publishes the next key tessera keys made');

    const revoked = keys(['revoke', active!.kid]);
    assert.equal(revoked.status, 0, revoked.stderr);
    for (const name of readdirSync(keysDir)) assert.equal(statSync(join(keysDir, name)).uid, NOBODY, `${name} is the server's`);
    await until(async () => !(await kids()).includes(active!.kid), 'the revoked key leaves the JWKS');
    assert.equal((await new Client(server!.url).get('/healthz')).status, 200);
  });

  it('attack: a key file the server cannot read is never silent: a log line naming it, a count in /metrics, and /healthz 503 until it is readable', async (t) => {
    if (!requireRoot(t)) return;
    const [file] = readKeyFiles(keysDir);
    const stray = join(keysDir, `${file!.kid}.json`);
    // What `sudo tessera keys` left before: the file rewritten, root's own, 0600.
    const content = readFileSync(stray);
    rmSync(stray);
    writeFileSync(stray, content, { mode: 0o600 });
    await until(async () => (await new Client(server!.url).get('/healthz')).status === 503, '/healthz answers 503');
    assert.match(server!.output(), new RegExp(`"event":"keys_reload_failed".*${file!.kid}\\.json could not be read: EACCES`));
    const metrics = (await new Client(server!.url).get('/metrics')).body as unknown as string;
    assert.match(metrics, /^tessera_key_reload_failures_total [1-9]/m);

    chownSync(stray, NOBODY, NOBODY);
    await until(async () => (await new Client(server!.url).get('/healthz')).status === 200, '/healthz answers 200 again');
  });
});
