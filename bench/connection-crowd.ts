/**
 * Legitimate requests while slow sockets crowd the identity server: 100 slow-header sockets from
 * each of 11 addresses (127.0.0.2 to .12), each reopened as soon as the server drops it, against
 * `tessera serve` with its default caps (1,000 connections, 100 per address). Meanwhile another
 * address sends GET /healthz on a fresh connection every 100 ms.
 *
 *   npm run bench:crowd                   # this checkout's dist/
 *   npm run bench:crowd -- --cli PATH     # an older build's dist/cli/main.js, to compare
 *
 * Prints the share of those requests answered (200) within 1 s, and their latency; writes
 * bench/results/connection-crowd.md unless --cli points elsewhere.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '../tools/redis-process.js';
import { machine, median } from './harness.js';

const { values } = parseArgs({ options: { cli: { type: 'string' } } });
const cli = values.cli ?? 'packages/tessera-auth-server/dist/cli/main.js';
const PROBES = 100;

const port = await freePort();
const dataDir = mkdtempSync(join(tmpdir(), 'tessera-crowd-'));
const server = spawn(
  process.execPath,
  [cli, 'serve', '--port', String(port), '--store', 'memory', '--insecure-cookies', '--data-dir', dataDir, '--log-level', 'warn'],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
let output = '';
server.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
while (!output.includes('listening on')) await once(server.stdout, 'data');

const connectFrom = (from: string) =>
  new Promise<Socket>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress: from });
    socket.once('connect', () => resolve(socket)).once('error', reject);
  });

let pressing = true;
let opened = 0;
const held = new Set<Socket>();
async function hold(from: string): Promise<void> {
  if (!pressing) return;
  const socket = await connectFrom(from).catch(() => undefined);
  opened++;
  if (!socket) return void setTimeout(() => void hold(from), 10);
  socket.on('error', () => {});
  held.add(socket);
  socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n', () => {});
  socket.once('close', () => {
    held.delete(socket);
    void hold(from);
  });
}
await Promise.all(Array.from({ length: 11 }, (_, i) => Array.from({ length: 100 }, () => hold(`127.0.0.${i + 2}`))).flat());

/** One request on a fresh connection: its latency in ms, or undefined if it was not answered 200. */
async function probe(): Promise<number | undefined> {
  const started = performance.now();
  try {
    const socket = await connectFrom('127.0.0.1');
    socket.on('error', () => {});
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    await once(socket, 'close');
    return text.startsWith('HTTP/1.1 200') ? performance.now() - started : undefined;
  } catch {
    return undefined;
  }
}
const results = await Promise.all(
  Array.from({ length: PROBES }, (_, i) => new Promise((resolve) => setTimeout(resolve, i * 100)).then(probe)),
);
pressing = false;
for (const socket of held) socket.destroy();
server.kill('SIGTERM');
await once(server, 'exit');
rmSync(dataDir, { recursive: true, force: true });

const answered = results.filter((ms): ms is number => ms !== undefined);
const withinOneSecond = answered.filter((ms) => ms <= 1000).length;
const sorted = [...answered].sort((a, b) => a - b);
const m = machine();
const report = `Requests of another client while 1,100 slow sockets from 11 addresses press (${opened} attacker connections opened in all), ${PROBES} probes 100 ms apart, ${m.cpu}, ${m.cores} cores, Node ${m.node}, ${m.date}:

| answered 200 | within 1 s | median | slowest |
|---:|---:|---:|---:|
| ${answered.length}/${PROBES} | ${withinOneSecond}/${PROBES} (${((100 * withinOneSecond) / PROBES).toFixed(0)}%) | ${answered.length ? `${median(answered).toFixed(1)} ms` : '–'} | ${sorted.length ? `${sorted.at(-1)!.toFixed(1)} ms` : '–'} |`;
console.log(report);
if (values.cli === undefined) writeFileSync('bench/results/connection-crowd.md', `${report}\n`);
