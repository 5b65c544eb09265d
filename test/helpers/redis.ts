import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, type TestContext } from 'node:test';
import { Redis } from 'ioredis';
import { hasRedisServer, startRedis, startRedisCluster, type RedisCluster, type RedisServer } from '../../tools/redis-process.js';

export { freePort, startRedis, waitUntilUp, type RedisCluster, type RedisServer } from '../../tools/redis-process.js';

const installed = hasRedisServer();

/**
 * Whether Redis tests can run. Under CI a missing redis-server is a failure, never a skip: a
 * skipped test proves nothing. Elsewhere the test is skipped with the reason.
 */
export function requireRedis(t: TestContext): boolean {
  if (installed) return true;
  if (process.env.CI) throw new Error('redis-server is not installed, and CI requires the Redis tests to run.');
  t.skip('redis-server is not installed');
  return false;
}

/**
 * One real redis-server for the enclosing file or suite, stopped after it. The returned function
 * gives a test the server, or undefined when the test was skipped for want of Redis.
 */
export function useRedis(): (t: TestContext) => RedisServer | undefined {
  let redis: RedisServer | undefined;
  before(async () => {
    if (installed) redis = await startRedis();
  });
  after(() => redis?.dispose());
  return (t) => (requireRedis(t) ? redis : undefined);
}

/** A local three-master Redis Cluster for the enclosing file, like `useRedis`. */
export function useRedisCluster(): (t: TestContext) => RedisCluster | undefined {
  let cluster: RedisCluster | undefined;
  before(async () => {
    if (installed) cluster = await startRedisCluster(3);
  });
  after(() => cluster?.dispose());
  return (t) => (requireRedis(t) ? cluster : undefined);
}

function commandCalls(redis: RedisServer): Map<string, number> {
  const calls = new Map<string, number>();
  for (const line of redis.cli('INFO', 'commandstats').split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (match) calls.set(match[1]!, Number(match[2]));
  }
  return calls;
}

/**
 * The commands Redis ran while `run` ran, with their counts (INFO itself left out), from INFO
 * commandstats: what a request path costs the store.
 */
export async function commandsDuring(redis: RedisServer, run: () => Promise<void>): Promise<Map<string, number>> {
  const before = commandCalls(redis);
  await run();
  const delta = new Map<string, number>();
  for (const [command, calls] of commandCalls(redis)) {
    const added = calls - (before.get(command) ?? 0);
    if (added > 0 && command !== 'info') delta.set(command, added);
  }
  return delta;
}

/**
 * A MONITOR connection. ioredis reports "Command queue state error" when another client's command is
 * echoed around MONITOR's own reply (the feed polls all the time): that happens before the start
 * marker, so it loses nothing counted, and is ignored rather than left to crash the test.
 */
async function startMonitor(url: string): Promise<Redis> {
  const monitor = new Redis(url, { monitor: true });
  monitor.on('error', () => {});
  await once(monitor, 'monitoring');
  return monitor;
}

/**
 * `commands` without those that come on their own schedule, whatever the traffic: each
 * instance's feed polls (`xread`) and acknowledgement heartbeats (a script that reads `time` and
 * writes one hash field, twice a second), once they are shown to be no per-request cost.
 */
export function withoutBackgroundCommands(commands: Map<string, number>, requests: number): Map<string, number> {
  for (const command of ['xread', 'evalsha', 'time', 'hset']) {
    const count = commands.get(command) ?? 0;
    assert.ok(count < requests / 10, `${count} × ${command} during ${requests} requests: not a background cost`);
    commands.delete(command);
  }
  return commands;
}

/**
 * The commands clients sent to Redis while `run` ran, in order, as `MONITOR` saw them: round trips,
 * without the commands scripts run inside Redis (which `commandsDuring` counts too). Feed polls
 * (`xread`) and acknowledgements (scripts on the `{revocations}:acks` hash: each instance's
 * heartbeat, and a change's wait for the others, whose polls vary in number) are left out: they
 * come on their own schedule, whatever the traffic.
 */
export async function roundTripsDuring(redis: RedisServer, run: () => Promise<void>): Promise<string[]> {
  const monitor = await startMonitor(redis.url);
  const marker = new Redis(redis.url);
  const seen: string[][] = [];
  monitor.on('monitor', (_time: string, args: string[], origin: string) => {
    if (origin !== 'lua') seen.push(args.map(String));
  });
  const isMarker = (args: string[] | undefined, text: string) => args?.[0]?.toLowerCase() === 'echo' && args[1] === text;
  const mark = async (text: string) => {
    await marker.echo(text);
    // MONITOR lines may arrive after the replies: wait for the marker's own line.
    for (let i = 0; i < 200 && !seen.some((args) => isMarker(args, text)); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  };
  try {
    await mark('start');
    await run();
    await mark('end');
    const from = seen.findIndex((args) => isMarker(args, 'start'));
    const to = seen.findIndex((args) => isMarker(args, 'end'));
    return seen
      .slice(from + 1, to)
      .filter((args) => !args[3]?.endsWith('{revocations}:acks'))
      .map((args) => args[0]!.toLowerCase())
      .filter((command) => command !== 'xread');
  } finally {
    marker.disconnect();
    monitor.disconnect();
  }
}
