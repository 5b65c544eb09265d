import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Strategy } from '../../packages/tessera-auth/src/base/types.js';
import { Client } from '../helpers/http-client.js';
import { loadUntil, signUpMany, sleep, useScaleOut } from '../helpers/scale-out.js';

/**
 * Three instances behind nginx (round robin, no stickiness), in each strategy: users log in and
 * keep working while their requests land on every instance, and a logout through the balancer is
 * refused by every instance from the moment it answers.
 */
for (const strategy of ['stateful', 'stateless', 'hybrid'] as const satisfies readonly Strategy[]) {
  describe(`${strategy}: three instances behind nginx`, () => {
    // Hybrid access tokens live 1 s here, so users also renew them through the balancer.
    const scaleFor = useScaleOut(strategy, { args: strategy === 'hybrid' ? ['--access-ttl', '1'] : [] });

    it('users log in through the balancer and keep working on every instance', async (t) => {
      const scale = scaleFor(t);
      if (!scale) return;
      const users = await signUpMany(scale, `${strategy}-user`, 8);
      // Hybrid runs past the token lifetime and the 5 s verification leeway, so every user renews.
      const report = await loadUntil(users, sleep(strategy === 'hybrid' ? 7_500 : 2_000));
      t.diagnostic(
        `${report.requests} requests, statuses ${JSON.stringify(report.statuses)}, per instance ${JSON.stringify(report.upstreams)}, slowest ${report.maxMs} ms`,
      );
      assert.deepEqual(report.failures, [], 'every request of a signed-in user succeeds');
      const renewals = users.reduce((sum, user) => sum + user.renewals, 0);
      if (strategy === 'hybrid') t.diagnostic(`token renewals through the balancer: ${renewals}`);
      if (strategy === 'hybrid') assert.ok(renewals >= users.length, `every user renewed at least once (${renewals} renewals)`);
      assert.equal(Object.keys(report.upstreams).length, 3, 'the requests reached all three instances');
      for (const count of Object.values(report.upstreams)) assert.ok(count > report.requests / 6, `round robin spreads the load: ${count}`);
    });

    it('a logout through the balancer is refused by every instance at the first request after the answer', async (t) => {
      const scale = scaleFor(t);
      if (!scale) return;
      const [user] = await signUpMany(scale, `${strategy}-logout`, 1);
      const headers = user!.headers();
      for (const instance of scale.instances) {
        assert.equal((await new Client(instance.url, headers).get('/auth/me')).status, 200, `accepted at ${instance.port} before`);
      }
      assert.equal(await user!.logOut(), 204);
      // Stateful: every instance reads the store; the token strategies: the logout answered once
      // every instance had applied it (acknowledged revocation).
      const after = await Promise.all(scale.instances.map((instance) => new Client(instance.url, headers).get('/auth/me')));
      assert.deepEqual(
        after.map((answer) => answer.status),
        [401, 401, 401],
      );
    });
  });
}
