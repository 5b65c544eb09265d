import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './redis-process.js';

/**
 * Real PostgreSQL servers on loopback, for the tests and the benchmarks: `initdb` into a temporary
 * directory and `pg_ctl`, from Debian's packages. PostgreSQL refuses to run as root, so as root the
 * server runs as the `postgres` user the package creates.
 */

const BIN = (() => {
  const root = '/usr/lib/postgresql';
  const version = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a))[0] : undefined;
  return version ? join(root, version, 'bin') : undefined;
})();

export const hasPostgresServer = (): boolean => BIN !== undefined && existsSync(join(BIN, 'initdb'));

export interface PostgresServer {
  readonly port: number;
  /** `postgres://tessera:PASSWORD@127.0.0.1:PORT/tessera`: password authentication over TCP. */
  readonly url: string;
  /** Runs SQL through psql as the superuser (in `database`, default `tessera`) and returns its unaligned output. */
  sql(query: string, database?: string): string;
  /**
   * Statements run so far in `database` (started with `statements: true`: pg_stat_statements),
   * not counting the revocation feed's reads and acknowledgements, which come whatever the traffic.
   */
  statements(database: string): number;
  /** A clean shutdown (`pg_ctl stop -m fast`). */
  stop(): Promise<void>;
  /** Kills the server as a crash would (`-m immediate`): nothing is flushed on the way out. */
  crash(): Promise<void>;
  /** Starts it again on the same port and data directory. */
  start(): Promise<void>;
  /** Freezes every server process (SIGSTOP): connections stay open, nothing answers. */
  pause(): void;
  resume(): void;
  /** Stops for good and removes the data directory. */
  dispose(): Promise<void>;
}

const PASSWORD = 'tessera-test-password';
const asRoot = process.getuid?.() === 0;

/** Runs a PostgreSQL program, as `postgres` when this process is root. */
function run(program: string, args: readonly string[], options: { allowFailure?: boolean } = {}): string {
  const command = asRoot ? 'runuser' : join(BIN!, program);
  const argv = asRoot ? ['-u', 'postgres', '--', join(BIN!, program), ...args] : [...args];
  const result = spawnSync(command, argv, { encoding: 'utf8' });
  if (result.status !== 0 && !options.allowFailure) {
    throw new Error(`${program} ${args.join(' ')} failed (${result.status}): ${result.stdout}${result.stderr}`);
  }
  return result.stdout.trim();
}

/** The pids of the postmaster and its children (for SIGSTOP / SIGCONT). */
function serverPids(dataDir: string): number[] {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return [];
  const postmaster = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  const children = spawnSync('pgrep', ['-P', String(postmaster)], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter(Boolean)
    .map(Number);
  return [postmaster, ...children];
}

/**
 * A real PostgreSQL server on a free loopback port with a `tessera` database and a `tessera` role
 * that logs in with a password (scram-sha-256). fsync is off (a test machine's crash is not what
 * is tested; a server crash still loses nothing committed).
 */
export async function startPostgres(options: { statements?: boolean } = {}): Promise<PostgresServer> {
  if (!BIN) throw new Error('PostgreSQL is not installed (apt-get install postgresql)');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tessera-postgres-'));
  const dataDir = join(dir, 'data');
  const pwfile = join(dir, 'password');
  writeFileSync(pwfile, PASSWORD);
  if (asRoot) {
    const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout);
    const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout);
    chownSync(dir, uid, gid);
    chownSync(pwfile, uid, gid);
  }
  run('initdb', ['-D', dataDir, '-U', 'tessera', `--pwfile=${pwfile}`, '--auth-host=scram-sha-256', '--auth-local=trust', '-E', 'UTF8']);
  const settings = [
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200`,
    ...(options.statements ? ['-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all'] : []),
  ].join(' ');
  const psql = (query: string, database = 'tessera') =>
    run('psql', ['-h', dir, '-p', String(port), '-U', 'tessera', '-d', database, '-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-c', query]);

  const start = async (): Promise<void> => {
    run('pg_ctl', ['-D', dataDir, '-o', settings, '-l', join(dir, 'log'), '-w', 'start']);
  };
  const stopWith = async (mode: 'fast' | 'immediate'): Promise<void> => {
    for (const pid of serverPids(dataDir)) spawnSync('kill', ['-CONT', String(pid)]);
    run('pg_ctl', ['-D', dataDir, '-m', mode, '-w', 'stop'], { allowFailure: true });
  };

  await start();
  run('createdb', ['-h', dir, '-p', String(port), '-U', 'tessera', 'tessera']);
  if (options.statements) psql('CREATE EXTENSION pg_stat_statements');
  return {
    port,
    url: `postgres://tessera:${PASSWORD}@127.0.0.1:${port}/tessera`,
    sql: psql,
    statements: (database) =>
      Number(
        psql(
          `SELECT coalesce(sum(calls), 0) FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = '${database}'` +
            // The revocation feed's reads and the acknowledgements come whatever the traffic.
            " AND s.query NOT LIKE '%FROM tessera_revocations WHERE id >%' AND s.query NOT LIKE '%tessera_revocation_acks%'",
        ),
      ),
    stop: () => stopWith('fast'),
    crash: () => stopWith('immediate'),
    start,
    pause: () => serverPids(dataDir).forEach((pid) => spawnSync('kill', ['-STOP', String(pid)])),
    resume: () => serverPids(dataDir).forEach((pid) => spawnSync('kill', ['-CONT', String(pid)])),
    async dispose() {
      await stopWith('fast');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
