import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A secret every instance of one deployment shares, kept beside the signing keys they share
 * (`<name>.secret`, 32 random bytes): made on first start, read after. The file appears whole or
 * not at all (written aside, then linked into place), so instances starting together agree on one.
 * Used for DPoP nonces (`dpop-nonce`), device cookies (`device-cookie`) and authorization codes
 * (`authorization-code`).
 */
export function sharedSecret(keysDir: string, name: 'dpop-nonce' | 'device-cookie' | 'authorization-code'): Buffer {
  const path = join(keysDir, `${name}.secret`);
  const draft = join(keysDir, `.${name}.${process.pid}.${randomBytes(6).toString('hex')}`);
  writeFileSync(draft, randomBytes(32).toString('base64url'), { mode: 0o600 });
  try {
    linkSync(draft, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    rmSync(draft, { force: true });
  }
  return Buffer.from(readFileSync(path, 'utf8').trim(), 'base64url');
}
