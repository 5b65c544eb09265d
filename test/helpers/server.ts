import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer, type ServeOptions } from '../../packages/tessera-auth-server/src/server/serve.js';

/** A real identity server on a free loopback port; `stop` also removes its data directory. */
export async function startTestServer(
  options: Partial<ServeOptions> = {},
): Promise<RunningServer & { dataDir: string; stop(): Promise<void> }> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'tessera-server-'));
  const running = await startServer({
    port: 0,
    host: '127.0.0.1',
    strategy: 'stateful',
    store: 'sqlite',
    dataDir,
    redisUrl: 'redis://127.0.0.1:6379',
    insecureCookies: true,
    log: { level: 'silent' },
    // Suites register many users from one address; the registration tests set their own limits.
    registrationThrottle: { perClient: { max: 100_000, windowMs: 60_000 } },
    // A shared store needs an issuer every instance agrees on; the server refuses to start without one.
    ...((options.store === 'redis' || options.store === 'postgres') && { issuer: 'https://id.test' }),
    ...options,
  });
  return {
    ...running,
    dataDir,
    async stop() {
      await running.close();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
