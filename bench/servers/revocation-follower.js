// A resource service's copy of the revocation list, for the stream benchmark: FOLLOW=stream follows
// the identity server's GET /revocations/stream (STREAM_URL, CLIENT_ID, CLIENT_SECRET) as a service
// in any language would; FOLLOW=redis follows the Redis feed itself (REDIS_URL). It prints "ready"
// once caught up, then "heard <value> <ms>" for each entry, in epoch milliseconds with sub-ms precision.
import { performance } from 'node:perf_hooks';
import { createRevocationMirror } from 'tessera-auth';
import { createRedisStore } from 'tessera-auth/redis';
import { followRevocationStream } from 'tessera-auth/revocation-stream';

const now = () => performance.timeOrigin + performance.now();
const revocations =
  process.env.FOLLOW === 'redis'
    ? createRevocationMirror({ store: createRedisStore({ url: process.env.REDIS_URL }) })
    : followRevocationStream({ url: process.env.STREAM_URL, clientId: process.env.CLIENT_ID, clientSecret: process.env.CLIENT_SECRET });
revocations.events.on('revocation', (entry) => process.stdout.write(`heard ${entry.value} ${now()}\n`));
for (let attempt = 1; ; attempt++) {
  try {
    await revocations.ensureLoaded();
    break;
  } catch (error) {
    if (attempt === 50) throw error;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
console.log('ready');
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => process.exit(0));
