import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OverloadedError } from 'tessera-auth';
import { createHashingGate } from '../../packages/tessera-auth-server/src/server/hashing-gate.js';

/** A hash that finishes only when the test says so. */
function heldWork(log: string[], name: string) {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  return {
    work: async () => {
      log.push(`start ${name}`);
      await done;
      return name;
    },
    finish,
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('hashing gate', () => {
  it('runs at most `concurrency`, queues up to each limit, sheds the rest at once with Retry-After', async () => {
    const gate = createHashingGate({ concurrency: 1, queue: 1, backgroundQueue: 2 });
    const log: string[] = [];
    const held = ['r1', 'r2', 'r3', 'r4', 'r5'].map((name) => heldWork(log, name));
    const results = held.map(({ work }) => gate('background', work).then(String, (error: unknown) => error));
    await settle();
    assert.deepEqual(log, ['start r1'], 'one runs, the others wait');
    for (const shed of await Promise.all(results.slice(3))) {
      assert.ok(shed instanceof OverloadedError);
      assert.equal(shed.retryAfterSeconds, 1);
    }
    const login = heldWork(log, 'login');
    const loginResult = gate('urgent', login.work);
    const shedLogin = await gate('urgent', heldWork(log, 'late').work).catch((error: unknown) => error);
    assert.ok(shedLogin instanceof OverloadedError, 'the urgent queue has its own limit');

    held[0]!.finish();
    await settle();
    assert.deepEqual(log, ['start r1', 'start login'], 'a login goes before registrations that waited longer');
    login.finish();
    assert.equal(await loginResult, 'login');
    await settle();
    held[1]!.finish();
    await settle();
    held[2]!.finish();
    assert.deepEqual(await Promise.all(results.slice(0, 3)), ['r1', 'r2', 'r3']);
    assert.deepEqual(log, ['start r1', 'start login', 'start r2', 'start r3']);
  });
});
