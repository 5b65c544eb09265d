import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Strategy } from '../../packages/tessera-auth/src/base/types.js';
import { Client } from '../helpers/http-client.js';
import {
  collectUntil,
  signUpMany,
  sleep,
  summarise,
  useScaleOut,
  type ScaleOut,
  type SharedStore,
  type VirtualUser,
} from '../helpers/scale-out.js';

/** How long an instance trusts its copy of the revocation list without hearing from the feed (the default). */
const STALENESS_BOUND_MS = 5_000;
/** How long a frozen store leaves the copy trusted at least (the bound, less a heartbeat and a busy machine's lag). */
const TRUSTED_WHILE_FROZEN_MS = 3_000;

/** What the tests do to the shared store, whichever it is. */
interface StoreFaults {
  readonly name: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** SIGSTOP: connections stay open, nothing answers. */
  pause(): void;
  resume(): void;
  /** The id the store server gives the instance's feed connection (Redis client id, PostgreSQL backend pid). */
  feedConnection(pid: number): string | undefined;
  /** Closes that connection from the server's side; true when it was there. */
  kill(connection: string): boolean;
}

function faultsOf(scale: ScaleOut): StoreFaults {
  const feedName = (pid: number) => `tessera:revocation-feed:${pid}`;
  if (scale.redis) {
    const redis = scale.redis;
    return {
      name: 'Redis',
      stop: () => redis.stop(),
      start: () => redis.start(),
      pause: () => redis.pause(),
      resume: () => redis.resume(),
      feedConnection: (pid) =>
        [...redis.cli('CLIENT', 'LIST').matchAll(/id=(\d+) [^\n]*name=(\S+)/g)].find((m) => m[2] === feedName(pid))?.[1],
      kill: (id) => redis.cli('CLIENT', 'KILL', 'ID', id) === '1',
    };
  }
  const postgres = scale.postgres!;
  return {
    name: 'PostgreSQL',
    stop: () => postgres.stop(),
    start: () => postgres.start(),
    pause: () => postgres.pause(),
    resume: () => postgres.resume(),
    feedConnection: (pid) => postgres.sql(`SELECT pid FROM pg_stat_activity WHERE application_name = '${feedName(pid)}'`) || undefined,
    // With a timeout, it returns once the backend is gone (as CLIENT KILL does), not when signalled.
    kill: (id) => postgres.sql(`SELECT pg_terminate_backend(${Number(id)}, 5000)`) === 't',
  };
}

async function untilEveryoneIsBack(users: readonly VirtualUser[], store: string): Promise<number> {
  const since = Date.now();
  for (const user of users) {
    for (;;) {
      const answer = await user.request();
      if (answer.status === 200) break;
      assert.equal(answer.status, 503, `${user.username} got ${answer.status} ${answer.code} while ${store} came back`);
      assert.ok(Date.now() - since < 10_000, `the instances serve again within 10 s of ${store} returning`);
      await sleep(50);
    }
  }
  return Date.now() - since;
}

/**
 * The shared store (Redis, PostgreSQL) stops under load and comes back. Requests that need it get a
 * quick 503, none hangs and none becomes a logout; the token strategies serve from their copy of
 * the revocation list only while it can be trusted; after the restart (Redis: append-only file on)
 * every session is still there and a credential revoked before the outage is still refused.
 */
