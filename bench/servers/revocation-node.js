// One instance of a stateless deployment sharing a Redis or a PostgreSQL (POSTGRES_URL), for the propagation benchmark. It
// prints "sent <jti> <ms>" just before it stores a revocation asked for by POST /revoke/<jti>,
// "answered <jti> <ms>" when that revocation resolves (with acknowledgement: once every instance
// has applied it), and "heard <jti> <ms>" when the feed delivers one; the times are epoch
// milliseconds with sub-ms precision, comparable across processes on one machine. ACKNOWLEDGE=off
// runs the store without acknowledgements, as before they existed.
import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import { createAuth } from 'tessera-auth';
import { createPostgresStore } from 'tessera-auth/postgres';
import { createRedisStore } from 'tessera-auth/redis';
import { createKeyRing, generateJwk, importKey } from 'tessera-auth/tokens';

const now = () => performance.timeOrigin + performance.now();
const jwk = generateJwk('EdDSA');
const keys = createKeyRing([{ key: importKey({ alg: 'EdDSA', kid: jwk.kid, key: jwk }), status: 'active' }]);
const shared =
  process.env.POSTGRES_URL === undefined
    ? createRedisStore({ url: process.env.REDIS_URL })
    : createPostgresStore({ url: process.env.POSTGRES_URL });
const store =
  process.env.ACKNOWLEDGE === 'off' ? { ...shared, revocations: { ...shared.revocations, acknowledgements: undefined } } : shared;
const auth = createAuth({ strategy: 'stateless', store, tokens: { keys, issuer: 'https://bench.example' } });
auth.tokens.events.on('revocation', (entry) => process.stdout.write(`heard ${entry.value} ${now()}\n`));
await auth.ready();

const server = createServer(async (req, res) => {
  const jti = req.url?.split('/')[2];
  if (req.method !== 'POST' || !jti) return void res.writeHead(404).end();
  process.stdout.write(`sent ${jti} ${now()}\n`);
  await auth.tokens.revoke({ kind: 'jti', value: jti, expiresAt: Date.now() + 600_000 });
  process.stdout.write(`answered ${jti} ${now()}\n`);
  res.writeHead(204).end();
});
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('ready'));
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => process.exit(0));
