import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { Strategy } from '../../packages/tessera-auth/src/base/types.js';
import { loadUntil, signUpMany, sleep, untilBalancedTo, useScaleOut, type LoadReport, type ScaleOut } from '../helpers/scale-out.js';

const describeReport = (report: LoadReport) =>
  `${report.requests} requests, statuses ${JSON.stringify(report.statuses)}, ${report.retried} retried by nginx at another instance, slowest ${report.maxMs} ms` +
  (report.failures.length ? `, failures ${JSON.stringify(report.failures.slice(0, 5))}` : '');

/** Kills one of the three instances with SIGKILL under load and starts it again: nobody may be logged out. */
async function killUnderLoad(t: TestContext, scale: ScaleOut, prefix: string): Promise<void> {
  const users = await signUpMany(scale, prefix, 8);
  const victim = scale.instances[1]!;
  const report = await loadUntil(
    users,
    (async () => {
      await sleep(1_000);
      await victim.kill();
      await sleep(1_500);
      await victim.start();
      await sleep(1_000);
    })(),
  );
  t.diagnostic(describeReport(report));
  assert.equal(report.failures.filter((f) => f.status === 401 || f.status === 403).length, 0, 'no user was logged out');
  assert.ok(
    report.failures.every((f) => f.status === 502),
    'a request cut mid-flight is a 502 the client retries, nothing else',
  );
  // The balancer retries a refused connection at the next instance: almost nothing is lost.
  assert.ok(report.failures.length <= users.length, `at most the requests in flight at the kill failed (${report.failures.length})`);
  assert.ok(report.maxMs < 5_000, `no request waited for the balancer's timeout (slowest ${report.maxMs} ms)`);
  for (const user of users) assert.equal((await user.request()).status, 200, `${user.username} is still signed in`);
  assert.ok(
    Object.keys(report.upstreams).some((u) => u.endsWith(`:${victim.port}`)),
    'the restarted instance serves again',
  );
}

/**
 * The seed's worry: a server dies, or is replaced by a deploy, behind a balancer without sticky
 * sessions. Nobody may be logged out: the credential is valid at every other instance.
 */
for (const strategy of ['stateful', 'stateless', 'hybrid'] as const satisfies readonly Strategy[]) {
  describe(`${strategy}: instances die and restart under load`, () => {
    const scaleFor = useScaleOut(strategy);

    it('an instance killed with SIGKILL under load logs nobody out', async (t) => {
      const scale = scaleFor(t);
      if (scale) await killUnderLoad(t, scale, `${strategy}-kill`);
    });

    it('a rolling restart of all three (SIGTERM, drain, start) drops nobody', async (t) => {
      const scale = scaleFor(t);
      if (!scale) return;
      const users = await signUpMany(scale, `${strategy}-roll`, 8);
      const exits: (number | null)[] = [];
      const report = await loadUntil(
        users,
        (async () => {
          for (const instance of scale.instances) {
            await sleep(300);
            exits.push(await instance.stop());
            await instance.start();
            await untilBalancedTo(scale.balancer, instance);
          }
          await sleep(300);
        })(),
      );
      t.diagnostic(describeReport(report));
      assert.deepEqual(exits, [0, 0, 0], 'each instance drained and exited cleanly');
      assert.deepEqual(report.failures, [], 'not one request failed during the rolling restart');
      // A request that reached a starting instance used to hang until nginx's 10 s read timeout.
      assert.ok(report.maxMs < 5_000, `no request waited for the balancer's timeout (slowest ${report.maxMs} ms)`);
      for (const user of users) assert.equal((await user.request()).status, 200);
    });
  });
}

/** The same on PostgreSQL: three instances share it, one is killed under load. */
for (const strategy of ['stateful', 'stateless', 'hybrid'] as const satisfies readonly Strategy[]) {
  describe(`${strategy} on PostgreSQL: an instance dies under load`, () => {
    const scaleFor = useScaleOut(strategy, { store: 'postgres' });

    it('an instance killed with SIGKILL under load logs nobody out', async (t) => {
      const scale = scaleFor(t);
      if (scale) await killUnderLoad(t, scale, `${strategy}-pg-kill`);
    });
  });
}
