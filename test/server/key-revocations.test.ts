import assert from 'node:assert/strict';
import { it } from 'node:test';
import { createAuth } from '../../packages/tessera-auth/src/core/create-auth.js';
import { createMemoryStore } from '../../packages/tessera-auth/src/stores/memory.js';
import { createKeyRing, generateJwk, importKey } from '../../packages/tessera-auth/src/tokens/index.js';
import { announceRevokedKeys } from '../../packages/tessera-auth-server/src/server/key-revocations.js';
import { frozenClock } from '../helpers/clock.js';

it('a key marked revoked stays on the revocation list for as long as it stays revoked, whatever the access-token lifetime', async () => {
  const clock = frozenClock(Date.now());
  const [stolen, current] = [
    importKey({ alg: 'EdDSA', key: generateJwk('EdDSA') }),
    importKey({ alg: 'EdDSA', key: generateJwk('EdDSA') }),
  ];
  const keys = createKeyRing([
    { key: stolen, status: 'revoked' },
    { key: current, status: 'active' },
  ]);
  const auth = createAuth({
    strategy: 'stateless',
    store: createMemoryStore(),
    clock,
    tokens: { keys, issuer: 'https://id.test', accessTtl: 1 },
  });
  await auth.ready();
  const announcing = announceRevokedKeys(keys, auth.tokens!, clock);
  const liveUntil = () =>
    auth.tokens!.revocationSnapshot().entries.find((entry) => entry.kind === 'kid' && entry.value === stolen.kid)?.expiresAt ?? 0;
  try {
    await announcing.ready;
    assert.ok(liveUntil() >= clock.now() + 3600_000, 'an hour at least, not access TTL + 60 s');
    // Days later, the key still marked revoked: the entry was renewed each time before it lapsed.
    for (let step = 0; step < 6; step++) {
      const lapsesAt = liveUntil();
      clock.advance(30 * 60_000);
      while (liveUntil() === lapsesAt) await new Promise((resolve) => setTimeout(resolve, 50)); // the next look, a second apart
      assert.ok(liveUntil() > clock.now() + 30 * 60_000, `still revoked after ${(step + 1) * 30} minutes`);
    }
  } finally {
    announcing.close();
    auth.close();
  }
});
