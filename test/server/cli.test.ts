import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Client } from '../helpers/http-client.js';
import { CLI, spawnServer } from '../helpers/server-process.js';
import { freePort } from '../../tools/redis-process.js';

describe('tessera CLI', () => {
  it('tessera serve reads flags and TESSERA_ env, logs "listening on", and stops on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tessera-cli-'));
    const server = await spawnServer(['--strategy', 'stateful', '--bootstrap-admin', 'admin:admin password'], {
      TESSERA_DATA_DIR: dataDir,
      TESSERA_INSECURE_COOKIES: 'true',
    });
    try {
      assert.ok(server.output().includes(`listening on ${server.url}`), server.output());
      const client = new Client(server.url);
      const login = await client.post('/auth/login', { username: 'admin', password: 'admin password' });
      assert.deepEqual(login.body.user.roles, ['admin', 'user']);
      assert.match(login.headers.getSetCookie()[0] ?? '', /^tessera=/, 'TESSERA_INSECURE_COOKIES took effect');
    } finally {
      assert.equal(await server.stop(), 0);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('the default strategy is hybrid: an access token in the body, the refresh handle in a cookie', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tessera-cli-'));
    const server = await spawnServer(['--insecure-cookies', '--refresh-grace', '0'], { TESSERA_DATA_DIR: dataDir });
    try {
      const client = new Client(server.url);
      assert.equal((await client.post('/auth/register', { username: 'ana', password: 'correct horse battery' })).status, 201);
      const login = await client.post('/auth/login', { username: 'ana', password: 'correct horse battery' });
      assert.equal(login.body.expires_in, 300);
      assert.ok(client.cookies.has('tessera-refresh'));
      const first = await client.post('/auth/refresh');
      assert.equal(first.status, 200);
      await new Promise((resolve) => setTimeout(resolve, 5));
      // With no grace at all, even an immediate retry of the old handle is theft.
      const replay = await new Client(server.url).post('/auth/refresh', undefined, {
        cookie: login.headers.getSetCookie()[0]!.split(';')[0]!,
      });
      assert.equal(replay.body.code, 'refresh_token_reused');
      assert.match(server.output(), /"event":"refresh_token_reused"/, 'theft is logged');
    } finally {
      assert.equal(await server.stop(), 0);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('SIGTERM: no new connections, the request in flight finishes, then exit 0 with "stopped" logged', async () => {
    const server = await spawnServer(['--store', 'memory', '--insecure-cookies']);
    const body = JSON.stringify({ username: 'drained', password: 'correct horse battery' });
    const exited = once(server.child, 'exit') as Promise<[number | null]>;
    const answer = new Promise<{ status: number }>((resolve, reject) => {
      const request = httpRequest(`${server.url}/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': body.length },
      });
      request.on('response', (response) => {
        response.resume();
        resolve({ status: response.statusCode ?? 0 });
      });
      request.on('error', reject);
      // Half the body now: the request is in flight when SIGTERM arrives; the rest after it.
      request.write(body.slice(0, 10));
      setTimeout(() => {
        server.child.kill('SIGTERM');
        setTimeout(() => request.end(body.slice(10)), 300);
      }, 200);
    });
    assert.equal((await answer).status, 201, 'the in-flight request was served');
    assert.deepEqual(await exited, [0, null]);
    await assert.rejects(fetch(`${server.url}/healthz`), 'no longer listening');
    const lines = server
      .output()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(
      lines.map((line) => line.event),
      ['listening', 'shutdown', 'registered', 'request', 'stopped'],
    );
  });

  it('--log-level warn keeps the ready line and drops request lines', async () => {
    const server = await spawnServer(['--store', 'memory', '--log-level', 'warn']);
    await fetch(`${server.url}/healthz`);
    assert.equal(await server.stop(), 0);
    assert.match(server.output(), /listening on/);
    assert.doesNotMatch(server.output(), /"event":"request"/);
  });

  it('a request that reaches the port while the server is still starting is answered, not left hanging', async () => {
    // A balancer sends traffic the moment the port accepts; the server listens before it has
    // loaded its revocations and made its admin (Argon2), and must hold those requests meanwhile.
    const dataDir = mkdtempSync(join(tmpdir(), 'tessera-cli-early-'));
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [
        CLI,
        'serve',
        '--port',
        String(port),
        '--insecure-cookies',
        '--log-level',
        'silent',
        '--bootstrap-admin',
        'root:a long admin password',
      ],
      {
        env: { ...process.env, TESSERA_DATA_DIR: dataDir },
        stdio: 'ignore',
      },
    );
    try {
      let answer: Response | undefined;
      for (const deadline = Date.now() + 20_000; !answer;) {
        try {
          answer = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(5_000) });
        } catch (error) {
          assert.notEqual((error as Error).name, 'TimeoutError', 'the first request to reach the port hung');
          assert.ok(Date.now() < deadline, 'the server never listened');
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
      }
      assert.equal(answer.status, 200);
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('instances that would disagree on the issuer are refused at start, with what to set', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tessera-cli-'));
    try {
      const first = await spawnServer(['--store', 'sqlite', '--data-dir', dataDir, '--log-level', 'warn']);
      try {
        const second = spawnSync(process.execPath, [CLI, 'serve', '--port', '0', '--store', 'sqlite', '--data-dir', dataDir], {
          encoding: 'utf8',
        });
        assert.equal(second.status, 1);
        assert.match(
          second.stderr,
          new RegExp(
            `another instance \\(${first.url.replaceAll('.', '\\.')}, process \\d+\\) uses .* Give every instance that shares a store the same --issuer`,
          ),
        );
        const agreeing = await spawnServer(['--store', 'sqlite', '--data-dir', dataDir, '--issuer', first.url, '--log-level', 'warn']);
        assert.equal(await agreeing.stop(), 0, 'with --issuer, a second instance on the same store starts');
      } finally {
        assert.equal(await first.stop(), 0);
      }
      // The claim of an instance that is gone (a crash leaves it behind) is taken over.
      writeFileSync(join(dataDir, 'default-issuer.json'), JSON.stringify({ url: 'http://127.0.0.1:1', pid: 2 ** 22 + 1 }));
      assert.equal(await (await spawnServer(['--store', 'sqlite', '--data-dir', dataDir, '--log-level', 'warn'])).stop(), 0);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
    const redis = spawnSync(process.execPath, [CLI, 'serve', '--store', 'redis'], { encoding: 'utf8' });
    assert.equal(redis.status, 1);
    assert.match(redis.stderr, /--issuer is required with --store redis/);
  });

  it('a port in use: one line that names it and what to do, and nothing created on disk', async () => {
    const taken = createServer().listen(0, '127.0.0.1');
    await once(taken, 'listening');
    const { port } = taken.address() as AddressInfo;
    const dataDir = join(mkdtempSync(join(tmpdir(), 'tessera-cli-')), 'data');
    try {
      const refused = spawn(process.execPath, [CLI, 'serve', '--port', String(port), '--data-dir', dataDir]);
      let stderr = '';
      refused.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const [code] = (await once(refused, 'exit')) as [number];
      assert.equal(code, 1);
      assert.equal(
        stderr,
        `tessera: cannot listen on 127.0.0.1:${port}: the port is in use: stop what listens there, or choose another port with --port.\n`,
      );
      assert.equal(existsSync(dataDir), false, 'no data directory, no keys');
    } finally {
      taken.close();
    }
  });

  it('a store it cannot reach: named (password hidden), with how long it tried and why', async () => {
    const port = await freePort(); // nothing listens there
    const dataDir = join(mkdtempSync(join(tmpdir(), 'tessera-cli-')), 'data');
    const refused = spawn(process.execPath, [
      ...[CLI, 'serve', '--port', '0', '--store', 'redis', '--issuer', 'https://id.test', '--data-dir', dataDir],
      ...['--redis-url', `redis://:a-secret-password@127.0.0.1:${port}`],
    ]);
    let stderr = '';
    refused.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(refused, 'exit')) as [number];
    assert.equal(code, 1);
    assert.match(
      stderr,
      new RegExp(
        `^tessera: cannot reach Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port} \\(tried for 1\\d s\\): ECONNREFUSED: nothing listens there\\.\\n$`,
      ),
    );
    assert.doesNotMatch(stderr, /a-secret-password/);
    assert.equal(existsSync(dataDir), false, 'no keys written for a server that could not start');
  });

  it('bad flags exit 2 with a message', () => {
    const bad = spawnSync(process.execPath, [CLI, 'serve', '--store', 'mongodb'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--store must be one of memory, sqlite, redis, postgres/);
    const unknown = spawnSync(process.execPath, [CLI, 'serve', '--nope'], { encoding: 'utf8' });
    assert.equal(unknown.status, 2);
    assert.equal(unknown.stderr, 'Unknown option --nope. See tessera serve --help.\n');
    const typo = spawnSync(process.execPath, [CLI, 'serve', '--prot', '3001'], { encoding: 'utf8' });
    assert.equal(typo.status, 2);
    assert.equal(typo.stderr, 'Unknown option --prot: did you mean --port? See tessera serve --help.\n');
    const keysTypo = spawnSync(process.execPath, [CLI, 'keys', 'generate', '--ot', 'dir'], { encoding: 'utf8' });
    assert.equal(keysTypo.status, 2);
    assert.equal(keysTypo.stderr, 'Unknown option --ot: did you mean --out? See tessera keys --help.\n');
    const grace = spawnSync(process.execPath, [CLI, 'serve', '--refresh-grace', '1h'], { encoding: 'utf8' });
    assert.equal(grace.status, 2);
    assert.match(grace.stderr, /--refresh-grace must be a number of seconds/);
    const level = spawnSync(process.execPath, [CLI, 'serve', '--log-level', 'loud'], { encoding: 'utf8' });
    assert.equal(level.status, 2);
    assert.match(level.stderr, /--log-level must be one of/);
    const cluster = spawnSync(process.execPath, [CLI, 'serve', '--redis-cluster', '127.0.0.1:7000'], { encoding: 'utf8' });
    assert.equal(cluster.status, 2);
    assert.match(cluster.stderr, /--redis-cluster needs --store redis/);
    const seeds = spawnSync(process.execPath, [CLI, 'serve', '--store', 'redis', '--redis-cluster', 'redis://a'], { encoding: 'utf8' });
    assert.equal(seeds.status, 2);
    assert.match(seeds.stderr, /--redis-cluster must be host:port/);
    for (const [flag, value, message] of [
      ['--trust-proxy', 'true', /--trust-proxy must be a hop count/],
      ['--headers-timeout', '0', /--headers-timeout must be a number of seconds/],
      ['--max-connections-per-client', '1.5', /--max-connections-per-client must be a whole number/],
      ['--issuer', 'https://id.example/?tenant=1', /--issuer: the issuer must be an http\(s\) URL without query or fragment/],
      ['--metrics-token', 'short', /--metrics-token: The metrics token must be at least 32 characters/],
      ['--service', 'orders a,b', /--service: A service is/],
      ['--client-file', '/nonexistent/clients', /--client-file: cannot read \/nonexistent\/clients \(ENOENT\)/],
    ] as const) {
      const refused = spawnSync(process.execPath, [CLI, 'serve', flag, value], { encoding: 'utf8' });
      assert.equal(refused.status, 2, flag);
      assert.match(refused.stderr, message);
    }
    const dpop = spawnSync(process.execPath, [CLI, 'serve', '--dpop', 'maybe'], { encoding: 'utf8' });
    assert.equal(dpop.status, 2);
    assert.match(dpop.stderr, /--dpop must be one of off, allowed, required/);
    const dpopStateful = spawnSync(process.execPath, [CLI, 'serve', '--strategy', 'stateful', '--dpop', 'required'], { encoding: 'utf8' });
    assert.equal(dpopStateful.status, 2);
    assert.match(dpopStateful.stderr, /--dpop binds the tokens of --strategy stateless or hybrid/);
    const bench = spawnSync(process.execPath, [CLI, 'bench', '--rounds', 'many'], { encoding: 'utf8' });
    assert.equal(bench.status, 2);
    assert.match(bench.stderr, /--rounds must be a positive number/);
  });

  it('every command and subcommand answers --help (and -h) with its usage and exit 0', () => {
    for (const args of [
      ['--help'],
      ['serve', '--help'],
      ['serve', '-h'],
      ['keys', '--help'],
      ['keys', 'generate', '--help'],
      ['keys', 'list', '-h'],
      ['keys', 'rotate', '--help'],
      ['keys', 'revoke', '--help'],
      ['keys', 'revoke', 'some-kid', '--help'],
    ]) {
      const answer = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
      assert.equal(answer.status, 0, `${args.join(' ')}: ${answer.stderr}`);
      assert.match(answer.stdout, /^Usage: tessera/, args.join(' '));
    }
  });

  it('tessera bench runs the benchmark lab of the source checkout', () => {
    const help = spawnSync(process.execPath, [CLI, 'bench', '--help'], { encoding: 'utf8' });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /--quick {2,}one round of 2 s per contender/);
  });
});
