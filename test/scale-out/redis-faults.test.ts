import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Strategy } from '../../packages/tessera-auth/src/base/types.js';
import { Client } from '../helpers/http-client.js';
import { collectUntil, signUpMany, sleep, summarise, useScaleOut, type VirtualUser } from '../helpers/scale-out.js';

/** How long an instance trusts its copy of the revocation list without hearing from the feed (the default). */
const STALENESS_BOUND_MS = 5_000;

async function untilEveryoneIsBack(users: readonly VirtualUser[]): Promise<number> {
  const since = Date.now();
  for (const user of users) {
    for (;;) {
      const answer = await user.request();
      if (answer.status === 200) break;
      assert.equal(answer.status, 503, `${user.username} got ${answer.status} ${answer.code} while Redis came back`);
      assert.ok(Date.now() - since < 10_000, 'the instances serve again within 10 s of Redis returning');
      await sleep(50);
    }
  }
  return Date.now() - since;
}

/**
 * Redis stops under load and comes back. Requests that need it get a quick 503, none hangs and
 * none becomes a logout; the token strategies serve from their copy of the revocation list only
 * while it can be trusted; after the restart (append-only file on) every session is still there
 * and a credential revoked before the outage is still refused.
 */
for (const strategy of ['stateful', 'stateless', 'hybrid'] as const satisfies readonly Strategy[]) {
  describe(`${strategy}: Redis fails under load`, () => {
    const scaleFor = useScaleOut(strategy);

    it('Redis stopped: quick 503s, no logout, nothing lost after it returns', async (t) => {
      const scale = scaleFor(t);
      if (!scale) return;
      const users = await signUpMany(scale, `${strategy}-outage`, 7);
      const revoked = users.pop()!;
      const revokedHeaders = revoked.headers();
      assert.equal(await revoked.logOut(), 204);

      let stoppedAt = 0;
      const answers = await collectUntil(
        users,
        (async () => {
          await sleep(800);
          stoppedAt = Date.now();
          await scale.redis!.stop();
          await sleep(STALENESS_BOUND_MS + 1_500);
        })(),
      );
      const during = answers.filter((a) => a.at > stoppedAt);
      const report = summarise(during);
      const lastServed = Math.max(0, ...during.filter((a) => a.status === 200).map((a) => a.at - stoppedAt));
      t.diagnostic(
        `during the outage: ${report.requests} requests, statuses ${JSON.stringify(report.statuses)}, slowest ${report.maxMs} ms, last 200 ${lastServed} ms after the stop`,
      );
      assert.ok(
        report.failures.every((a) => a.status === 503),
        `only 503s: ${JSON.stringify(report.failures.filter((a) => a.status !== 503).slice(0, 3))}`,
      );
      assert.ok(report.maxMs < 3_000, `no request hangs (slowest ${report.maxMs} ms)`);
      assert.ok(report.statuses[503]! > 0, 'the outage shows as 503');
      if (strategy === 'stateful') assert.ok(lastServed < 1_000, 'a session needs the store: 503 from the moment Redis is gone');
      else assert.ok(lastServed <= STALENESS_BOUND_MS + 500, `tokens are trusted at most ${STALENESS_BOUND_MS} ms without the feed`);

      await scale.redis!.start();
      const backAfter = await untilEveryoneIsBack(users);
      t.diagnostic(`all ${users.length} users served again ${backAfter} ms after Redis restarted; their sessions survived the restart`);
      for (const instance of scale.instances) {
        const probe = new Client(instance.url, revokedHeaders);
        // An instance whose own connection is still coming back says 503; then it must say 401.
        let answer = await probe.get('/auth/me');
        for (const started = Date.now(); answer.status === 503 && Date.now() - started < 5_000; answer = await probe.get('/auth/me'))
          await sleep(50);
        assert.equal(answer.status, 401, `the credential revoked before the outage stays dead at ${instance.port}`);
        // Tokens are checked from memory: the store connection itself is back when /healthz says so.
        let health = await probe.get('/healthz');
        for (const started = Date.now(); health.status !== 200 && Date.now() - started < 5_000; health = await probe.get('/healthz'))
          await sleep(50);
        assert.equal(health.status, 200, `${instance.port} reaches Redis again`);
      }
    });

    if (strategy !== 'stateful') {
      it('Redis frozen (SIGSTOP): tokens keep working within the staleness bound, then 503', async (t) => {
        const scale = scaleFor(t);
        if (!scale) return;
        const users = await signUpMany(scale, `${strategy}-freeze`, 4);
        let frozenAt = 0;
        let resumedAt = 0;
        const answers = await collectUntil(
          users,
          (async () => {
            await sleep(500);
            frozenAt = Date.now();
            scale.redis!.pause();
            await sleep(STALENESS_BOUND_MS + 2_000);
            resumedAt = Date.now();
            scale.redis!.resume();
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
        assert.ok(lastServed > 3_000, 'the copy is trusted for a while: a frozen Redis is not an instant outage');
        assert.ok(lastServed <= STALENESS_BOUND_MS + 500 && firstRefused <= STALENESS_BOUND_MS + 500, 'then no longer than the bound');
        await untilEveryoneIsBack(users);
      });

      it("one instance's feed connection killed (CLIENT KILL): it catches up on what it missed", async (t) => {
        const scale = scaleFor(t);
        if (!scale) return;
        const [user] = await signUpMany(scale, `${strategy}-feed`, 1);
        const headers = user!.headers();
        const [writer, follower] = [scale.instances[0]!, scale.instances[1]!];
        const feedName = `tessera:revocation-feed:${follower.process!.child.pid}`;
        const feedId = () => /id=(\d+) [^\n]*name=(\S+)/g;
        const findFeed = () => [...scale.redis!.cli('CLIENT', 'LIST').matchAll(feedId())].find((m) => m[2] === feedName)?.[1];
        const before = findFeed();
        assert.ok(before, `the follower's feed connection is listed as ${feedName}`);

        assert.equal(scale.redis!.cli('CLIENT', 'KILL', 'ID', before), '1');
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
        t.diagnostic(`feed reconnected (client id ${before} -> ${after}); revocation enforced ${Date.now() - since} ms after the logout`);
        assert.ok(after && after !== before, 'a new feed connection replaced the killed one');
      });
    }
  });
}
