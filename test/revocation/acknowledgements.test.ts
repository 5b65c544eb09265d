import assert from 'node:assert/strict';
import { it } from 'node:test';
import { createAcknowledgements } from '../../packages/tessera-auth/src/revocation/acknowledgements.js';
import type { AcknowledgementStore } from '../../packages/tessera-auth/src/stores/store.js';

/** A store where one other instance keeps saying it is alive, but never gets past position 1. */
function stuckPeer(): AcknowledgementStore {
  return {
    acknowledge: async () => {},
    behind: async (position) => (Number(position) > 1 ? ['stuck'] : []),
    leave: async () => {},
  };
}

it('a change gives up on an instance that is heard from but never applies it, and says so', async () => {
  const acks = createAcknowledgements(stuckPeer(), () => undefined, 1000);
  try {
    assert.deepEqual((await acks.applied('1')).unacknowledged, [], 'reached: answered at once');
    const outcome = await acks.applied('2');
    assert.deepEqual(outcome.unacknowledged, ['stuck']);
    // The bound (1 s), the feed's answer window (1 s) and a margin: then it answers anyway.
    assert.ok(outcome.waitedMs >= 2_500, `gave up after ${Math.round(outcome.waitedMs)} ms`);
  } finally {
    acks.close();
  }
});

it('closing answers the changes still waiting, as unacknowledged', async () => {
  const acks = createAcknowledgements(stuckPeer(), () => undefined, 5000);
  const waiting = acks.applied('2');
  acks.close();
  assert.deepEqual((await waiting).unacknowledged, ['(closed)']);
});
