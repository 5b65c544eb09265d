/**
 * CPU per authenticated request context (a valid bearer token, stateless strategy, warm cache):
 * this checkout's library against an older build, in one process, rounds interleaved.
 *
 *   npm run bench:context -- --before PATH   # PATH: an older build's dist folder (the library's)
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const { values } = parseArgs({ options: { before: { type: 'string' }, rounds: { type: 'string' }, calls: { type: 'string' } } });
const ROUNDS = Number(values.rounds ?? 7);
const CALLS = Number(values.calls ?? 200_000);
const builds: Record<string, string> = { after: resolve('packages/tessera-auth/dist') };
if (values.before) builds.before = resolve(values.before);

async function contextMaker(dist: string): Promise<() => unknown> {
  // Builds loaded by path, an older one among them: their types are not this checkout's.
  /* eslint-disable @typescript-eslint/no-explicit-any */
  const lib = (await import(pathToFileURL(`${dist}/index.js`).href)) as Record<string, any>;
  const tokens = (await import(pathToFileURL(`${dist}/tokens/index.js`).href)) as Record<string, any>;
  /* eslint-enable @typescript-eslint/no-explicit-any */
  const keys = tokens.createKeyRing([{ key: tokens.importKey({ alg: 'EdDSA', key: tokens.generateJwk('EdDSA') }), status: 'active' }]);
  const auth = lib.createAuth({ strategy: 'stateless', store: lib.createMemoryStore(), tokens: { keys, issuer: 'https://id.example' } });
  // Builds before 0.2.0's declared API had no auth.ready().
  await (auth.ready ? auth.ready() : auth.tokens.ensureLoaded());
  const sink = { appendSetCookie() {} };
  const anonymous = { method: 'POST', ip: '127.0.0.1', header: () => undefined };
  const { accessToken } = await lib.createAuthContext(auth, anonymous, sink).login({ id: 'user', roles: ['reader'] });
  const authorization = `Bearer ${accessToken.token as string}`;
  const request = { method: 'GET', ip: '127.0.0.1', header: (name: string) => (name === 'authorization' ? authorization : undefined) };
  return () => lib.createAuthContext(auth, request, sink).user;
}

const makers = Object.fromEntries(
  await Promise.all(Object.entries(builds).map(async ([name, dist]) => [name, await contextMaker(dist)] as const)),
);
const samples: Record<string, number[]> = Object.fromEntries(Object.keys(builds).map((name) => [name, []]));
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 ? Object.keys(builds) : Object.keys(builds).reverse();
  for (const name of order) {
    const make = makers[name]!;
    const started = process.cpuUsage();
    for (let i = 0; i < CALLS; i++) make();
    const used = process.cpuUsage(started);
    samples[name]!.push(((used.user + used.system) * 1000) / CALLS);
  }
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
for (const [name, values] of Object.entries(samples))
  console.log(`${name}: ${median(values).toFixed(0)} ns per authenticated context (median of ${ROUNDS} rounds of ${CALLS})`);
if (samples.before) console.log(`after / before: ${(median(samples.after!) / median(samples.before)).toFixed(3)}`);
