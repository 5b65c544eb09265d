// A TCP proxy that holds every chunk $DELAY_MS milliseconds in each direction before passing it on:
// Redis on loopback, priced like a trip to another zone (this kernel has no netem). Its own
// process, so its work is not charged to any contender. Timers of one duration fire in the order
// they were set, so bytes stay in order.
import { connect, createServer } from 'node:net';

const delay = Number(process.env.DELAY_MS ?? 1);
const target = Number(process.env.TARGET_PORT);

function forward(from, to) {
  from.on('data', (chunk) => setTimeout(() => to.write(chunk), delay));
  from.on('end', () => setTimeout(() => to.end(), delay));
  from.on('error', () => to.destroy());
  from.on('close', () => setTimeout(() => to.destroy(), delay));
}

const server = createServer((client) => {
  const upstream = connect(target, '127.0.0.1');
  client.setNoDelay(true);
  upstream.setNoDelay(true);
  forward(client, upstream);
  forward(upstream, client);
});
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('ready'));
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => process.exit(0));
