/**
 * What DPoP adds to a request: CPU per authenticated request context (hybrid strategy, warm
 * verifier cache) with a bearer token, and with a DPoP-bound token and a fresh proof for each
 * allowed algorithm (nonces on); beside it, jose verifying the same proofs (EmbeddedJWK and the key's
 * thumbprint), as an application would by hand. One process, interleaved rounds, median; bytes too.
 *
 *   npm run bench:dpop [-- --quick]   (node --expose-gc: the proofs made between rounds are collected untimed)
 */
import { createHash, generateKeyPairSync, type KeyObject, randomBytes, randomUUID, sign } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as jose from 'jose';
import { createAuth, createAuthContext, createMemoryStore, type Auth, type RequestFacts } from '../packages/tessera-auth/src/index.js';
import { createDpopNonces, createKeyRing, generateJwk, importKey } from '../packages/tessera-auth/src/tokens/index.js';
import { machine, median, replaceReadmeSection } from './harness.js';

const { values: args } = parseArgs({ options: { quick: { type: 'boolean' } } });
const ROUNDS = args.quick ? 3 : 7;
const CALLS = args.quick ? 200 : 1_000;
const ORIGIN = 'https://id.example';
const PATH = '/api/orders';
const ALGORITHMS = ['EdDSA', 'ES256', 'RS256'] as const;
type ProofAlgorithm = (typeof ALGORITHMS)[number];

const keys = createKeyRing([{ key: importKey({ alg: 'EdDSA', key: generateJwk('EdDSA') }), status: 'active' }]);
const nonces = createDpopNonces({ secret: Buffer.alloc(32, 1) });
const auth: Auth = createAuth({
  strategy: 'hybrid',
  store: createMemoryStore(),
  tokens: { keys, issuer: ORIGIN, dpop: { mode: 'allowed', nonces } },
});
await auth.ready();
const sink = { appendSetCookie() {}, setHeader() {} };
const facts = (headers: Record<string, string>, method = 'GET', target = PATH): RequestFacts => ({
  method,
  target,
  ip: '127.0.0.1',
  header: (name) => headers[name],
});

/** A client's key and what it takes to make `count` proofs for `token` (made before timing: clients pay for them). */
async function holder(alg: ProofAlgorithm) {
  const { privateKey, publicKey } = await jose.generateKeyPair(alg);
  const jwk = await jose.exportJWK(publicKey);
  const proof = (method: string, url: string, token?: string) =>
    new jose.SignJWT({
      jti: randomUUID(),
      htm: method,
      htu: url,
      iat: Math.floor(Date.now() / 1000),
      nonce: nonces.current(),
      ...(token && { ath: createHash('sha256').update(token).digest('base64url') }),
    })
      .setProtectedHeader({ typ: 'dpop+jwt', alg, jwk })
      .sign(privateKey);
  const context = await createAuthContext(auth, facts({ dpop: await proof('POST', `${ORIGIN}/login`) }, 'POST', '/login'), sink);
  const login = await context.login({ id: `user-${alg}`, roles: ['reader'] });
  const token = login.accessToken!.token;
  const proofs = async (count: number) => Promise.all(Array.from({ length: count }, () => proof('GET', `${ORIGIN}${PATH}`, token)));
  return { token, proofs };
}

interface Contender {
  readonly name: string;
  /** Runs `CALLS` requests (or verifications); fresh proofs are made before each round, untimed. */
  prepare(): Promise<void>;
  run(): Promise<void> | void;
  readonly proofBytes?: number;
  readonly tokenBytes: number;
}

const bearerLogin = await (
  await createAuthContext(auth, facts({}, 'POST', '/login'), sink)
).login({ id: 'user-bearer', roles: ['reader'] });
const bearer = bearerLogin.accessToken!.token;
const contenders: Contender[] = [
  {
    name: 'Bearer token (no proof)',
    tokenBytes: bearer.length,
    async prepare() {},
    run() {
      const request = facts({ authorization: `Bearer ${bearer}` });
      for (let i = 0; i < CALLS; i++) if (!createAuthContext(auth, request, sink)) throw new Error('no context');
    },
  },
];

const sample = new Map<ProofAlgorithm, string>();
for (const alg of ALGORITHMS) {
  const { token, proofs } = await holder(alg);
  sample.set(alg, (await proofs(1))[0]!);
  let batch: string[] = [];
  contenders.push({
    name: `DPoP ${alg}: Tessera`,
    tokenBytes: token.length,
    proofBytes: sample.get(alg)!.length,
    async prepare() {
      batch = await proofs(CALLS);
    },
    run() {
      for (const proof of batch) {
        const context = createAuthContext(auth, facts({ authorization: `DPoP ${token}`, dpop: proof }), sink);
        if ('then' in context || !context.user) throw new Error(`refused: ${'then' in context ? 'async' : context.failure?.message}`);
      }
    },
  });
  let peerBatch: string[] = [];
  contenders.push({
    name: `DPoP ${alg}: jose (proof only)`,
    tokenBytes: token.length,
    async prepare() {
      peerBatch = await proofs(CALLS);
    },
    async run() {
      for (const proof of peerBatch) {
        const { payload, protectedHeader } = await jose.jwtVerify(proof, jose.EmbeddedJWK, { typ: 'dpop+jwt', algorithms: [alg] });
        await jose.calculateJwkThumbprint(protectedHeader.jwk!);
        if (payload.htm !== 'GET') throw new Error('wrong proof');
      }
    },
  });
}

