import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { LabResult } from '../../bench/lab-report.js';
import { requirePostgres } from '../helpers/postgres.js';
import { requireRedis } from '../helpers/redis.js';

/**
 * The benchmark lab, run for real in its shortest form (every contender, one 1-second round): it
 * must finish, and what it measures that is not a timing must be right. Speeds are never asserted.
 * Runs alone (npm run test:bench), after the other tests, so its load disturbs none of them.
 */
describe('the benchmark lab (npm run bench -- --quick)', () => {
  it('measures every contender, the store trips, revocation and the forged logout, and writes the report', async (t) => {
    if (!requireRedis(t) || !requirePostgres(t)) return;
    const out = mkdtempSync(join(tmpdir(), 'tessera-lab-test-'));
    try {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', 'bench/lab.ts', '--quick', '--duration', '1', '--connections', '8', '--no-build', '--out', out],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const [code] = (await once(child, 'exit')) as [number | null];
      assert.equal(code, 0, stderr);
      assert.match(stdout, /The seed's comparison, measured/);
      assert.match(stderr, /\[\s*\d+\/\d+\] round 1\/1: Tessera hybrid/, 'a progress display on stderr');

      const result = JSON.parse(readFileSync(join(out, 'lab-quick.json'), 'utf8')) as LabResult;
      const row = (id: string) => result.rows.find((r) => r.id === id) ?? assert.fail(`no row ${id}`);
      assert.equal(result.rows.length, 32, '20 contenders, 12 of them again behind a delaying proxy');
      for (const r of result.rows) {
        assert.equal(r.failed, 0, `${r.name}: failed requests`);
        assert.ok(r.rps > 0, `${r.name}: no requests`);
      }
      assert.ok(result.redisRoundTripMs.delayed > result.redisRoundTripMs.loopback + 1, 'the proxy delays the Redis round trip');

      // Store commands per request: the thesis (none on the token paths) and the peers' designs.
      for (const id of [
        'tessera-stateless-redis',
        'tessera-hybrid',
        'tessera-stateful-redis-cached',
        'tessera-stateless-redis+delay',
        'tessera-hybrid+delay',
        'tessera-stateful-redis-cached+delay',
      ]) {
        assert.ok(row(id).redisPerRequest! < 0.01, `${id} sends Redis nothing per request`);
      }
      assert.ok(Math.abs(row('tessera-stateful-redis').redisPerRequest! - 1) < 0.1, 'Tessera stateful: one command');
      assert.ok(Math.abs(row('express-session-redis').redisPerRequest! - 2) < 0.1, 'connect-redis: GET and EXPIRE');
      assert.ok(Math.abs(row('blacklist-string').redisPerRequest! - 1) < 0.1, 'the blacklist: one lookup');
      // The same on PostgreSQL, counted by pg_stat_statements in each contender's database.
      for (const id of [
        'tessera-stateless-postgres',
        'tessera-hybrid-postgres',
        'tessera-stateless-postgres+delay',
        'tessera-hybrid-postgres+delay',
      ])
        assert.ok(row(id).postgresPerRequest! < 0.01, `${id} sends PostgreSQL nothing per request`);
      assert.ok(row('tessera-stateful-postgres-cached').postgresPerRequest! < 0.05, 'cached: a read and a touch per session per minute');
      assert.ok(Math.abs(row('tessera-stateful-postgres').postgresPerRequest! - 1) < 0.1, 'Tessera stateful: one statement');
      assert.ok(row('express-session-postgres').postgresPerRequest! >= 1.9, 'connect-pg-simple: a read and an expiry update');

      // Revocation: refused where the design can refuse, never where it cannot.
      for (const id of [
        'tessera-stateful-redis',
        'tessera-stateful-redis-cached',
        'tessera-stateless-redis',
        'tessera-hybrid',
        'express-session-redis',
        'blacklist-string',
        'tessera-stateful-postgres',
        'tessera-stateful-postgres-cached',
        'tessera-stateless-postgres',
        'tessera-hybrid-postgres',
        'express-session-postgres',
      ]) {
        assert.notEqual(row(id).revocation!.here, null, `${id}: refused at the instance that logged out`);
        assert.ok(
          typeof row(id).revocation!.elsewhere === 'object' && row(id).revocation!.elsewhere !== null,
          `${id}: refused at another instance`,
        );
      }
      for (const id of ['fast-jwt', 'jsonwebtoken-string', 'jsonwebtoken-keyobject']) {
        assert.equal(row(id).revocation!.here, null, `${id} cannot revoke`);
      }
      assert.notEqual(row('tessera-stateless').revocation!.here, null, 'the local list refuses at once where the logout was made');
      assert.equal(row('tessera-stateless').revocation!.elsewhere, null, '… but nowhere else, without a shared store');
      assert.equal(row('express-session-memory').revocation!.elsewhere, 'not shared');
      assert.equal(row('tessera-stateful-memory').revocation!.elsewhere, 'not shared');

      // The forged logout from a sibling subdomain, and the credential sizes.
      assert.equal(row('tessera-stateful-redis').revocation!.forgedLogout, 'refused');
      assert.equal(row('express-session-redis').revocation!.forgedLogout, 'accepted');
      assert.equal(row('fast-jwt').revocation!.forgedLogout, 'not applicable');
      assert.ok(row('tessera-stateful-redis').credentialBytes < row('tessera-stateless-redis').credentialBytes);
      assert.match(row('tessera-stateful-redis').transport, /HttpOnly, SameSite=Lax/);

      assert.match(readFileSync(join(out, 'lab-quick.md'), 'utf8'), /\*\*Targets\*\*/);
      assert.match(readFileSync(join(out, 'lab-quick.svg'), 'utf8'), /^<svg [^>]*>[\s\S]*Tessera hybrid[\s\S]*<\/svg>\n$/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
