import { chmodSync, chownSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, KeyInvalidError } from '../base/errors.js';
import { createKeyRing, type KeyRing, type KeyRingEntry, type KeyStatus } from './key-ring.js';
import { ALGORITHMS, generateJwk, importKey, type Algorithm, type JsonWebKey } from './keys.js';

/**
 * A keys directory: one `<kid>.json` file per key, readable by its owner only (0600), holding the
 * private JWK and where the key is in its life. Servers that share the directory share the keys
 * (the seed's shared key file), and a server reloads it while running, so `tessera keys rotate`
 * needs no restart.
 */
export interface KeyFile {
  kid: string;
  alg: Algorithm;
  status: KeyStatus;
  created_at: string;
  /** For retiring keys: when the last token they signed has expired (ISO 8601). */
  not_after?: string | undefined;
  jwk: JsonWebKey;
}

const STATUSES: readonly KeyStatus[] = ['next', 'active', 'retiring', 'revoked'];
const fileOf = (dir: string, kid: string) => join(dir, `${kid}.json`);

function writeKeyFile(dir: string, file: KeyFile): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Write then rename: a reader never sees half a key, and the mode is set before any byte lands.
  const temporary = join(dir, `.${file.kid}.${process.pid}.tmp`);
  writeFileSync(temporary, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  chmodSync(temporary, 0o600);
  keepDirectoryOwner(dir, temporary);
  renameSync(temporary, fileOf(dir, file.kid));
}

/**
 * A file written by root (`sudo tessera keys revoke`) into the directory of a server that runs as
 * another user belongs to that user, as the directory does: owned by root and 0600, the server
 * could not read it, and went on signing with the key it was told was revoked.
 */
function keepDirectoryOwner(dir: string, path: string): void {
  const { uid, gid } = statSync(dir);
  if (process.getuid?.() === 0 && uid !== 0) chownSync(path, uid, gid);
}

