/**
 * Sign and verify operations per second: Tessera against jsonwebtoken, jose and fast-jwt, in one
 * process, interleaved rounds, median. Usage: node --import tsx bench/tokens.ts [--quick]
 */
import { createSecretKey, randomBytes } from 'node:crypto';
import { writeFileSync, mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createSigner as fastSigner, createVerifier as fastVerifier } from 'fast-jwt';
import * as jose from 'jose';
import jsonwebtoken from 'jsonwebtoken';
import {
  createKeyRing,
  createTokenIssuer,
  createVerifier,
  generateJwk,
  importKey,
  type TokenKey,
} from '../packages/tessera-auth/src/tokens/index.js';
import { machine, median, replaceReadmeSection } from './harness.js';

const { values: args } = parseArgs({ options: { quick: { type: 'boolean' } } });
const ROUNDS = args.quick ? 3 : 7;
const MS_PER_CASE = args.quick ? 300 : 1000;
const ISSUER = 'https://id.example';
const AUDIENCE = 'api';

type Case = { name: string; run: () => unknown };

async function opsPerSecond(run: () => unknown): Promise<number> {
  const deadline = performance.now() + MS_PER_CASE;
  let ops = 0;
  const started = performance.now();
  while (performance.now() < deadline) {
    for (let i = 0; i < 50; i++) {
      const result = run();
      if (result instanceof Promise) await result;
    }
    ops += 50;
  }
  return ops / ((performance.now() - started) / 1000);
}

function claims() {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: ISSUER,
    sub: 'user-1',
    aud: AUDIENCE,
    iat: now,
    exp: now + 3600,
    jti: randomBytes(16).toString('base64url'),
    sid: 'session-1',
    roles: ['user'],
  };
}

/** Tessera's side of a group: a one-key ring, its issuer, a token, and verifiers without and with cache. */
function tesseraFor(key: TokenKey) {
  const keys = createKeyRing([{ key, status: 'active' }]);
  const issuer = createTokenIssuer({ keys, issuer: ISSUER, ttlSeconds: 3600 });
  const sign = () => issuer.issue({ sub: 'user-1', aud: AUDIENCE, claims: { sid: 'session-1', roles: ['user'] } });
  const options = { keys, typ: 'at+jwt', issuer: ISSUER, audience: AUDIENCE };
  return { sign, token: sign().token, verify: createVerifier({ ...options, cacheSize: 0 }), verifyCached: createVerifier(options) };
}

