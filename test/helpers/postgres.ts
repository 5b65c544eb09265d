import { after, before, type TestContext } from 'node:test';
import { hasPostgresServer, startPostgres, type PostgresServer } from '../../tools/postgres-process.js';

export { startPostgres, type PostgresServer } from '../../tools/postgres-process.js';

const installed = hasPostgresServer();

/**
 * Whether PostgreSQL tests can run. Under CI a missing server is a failure, never a skip: a
 * skipped test proves nothing. Elsewhere the test is skipped with the reason.
 */
export function requirePostgres(t: TestContext): boolean {
  if (installed) return true;
  if (process.env.CI) throw new Error('PostgreSQL is not installed, and CI requires the PostgreSQL tests to run.');
  t.skip('PostgreSQL is not installed (apt-get install postgresql)');
  return false;
}

/** One real PostgreSQL server for the enclosing file or suite, stopped after it (see `useRedis`). */
export function usePostgres(): (t: TestContext) => PostgresServer | undefined {
  let server: PostgresServer | undefined;
  before(async () => {
    if (installed) server = await startPostgres();
  });
  after(() => server?.dispose());
  return (t) => (requirePostgres(t) ? server : undefined);
}
