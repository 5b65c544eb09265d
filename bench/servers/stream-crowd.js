// FOLLOWERS connections to one revocation stream (STREAM_URL, CLIENT_ID, CLIENT_SECRET), each read
// and discarded, for the stream benchmark: the load a thousand resource services put on the
// identity server. Prints "ready" once every one has had its first heartbeat.
import { request } from 'node:http';

const count = Number(process.env.FOLLOWERS);
const authorization = `Basic ${Buffer.from(`${process.env.CLIENT_ID}:${process.env.CLIENT_SECRET}`).toString('base64')}`;
let caughtUp = 0;
for (let i = 0; i < count; i++) {
  const req = request(process.env.STREAM_URL, { headers: { authorization }, agent: false }, (res) => {
    if (res.statusCode !== 200) throw new Error(`the stream answered ${res.statusCode}`);
    let heard = false;
    res.on('data', (chunk) => {
      if (!heard && chunk.includes(': heartbeat')) {
        heard = true;
        if (++caughtUp === count) console.log('ready');
      }
    });
  });
  req.end();
  if (i % 100 === 99) await new Promise((resolve) => setTimeout(resolve, 50)); // connect in waves
}
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => process.exit(0));