async function cases(): Promise<Record<string, Case[]>> {
  const groups: Record<string, Case[]> = {};

  // HS256 — the seeds' algorithm family, and jsonwebtoken's home ground.
  {
    // An ASCII secret, so every library reads the same bytes from the string form.
    const secretString = randomBytes(32).toString('base64url');
    const secret = Buffer.from(secretString);
    const keyObject = createSecretKey(secret);
    const tessera = tesseraFor(importKey({ alg: 'HS256', kid: 'hs', key: secret }));
    const { token } = tessera;
    const fastOptions = { key: secretString, algorithms: ['HS256' as const], allowedIss: ISSUER, allowedAud: AUDIENCE };
    const fast = fastVerifier(fastOptions);
    const fastCached = fastVerifier({ ...fastOptions, cache: true });
    const fastSign = fastSigner({ key: secretString, algorithm: 'HS256' });
    const jwtOptions = { algorithms: ['HS256' as const], issuer: ISSUER, audience: AUDIENCE };
    groups['HS256 verify'] = [
      { name: 'Tessera', run: () => tessera.verify(token) },
      { name: 'Tessera (cache)', run: () => tessera.verifyCached(token) },
      { name: 'fast-jwt', run: () => fast(token) },
      { name: 'fast-jwt (cache)', run: () => fastCached(token) },
      { name: 'jose', run: () => jose.jwtVerify(token, keyObject, { issuer: ISSUER, audience: AUDIENCE, algorithms: ['HS256'] }) },
      { name: 'jsonwebtoken (KeyObject)', run: () => jsonwebtoken.verify(token, keyObject, jwtOptions) },
      { name: 'jsonwebtoken (string secret)', run: () => jsonwebtoken.verify(token, secretString, jwtOptions) },
    ];
    groups['HS256 sign'] = [
      { name: 'Tessera', run: tessera.sign },
      { name: 'fast-jwt', run: () => fastSign(claims()) },
      { name: 'jose', run: () => new jose.SignJWT(claims()).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' }).sign(keyObject) },
      { name: 'jsonwebtoken (KeyObject)', run: () => jsonwebtoken.sign(claims(), keyObject, { algorithm: 'HS256' }) },
      { name: 'jsonwebtoken (string secret)', run: () => jsonwebtoken.sign(claims(), secretString, { algorithm: 'HS256' }) },
    ];
  }

  // EdDSA (Ed25519) — Tessera's default. jsonwebtoken does not support it.
  {
    const key = importKey({ alg: 'EdDSA', key: generateJwk('EdDSA') });
    const tessera = tesseraFor(key);
    const { token } = tessera;
    const publicPem = key.verificationKey.export({ format: 'pem', type: 'spki' }).toString();
    const privatePem = key.signingKey!.export({ format: 'pem', type: 'pkcs8' }).toString();
    const fastOptions = { key: publicPem, algorithms: ['EdDSA' as const], allowedIss: ISSUER, allowedAud: AUDIENCE };
    const fast = fastVerifier(fastOptions);
    const fastCached = fastVerifier({ ...fastOptions, cache: true });
    const fastSign = fastSigner({ key: privatePem, algorithm: 'EdDSA' });
    groups['EdDSA verify'] = [
      { name: 'Tessera', run: () => tessera.verify(token) },
      { name: 'Tessera (cache)', run: () => tessera.verifyCached(token) },
      { name: 'fast-jwt', run: () => fast(token) },
      { name: 'fast-jwt (cache)', run: () => fastCached(token) },
      {
        name: 'jose',
        run: () => jose.jwtVerify(token, key.verificationKey, { issuer: ISSUER, audience: AUDIENCE, algorithms: ['EdDSA'] }),
      },
    ];
    groups['EdDSA sign'] = [
      { name: 'Tessera', run: tessera.sign },
      { name: 'fast-jwt', run: () => fastSign(claims()) },
      { name: 'jose', run: () => new jose.SignJWT(claims()).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt' }).sign(key.signingKey!) },
    ];
  }
  return groups;
}

const groups = await cases();
const lines: string[] = [];
for (const [group, contenders] of Object.entries(groups)) {
  for (const contender of contenders) await contender.run(); // each must work before it is timed
  const results = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < contenders.length; i++) {
      const contender = contenders[(i + round) % contenders.length]!;
      results.get(contender.name)!.push(await opsPerSecond(contender.run));
    }
    process.stderr.write(`${group}: round ${round + 1}/${ROUNDS}\n`);
  }
  const medians = [...results].map(([name, values]) => [name, median(values)] as const);
  const tessera = medians.find(([name]) => name === 'Tessera')![1];
  lines.push(`\n**${group}**\n`, '| library | ops/s | Tessera (uncached) is |', '|---|---:|---:|');
  for (const [name, ops] of medians) lines.push(`| ${name} | ${Math.round(ops).toLocaleString('en')} | ${(tessera / ops).toFixed(2)}x |`);
}
const m = machine();
const report = `Token operations per second, one core, median of ${ROUNDS} interleaved rounds. ${m.cpu}, ${m.cores} cores, Node ${m.node}, ${m.date}.\n${lines.join('\n')}`;
console.log(report);
if (!args.quick) {
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/tokens.md', `${report}\n`);
  replaceReadmeSection('tokens', report);
}