/** Every key file of the directory (`<kid>.json`), sorted by creation. */
export function readKeyFiles(dir: string): KeyFile[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => name.endsWith('.json') && !name.startsWith('.'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return names.sort().map((name) => {
    const path = join(dir, name);
    let file: KeyFile;
    try {
      file = JSON.parse(readFileSync(path, 'utf8')) as KeyFile;
    } catch (error) {
      throw new KeyInvalidError(`${path} could not be read: ${(error as Error).message}`);
    }
    if (!(ALGORITHMS as readonly string[]).includes(file.alg) || !STATUSES.includes(file.status) || typeof file.kid !== 'string') {
      throw new KeyInvalidError(`${path} is not a Tessera key file.`);
    }
    // The name is the kid: two files can then never claim one kid (which froze the key set).
    if (`${file.kid}.json` !== name)
      throw new KeyInvalidError(`${path} holds key ${JSON.stringify(file.kid)}: a key file is named <kid>.json.`);
    return file;
  });
}

function toEntry(file: KeyFile): KeyRingEntry {
  return {
    key: importKey({ alg: file.alg, kid: file.kid, key: file.jwk }),
    status: file.status,
    notAfter: file.not_after === undefined ? undefined : Date.parse(file.not_after),
  };
}

/** Generates a key of `alg` and writes it to the directory (mode 0600) with the given status. */
export function generateKeyFile(dir: string, alg: Algorithm, status: KeyStatus, now = Date.now()): KeyFile {
  // Kids are short: one never names two keys of a directory, revoked ones included.
  const taken = new Set(readKeyFiles(dir).map((existing) => existing.kid));
  let jwk = generateJwk(alg);
  while (taken.has(jwk.kid)) jwk = generateJwk(alg);
  const file: KeyFile = { kid: jwk.kid, alg, status, created_at: new Date(now).toISOString(), jwk };
  writeKeyFile(dir, file);
  return file;
}

/** Changes one key's status (and, for `retiring`, when it stops verifying), atomically on disk. */
export function setKeyStatus(dir: string, kid: string, status: KeyStatus, notAfter?: number): KeyFile {
  const file = readKeyFiles(dir).find((candidate) => candidate.kid === kid);
  if (!file) throw new ConfigError(`No key ${kid} in ${dir}.`);
  const updated = { ...file, status, not_after: notAfter === undefined ? undefined : new Date(notAfter).toISOString() };
  writeKeyFile(dir, updated);
  return updated;
}

/** What one rotation step did: the key it created, and the ones it promoted and retired. */
export interface KeyRotation {
  readonly created: KeyFile;
  readonly promoted?: string;
  readonly retired?: string | undefined;
}

/**
 * One step of a rotation without downtime. Without a `next` key, it creates one: it is published
 * at once but signs nothing, so every verifier learns it first. With one, it promotes it to
 * `active` and retires the old active key until every token it signed has expired
 * (`maxTokenLifetimeSeconds`). Retired keys past that time are deleted.
 */
export function rotateKeys(dir: string, options: { alg: Algorithm; maxTokenLifetimeSeconds: number; now?: number }): KeyRotation {
  const now = options.now ?? Date.now();
  const files = readKeyFiles(dir);
  for (const file of files) {
    if (file.status === 'retiring' && file.not_after !== undefined && Date.parse(file.not_after) <= now) rmSync(fileOf(dir, file.kid));
  }
  const next = files.find((file) => file.status === 'next');
  if (!next) return { created: generateKeyFile(dir, options.alg, files.some((f) => f.status === 'active') ? 'next' : 'active', now) };
  const active = files.find((file) => file.status === 'active');
  if (active) setKeyStatus(dir, active.kid, 'retiring', now + options.maxTokenLifetimeSeconds * 1000);
  setKeyStatus(dir, next.kid, 'active');
  return { promoted: next.kid, retired: active?.kid, created: generateKeyFile(dir, options.alg, 'next', now) };
}

/** A key directory opened by `openKeyDirectory`. */
export interface KeyDirectory {
  /** The keys as the directory last held them: give it to `createAuth` (`tokens.keys`) or `createVerifier`. */
  readonly ring: KeyRing;
  /** Reads the directory again now if a file changed (the timer does it every `reloadIntervalMs`). */
  reload(): void;
  /** Why the last timed reload failed, while it keeps failing (the ring is then the last good one). */
  readonly failing: Error | undefined;
  /** Stops watching the directory. */
  close(): void;
}

/**
 * A key ring backed by a directory, reloaded when its files change. With `createIfEmpty`, an empty
 * directory gets one active key of that algorithm (a server's first start).
 *
 * @example
 * ```ts
 * const keys = openKeyDirectory('./keys', { createIfEmpty: 'EdDSA' });
 * const auth = createAuth({ strategy: 'stateless', store, tokens: { keys: keys.ring, issuer: 'https://id.example.com' } });
 * ```
 */
export function openKeyDirectory(
  dir: string,
  options: { createIfEmpty?: Algorithm; reloadIntervalMs?: number; onReloadError?: (error: Error) => void } = {},
): KeyDirectory {
  if (options.createIfEmpty && readKeyFiles(dir).length === 0) generateKeyFile(dir, options.createIfEmpty, 'active');
  const fingerprint = () =>
    readdirSync(dir)
      .filter((name) => name.endsWith('.json') && !name.startsWith('.'))
      .map((name) => `${name}:${statSync(join(dir, name)).mtimeMs}`)
      .sort()
      .join('|');
  const ring: KeyRing = createKeyRing(readKeyFiles(dir).map(toEntry));
  let seen = fingerprint();
  let failing: Error | undefined;
  const reload = () => {
    const current = fingerprint();
    if (current === seen) return;
    ring.update(readKeyFiles(dir).map(toEntry));
    seen = current;
  };
  const timer = setInterval(() => {
    try {
      reload();
      failing = undefined;
    } catch (error) {
      // The last good ring stays in use, and the next tick tries again; but never silently: a key
      // revoked in a file this process cannot read would go on signing.
      failing = error instanceof Error ? error : new Error(String(error));
      options.onReloadError?.(failing);
    }
  }, options.reloadIntervalMs ?? 2000);
  timer.unref();
  return {
    ring,
    reload,
    get failing() {
      return failing;
    },
    close: () => clearInterval(timer),
  };
}
