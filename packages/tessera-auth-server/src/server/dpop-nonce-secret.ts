import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The secret behind DPoP nonces (`createDpopNonces`), kept beside the signing keys that every
 * instance of one deployment shares: made on first start, read after. The file appears whole or not
 * at all (written aside, then linked into place), so instances starting together agree on one.
 */
export function dpopNonceSecret(keysDir: string): Buffer {
  const path = join(keysDir, 'dpop-nonce.secret');
  const draft = join(keysDir, `.dpop-nonce.${process.pid}.${randomBytes(6).toString('hex')}`);
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
