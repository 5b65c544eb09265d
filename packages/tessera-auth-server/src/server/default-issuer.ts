import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from 'tessera-auth';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

function holderOf(path: string): { url: string; pid: number } | undefined {
  try {
    const holder = JSON.parse(readFileSync(path, 'utf8')) as { url?: unknown; pid?: unknown };
    return typeof holder.url === 'string' && typeof holder.pid === 'number' ? { url: holder.url, pid: holder.pid } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Without `--issuer`, a server's issuer is its own URL, which no other instance shares: two such
 * instances on one SQLite file would each refuse the other's tokens. So one instance per data
 * directory may run that way; it holds a claim file naming its URL and process, removed on close
 * (a claim whose process is gone is taken over). Returns the release function.
 */
export function claimDefaultIssuer(dataDir: string, url: string): () => void {
  const path = join(dataDir, 'default-issuer.json');
  for (;;) {
    try {
      writeFileSync(path, JSON.stringify({ url, pid: process.pid }), { flag: 'wx', mode: 0o600 });
      return () => rmSync(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = holderOf(path);
    if (holder && holder.url !== url && alive(holder.pid)) {
      throw new ConfigError(
        `another instance (${holder.url}, process ${holder.pid}) uses ${dataDir} with its own URL as issuer, so each would refuse the other's tokens. ` +
          'Give every instance that shares a store the same --issuer: the URL clients reach them at.',
      );
    }
    rmSync(path, { force: true });
  }
}
