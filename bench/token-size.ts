/**
 * What each part of the identity server's access token costs on the wire. Starts `tessera serve`
 * with its defaults (hybrid, SQLite, a generated EdDSA key, the issuer its own URL), logs in over
 * HTTP and takes the token apart: for every claim, how many characters the token loses without it,
 * and which of them RFC 9068 requires. The smallest token the profile allows follows from that.
 *
 *   npm run bench:token-size
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../tools/redis-process.js';
import { machine, replaceReadmeSection } from './harness.js';

const USERNAME = 'alice';
const PASSWORD = 'correct horse battery';

/** Claims RFC 9068 §2.2 requires in every access token, and why Tessera needs `sid`. */
const WHY: Record<string, string> = {
  iss: 'RFC 9068: required; the issuer check',
  sub: 'RFC 9068: required; the user (a UUID)',
  aud: 'RFC 9068: required; the audience check',
  exp: 'RFC 9068: required; the lifetime',
  iat: 'RFC 9068: required',
  jti: 'RFC 9068: required; revoking one token (96 bits)',
  client_id: 'RFC 9068: required',
  sid: 'the session: logout and logout-everywhere kill its tokens at once',
  roles: 'authorization without a lookup (`requireAuth({ roles })`)',
  name: "the user's display name (`req.auth.user.name`)",
};

/** base64url length of `bytes` bytes, no padding. */
const encoded = (bytes: number) => Math.ceil((bytes * 4) / 3);

async function defaultToken(): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-token-size-'));
  const port = await freePort();
  const server = spawn(
    process.execPath,
    ['packages/tessera-auth-server/dist/cli/main.js', 'serve', '--port', String(port), '--data-dir', dataDir, '--insecure-cookies'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    const url = `http://127.0.0.1:${port}`;
    for (let tries = 0; ; tries++) {
      const up = await fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (up) break;
      if (tries > 100) throw new Error('tessera serve did not start');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const post = (path: string, body: unknown) =>
      fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if ((await post('/auth/register', { username: USERNAME, password: PASSWORD })).status !== 201) throw new Error('register failed');
    const login = await post('/auth/login', { username: USERNAME, password: PASSWORD, transport: 'body' });
    return ((await login.json()) as { access_token: string }).access_token;
  } finally {
    const exited = once(server, 'exit');
    server.kill();
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main() {
  const token = await defaultToken();
  const [header64, payload64, signature64] = token.split('.') as [string, string, string];
  const header = JSON.parse(Buffer.from(header64, 'base64url').toString()) as Record<string, unknown>;
  const payload = JSON.parse(Buffer.from(payload64, 'base64url').toString()) as Record<string, unknown>;
  const payloadBytes = Buffer.byteLength(JSON.stringify(payload));
  const without = (claim: string) => {
    const rest = { ...payload };
    delete rest[claim];
    return encoded(Buffer.byteLength(JSON.stringify(rest)));
  };
  const rows = Object.keys(payload).map((claim) => {
    const cost = encoded(payloadBytes) - without(claim);
    return { claim, value: JSON.stringify(payload[claim]), cost };
  });
  const required = Object.fromEntries(Object.entries(payload).filter(([claim]) => WHY[claim]?.startsWith('RFC 9068')));
  const floor = header64.length + 1 + encoded(Buffer.byteLength(JSON.stringify(required))) + 1 + signature64.length;
  const m = machine();
  const report = [
    `The access token of \`tessera serve\` with its defaults (hybrid, a generated EdDSA key, the issuer its own URL \`${String(payload.iss)}\`), for the user \`${USERNAME}\`; ${m.date}. Cost: characters the token loses without the claim.`,
    '',
    '| part | value | characters | why it is there |',
    '|---|---|---:|---|',
    `| header | \`${JSON.stringify(header)}\` | ${header64.length} | RFC 9068: \`typ\` at+jwt; \`alg\`; \`kid\` picks the key during a rotation (8 characters) |`,
    ...rows.map((row) => `| \`${row.claim}\` | \`${row.value}\` | ${row.cost} | ${WHY[row.claim] ?? ''} |`),
    `| signature | EdDSA, 64 bytes | ${signature64.length} | the smallest asymmetric signature JOSE has |`,
    `| **whole token** | | **${token.length}** | dots included |`,
    '',
    `With only what RFC 9068 requires, the same header and an EdDSA signature, this token would be ${floor} characters: the required claims alone, with a URL issuer and audience, leave no way to 300 without dropping a check.`,
  ].join('\n');
  console.log(report);
  writeFileSync('bench/results/token-size.md', `${report}\n`);
  replaceReadmeSection('token-size', report);
}

await main();
