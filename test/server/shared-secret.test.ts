import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';

const MODULE = fileURLToPath(new URL('../../packages/tessera-auth-server/src/server/shared-secret.js', import.meta.url));

/** The secret as one `tessera serve` process would read it at start. */
async function secretInProcess(dir: string): Promise<string> {
  const child = spawn(process.execPath, [
    '--input-type=module',
    '-e',
    `import { sharedSecret } from ${JSON.stringify(MODULE)}; console.log(sharedSecret(${JSON.stringify(dir)}, 'dpop-nonce').toString('hex'));`,
  ]);
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0);
  return out.trim();
}

it('instances starting together on one keys directory agree on one shared secret (the DPoP nonce one here), kept 0600', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-nonce-'));
  try {
    const secrets = await Promise.all(Array.from({ length: 8 }, () => secretInProcess(dir)));
    assert.equal(new Set(secrets).size, 1, 'one secret for all');
    assert.equal(Buffer.from(secrets[0]!, 'hex').length, 32);
    assert.equal(await secretInProcess(dir), secrets[0], 'read back after a restart');
    assert.deepEqual(readdirSync(dir), ['dpop-nonce.secret'], 'no draft left behind');
    assert.equal(statSync(join(dir, 'dpop-nonce.secret')).mode & 0o777, 0o600);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