export function describeStoreFaults(store: SharedStore): void {
  for (const strategy of ['stateful', 'stateless', 'hybrid'] as const satisfies readonly Strategy[]) {
    describe(`${strategy}: ${store} fails under load`, () => {
      const scaleFor = useScaleOut(strategy, { store });

      it('stopped: quick 503s, no logout, nothing lost after it returns', async (t) => {
        const scale = scaleFor(t);
        if (!scale) return;
        const faults = faultsOf(scale);
        const users = await signUpMany(scale, `${strategy}-outage`, 7);
        const revoked = users.pop()!;
        const revokedHeaders = revoked.headers();
        assert.equal(await revoked.logOut(), 204);

        let stoppedAt = 0;
        let goneAt = 0;
        const answers = await collectUntil(
          users,
          (async () => {
            await sleep(800);
            stoppedAt = Date.now();
            // The stop waits for the shutdown (pg_ctl -w) and blocks this process meanwhile: answers
            // served before it completed may be read after. The store is gone once it returns.
            await faults.stop();
            goneAt = Date.now();
            await sleep(STALENESS_BOUND_MS + 1_500);
          })(),
        );
        const during = answers.filter((a) => a.at > stoppedAt);
        const report = summarise(during);
        const lastServed = Math.max(0, ...during.filter((a) => a.status === 200).map((a) => a.at - stoppedAt));
        const servedAfterGone = Math.max(0, ...during.filter((a) => a.status === 200).map((a) => a.at - goneAt));
        t.diagnostic(
          `during the outage: ${report.requests} requests, statuses ${JSON.stringify(report.statuses)}, slowest ${report.maxMs} ms, last 200 ${lastServed} ms after the stop began (it took ${goneAt - stoppedAt} ms)`,
        );
        assert.ok(
          report.failures.every((a) => a.status === 503),
          `only 503s: ${JSON.stringify(report.failures.filter((a) => a.status !== 503).slice(0, 3))}`,
        );
        assert.ok(report.maxMs < 3_000, `no request hangs (slowest ${report.maxMs} ms)`);
        assert.ok(report.statuses[503]! > 0, 'the outage shows as 503');
        if (strategy === 'stateful') assert.ok(servedAfterGone < 1_000, 'a session needs the store: 503 from the moment it is gone');
        else assert.ok(lastServed <= STALENESS_BOUND_MS + 500, `tokens are trusted at most ${STALENESS_BOUND_MS} ms without the feed`);

        await faults.start();
        const backAfter = await untilEveryoneIsBack(users, faults.name);
        t.diagnostic(
          `all ${users.length} users served again ${backAfter} ms after ${faults.name} restarted; their sessions survived the restart`,
        );
        for (const instance of scale.instances) {
          const probe = new Client(instance.url, revokedHeaders);
          // An instance whose own connections are still coming back says 503 (for seconds on a loaded
          // machine, as users do in untilEveryoneIsBack); then it must say 401, never 200.
          let answer = await probe.get('/auth/me');
          for (const started = Date.now(); answer.status === 503 && Date.now() - started < 10_000; answer = await probe.get('/auth/me'))
            await sleep(50);
          const health = await probe.get('/healthz');
          assert.equal(
            answer.status,
            401,
            `the credential revoked before the outage stays dead at ${instance.port}: ${answer.body.code}, /healthz ${health.status}`,
          );
          // Tokens are checked from memory: the store connection itself is back when /healthz says so.
          let healthy = await probe.get('/healthz');
          for (const started = Date.now(); healthy.status !== 200 && Date.now() - started < 10_000; healthy = await probe.get('/healthz'))
            await sleep(50);
          assert.equal(healthy.status, 200, `${instance.port} reaches ${faults.name} again`);
        }
      });

      if (strategy !== 'stateful') {
        it('frozen (SIGSTOP): tokens keep working within the staleness bound, then 503', async (t) => {
          const scale = scaleFor(t);
          if (!scale) return;
          const faults = faultsOf(scale);
          const users = await signUpMany(scale, `${strategy}-freeze`, 4);
          let frozenAt = 0;
          let resumedAt = 0;
          const answers = await collectUntil(
            users,
            (async () => {
              await sleep(500);
              frozenAt = Date.now();
              faults.pause();
              await sleep(STALENESS_BOUND_MS + 2_000);
              resumedAt = Date.now();
              faults.resume();
            })(),
          );
          const during = answers.filter((a) => a.at > frozenAt && a.at < resumedAt);
          const served = during.filter((a) => a.status === 200).map((a) => a.at - frozenAt);
          const lastServed = Math.max(0, ...served);
          const firstRefused = Math.min(...during.filter((a) => a.status === 503).map((a) => a.at - frozenAt));
          t.diagnostic(
            `after the freeze: ${served.length} requests served from the copy, the last ${lastServed} ms in; first 503 at ${firstRefused} ms`,
          );
          assert.ok(
            during.every((a) => a.status === 200 || a.status === 503),
            'nothing but 200 or 503',
          );
          // The feed only notices the silence: a frozen store is not an instant outage.
          assert.ok(lastServed > TRUSTED_WHILE_FROZEN_MS, 'the copy is trusted for a while');
          assert.ok(lastServed <= STALENESS_BOUND_MS + 500 && firstRefused <= STALENESS_BOUND_MS + 500, 'then no longer than the bound');
          await untilEveryoneIsBack(users, faults.name);
        });

        it("one instance's feed connection killed by the store server: it catches up on what it missed", async (t) => {
          const scale = scaleFor(t);
          if (!scale) return;
          const faults = faultsOf(scale);
          const [user] = await signUpMany(scale, `${strategy}-feed`, 1);
          const headers = user!.headers();
          const [writer, follower] = [scale.instances[0]!, scale.instances[1]!];
          const findFeed = () => faults.feedConnection(follower.process!.child.pid!);
          const before = findFeed();
          assert.ok(before, "the follower's feed connection is listed by the store server");

          assert.ok(faults.kill(before), 'killed');
          // Revoked at once through another instance, while the follower is still reconnecting. Under
          // load the writer may still be catching up after the previous test's freeze: its 503 did nothing.
          let logout = await new Client(writer.url, headers).post('/auth/logout');
          for (const deadline = Date.now() + 5_000; logout.status === 503 && Date.now() < deadline; await sleep(50)) {
            logout = await new Client(writer.url, headers).post('/auth/logout');
          }
          assert.equal(logout.status, 204);
          const since = Date.now();
          const probe = new Client(follower.url, headers);
          for (;;) {
            const answer = await probe.get('/auth/me');
            if (answer.status === 401) break;
            assert.equal(
              answer.status,
              503,
              'while it reconnects the follower refuses to trust its copy; it never accepts the revoked token',
            );
            assert.ok(Date.now() - since < 5_000, 'caught up within 5 s');
            await sleep(10);
          }
          const after = findFeed();
          t.diagnostic(
            `feed reconnected (connection ${before} -> ${after}); revocation enforced ${Date.now() - since} ms after the logout`,
          );
          assert.ok(after && after !== before, 'a new feed connection replaced the killed one');
        });
      }
    });
  }
}
