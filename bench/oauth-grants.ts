/**
 * What each way of getting tokens costs the identity server: Redis commands (as MONITOR sees them,
 * scripts once) and the server process's CPU per operation, for the first-party routes (`/auth/login`, `/auth/refresh`) beside the OAuth
 * grants (a code: authorization and redemption; a refresh; client credentials). Hybrid on a local
 * Redis, the server's defaults otherwise.
 *
 *   npm run bench:oauth (after npm run build: the server runs from dist, as deployed)
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startRedis } from '../tools/redis-process.js';
import { authorizationPath, pkce, tokenRequest } from '../test/helpers/oauth.js';
import { roundTripsDuring } from '../test/helpers/redis.js';
import { machine, replaceReadmeSection } from './harness.js';

const PASSWORD = 'correct horse battery';
const SECRET = 'b'.repeat(40);
const CALLBACK = 'https://app.example/callback';
const ROUNDS = { login: 20, other: 300 };

const redis = await startRedis();
const dataDir = mkdtempSync(join(tmpdir(), 'tessera-bench-oauth-'));
const clientsFile = join(dataDir, 'clients.json');
writeFileSync(
  clientsFile,
  JSON.stringify([
    {
      client_id: 'app',
      client_secret: SECRET,
      redirect_uris: [CALLBACK],
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
      scope: 'orders:read',
    },
  ]),
);
const port = await freePort();
const url = `http://127.0.0.1:${port}`;
// tessera serve as deployed (the built CLI), alone in its process: its CPU is read from /proc.
const server = spawn(
  process.execPath,
  [
    'packages/tessera-auth-server/dist/cli/main.js',
    'serve',
    ...['--port', String(port), '--store', 'redis', '--redis-url', redis.url, '--issuer', url, '--data-dir', dataDir],
    ...['--clients-file', clientsFile, '--service', 'orders orders:read', '--insecure-cookies', '--log-level', 'silent'],
    // The login and refresh rows run as one user: its sessions pile up past the default cap.
    ...['--max-sessions-per-user', '100000'],
    // Hundreds of users registered from this one machine: each from an address of its own.
    ...['--trust-proxy', 'loopback'],
  ],
  { stdio: ['ignore', 'ignore', 'inherit'] },
);
const ready = () =>
  fetch(`${url}/readyz`).then(
    (response) => response.ok,
    () => false,
  );
for (let tries = 0; !(await ready()); tries++) {
  if (tries > 200) throw new Error('tessera serve did not start');
  await new Promise((resolve) => setTimeout(resolve, 50));
}
/** The server process's CPU time so far, in ms (utime + stime, in clock ticks of 10 ms). */
const serverCpuMs = () => {
  const fields = readFileSync(`/proc/${server.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
};

const json = async (response: Response) => {
  if (!response.ok) throw new Error(`${response.url}: ${response.status} ${await response.text()}`);
  return (await response.json()) as Record<string, string>;
};
const form = async (fields: Record<string, string>) => {
  const { status, body } = await tokenRequest(url, fields, { id: 'app', secret: SECRET });
  if (status !== 200) throw new Error(`/oauth/token: ${status} ${JSON.stringify(body)}`);
  return body;
};
const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

await post('/auth/register', { username: 'alice', password: PASSWORD });
// Browsers signed in, one user each: every grant then finds a user with a session or two, as in
// life (the per-user cap lists the user's sessions at every grant, so one user piling up hundreds
// would measure that list instead).
const browsers: string[] = [];
for (let i = 0; i < ROUNDS.other + 2; i++) {
  const username = `user${i}`;
  const from = { 'x-forwarded-for': `198.51.100.${i % 250}`, origin: url };
  await post('/auth/register', { username, password: PASSWORD }, { 'x-forwarded-for': `203.0.113.${i % 250}` });
  const login = await post('/auth/login', { username, password: PASSWORD }, from);
  browsers.push(
    login.headers
      .getSetCookie()
      .map((line) => line.split(';')[0])
      .join('; '),
  );
}
let nextBrowser = 0;

let firstPartyHandle = '';
let oauthHandle = '';
const operations: Record<string, () => Promise<void>> = {
  'POST /auth/login (password)': async () => {
    firstPartyHandle = (await json(await post('/auth/login', { username: 'alice', password: PASSWORD, transport: 'body' }))).refresh_token!;
  },
  'POST /auth/refresh': async () => {
    firstPartyHandle = (await json(await post('/auth/refresh', { refresh_token: firstPartyHandle }))).refresh_token!;
  },
  'authorization code: GET /oauth/authorize + POST /oauth/token': async () => {
    const { verifier, challenge } = pkce();
    const path = authorizationPath({
      client_id: 'app',
      redirect_uri: CALLBACK,
      response_type: 'code',
      scope: 'openid',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    const cookie = browsers[nextBrowser++ % browsers.length]!;
    const answer = await fetch(`${url}${path}`, { headers: { cookie }, redirect: 'manual' });
    const code = new URL(answer.headers.get('location')!).searchParams.get('code')!;
    oauthHandle = (await form({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: CALLBACK })).refresh_token!;
  },
  'refresh_token grant: POST /oauth/token': async () => {
    oauthHandle = (await form({ grant_type: 'refresh_token', refresh_token: oauthHandle })).refresh_token!;
  },
  'client_credentials grant: POST /oauth/token': async () => {
    await form({ grant_type: 'client_credentials', resource: 'orders', scope: 'orders:read' });
  },
};

const rows: { operation: string; commands: string[]; cpuMs: number }[] = [];
try {
  for (const [operation, run] of Object.entries(operations)) {
    await run(); // loads the scripts this operation uses
    const commands = await roundTripsDuring(redis, run);
    const rounds = operation.includes('password') ? ROUNDS.login : ROUNDS.other;
    const before = serverCpuMs();
    for (let i = 0; i < rounds; i++) await run();
    rows.push({ operation, commands, cpuMs: (serverCpuMs() - before) / rounds });
  }
} finally {
  const exited = once(server, 'exit');
  server.kill();
  await exited;
  await redis.dispose();
  rmSync(dataDir, { recursive: true, force: true });
}

const m = machine();
const login = rows[0]!.cpuMs;
const tally = (commands: string[]) =>
  Object.entries(commands.reduce<Record<string, number>>((counts, command) => ({ ...counts, [command]: (counts[command] ?? 0) + 1 }), {}))
    .map(([command, count]) => (count > 1 ? `${command} ×${count}` : command))
    .join(', ');
const table = [
  `Hybrid on a local Redis. ${m.cpu}, ${m.cores} cores, Node ${m.node}, ${m.date}. Commands as MONITOR sees them (a script counts once); CPU of the server process (from /proc, 10 ms ticks) over ${ROUNDS.other} rounds (${ROUNDS.login} for the login, whose password hash dominates).`,
  '',
  '| operation | Redis commands | which | CPU per operation | vs /auth/login |',
  '|---|---:|---|---:|---:|',
  ...rows.map(
    (row) =>
      `| ${row.operation} | ${row.commands.length} | ${tally(row.commands)} | ${row.cpuMs.toFixed(2)} ms | ${(row.cpuMs / login).toFixed(2)}× |`,
  ),
].join('\n');
writeFileSync('bench/results/oauth-grants.md', `${table}\n`);
replaceReadmeSection('oauth-grants', table);
console.log(table);