/**
 * Proofs an attacker sends to burn CPU, each with a header never seen before (a junk member makes
 * it new, so no imported key is reused) and claims that pass: what one costs to refuse, beside a
 * valid EdDSA proof from a key never seen before.
 */
function attack(name: string, jwk: Record<string, unknown>, alg: string, signWith?: KeyObject, signatureBytes = 64): Contender {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  let batch: string[] = [];
  return {
    name,
    tokenBytes: 0,
    async prepare() {
      batch = Array.from({ length: CALLS }, () => {
        const input = `${encode({ typ: 'dpop+jwt', alg, jwk, junk: randomUUID() })}.${encode({ jti: randomUUID(), htm: 'POST', htu: `${ORIGIN}/login`, iat: Math.floor(Date.now() / 1000), nonce: nonces.current() })}`;
        const signature = signWith
          ? sign(alg === 'EdDSA' ? null : 'sha256', Buffer.from(input), { key: signWith, dsaEncoding: 'ieee-p1363' })
          : randomBytes(signatureBytes);
        return `${input}.${signature.toString('base64url')}`;
      });
    },
    run() {
      for (const proof of batch) {
        const context = createAuthContext(auth, facts({ dpop: proof }, 'POST', '/login'), sink);
        const failure = 'then' in context ? new Error('async') : context.failure;
        if (!failure !== (signWith !== undefined)) throw new Error(`${name}: ${failure?.message ?? 'accepted'}`);
      }
    },
  };
}
const ed = generateKeyPairSync('ed25519');
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rsaJwk = (bits: number, e = 'AQAB') => ({
  kty: 'RSA',
  e,
  n: Buffer.concat([Buffer.from([0xc0]), randomBytes(bits / 8 - 1)]).toString('base64url'),
});
const attacks = [
  attack('valid EdDSA proof, new key', ed.publicKey.export({ format: 'jwk' }), 'EdDSA', ed.privateKey),
  attack('refused: EdDSA, bad signature', ed.publicKey.export({ format: 'jwk' }), 'EdDSA'),
  attack('refused: ES256, bad signature', ec.publicKey.export({ format: 'jwk' }), 'ES256'),
  attack(
    'refused: ES256, point off the curve',
    { ...ec.publicKey.export({ format: 'jwk' }), y: randomBytes(32).toString('base64url') },
    'ES256',
  ),
  attack('refused: RSA-2048, bad signature', rsaJwk(2048), 'RS256', undefined, 256),
  attack('refused: RSA-4096, bad signature', rsaJwk(4096), 'RS256', undefined, 512),
  attack('refused: RSA-8192', rsaJwk(8192), 'RS256', undefined, 1024),
  attack('refused: RSA-3072, 3071-bit exponent', rsaJwk(3072, rsaJwk(3072).n.replace(/^./, 'w')), 'RS256', undefined, 384),
];
contenders.push(...attacks);

const samples = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
for (const contender of contenders) {
  await contender.prepare();
  await contender.run(); // each must work before it is timed
}
for (let round = 0; round < ROUNDS; round++) {
  for (let i = 0; i < contenders.length; i++) {
    const contender = contenders[(i + round) % contenders.length]!;
    await contender.prepare();
    globalThis.gc?.(); // the proofs' garbage is the client's, not the verifier's
    const started = process.cpuUsage();
    await contender.run();
    const used = process.cpuUsage(started);
    samples.get(contender.name)!.push((used.user + used.system) / CALLS);
  }
  process.stderr.write(`round ${round + 1}/${ROUNDS}\n`);
}

const perRequest = new Map([...samples].map(([name, values]) => [name, median(values)]));
const base = perRequest.get('Bearer token (no proof)')!;
const lines = [
  '| request | CPU per request | added by DPoP | bytes sent (token + proof) |',
  '|---|---:|---:|---:|',
  ...contenders
    .filter((c) => !attacks.includes(c))
    .map((c) => {
      const cpu = perRequest.get(c.name)!;
      const tessera = c.name.endsWith('Tessera') || c.name.startsWith('Bearer');
      return `| ${c.name} | ${cpu.toFixed(1)} µs | ${c.name.startsWith('Bearer') ? '' : `${(cpu - (tessera ? base : 0)).toFixed(1)} µs`} | ${tessera ? c.tokenBytes + (c.proofBytes ?? 0) : ''} |`;
    }),
];
const attackLines = [
  '| proof (a header never seen before) | CPU to answer it |',
  '|---|---:|',
  ...attacks.map((c) => `| ${c.name} | ${perRequest.get(c.name)!.toFixed(1)} µs |`),
];
const m = machine();
const report = `CPU per authenticated request, in process (hybrid strategy, nonces on, warm token cache), median of ${ROUNDS} interleaved rounds of ${CALLS}. jose's rows verify the proof alone (no token), the check an application would write by hand. ${m.cpu}, ${m.cores} cores, Node ${m.node}, ${m.date}.\n\n${lines.join('\n')}\n\nWhat refusing a proof costs, against accepting a valid one (POST /login with a proof, no token):\n\n${attackLines.join('\n')}`;
console.log(report);
if (!args.quick) {
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/dpop.md', `${report}\n`);
  replaceReadmeSection('dpop', report);
}
auth.close();
