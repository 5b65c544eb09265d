import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRevocationList } from '../../packages/tessera-auth/src/revocation/revocation-list.js';
import { frozenClock } from '../helpers/clock.js';

const T = 2_000_000_000_000; // ms

describe('revocation list', () => {
  it('kills by jti, by sid and by kid, until the entry expires', () => {
    const clock = frozenClock(T);
    const list = createRevocationList(clock);
    list.add({ kind: 'jti', value: 'j1', expiresAt: T + 1000 });
    list.add({ kind: 'sid', value: 's1', expiresAt: T + 1000 });
    list.add({ kind: 'kid', value: 'k1', expiresAt: T + 1000 });
    assert.equal(list.isRevoked({ jti: 'j1' }, undefined), true);
    assert.equal(list.isRevoked({ jti: 'j2', sid: 's1' }, undefined), true);
    assert.equal(list.isRevoked({ jti: 'j2' }, 'k1'), true);
    assert.equal(list.isRevoked({ jti: 'j2', sid: 's2' }, 'k2'), false);
    clock.advance(1000);
    assert.equal(list.isRevoked({ jti: 'j1', sid: 's1' }, 'k1'), false, 'an expired entry kills nothing (its tokens are dead anyway)');
    list.prune();
    assert.equal(list.size, 0);
  });

  it('a subject revocation kills tokens issued in an earlier second, not a later login', () => {
    const list = createRevocationList(frozenClock(T));
    list.add({ kind: 'sub', value: 'u1', revokedBefore: T, expiresAt: T + 60_000 });
    assert.equal(list.isRevoked({ sub: 'u1', iat: T / 1000 - 1 }, undefined), true);
    assert.equal(list.isRevoked({ sub: 'u1', iat: T / 1000 }, undefined), false);
    assert.equal(list.isRevoked({ sub: 'u2', iat: T / 1000 - 1 }, undefined), false);
  });

  it('is idempotent and order-independent: replays and duplicates keep the strictest entry', () => {
    const list = createRevocationList(frozenClock(T));
    list.add({ kind: 'sub', value: 'u1', revokedBefore: T + 5000, expiresAt: T + 60_000 });
    list.add({ kind: 'sub', value: 'u1', revokedBefore: T, expiresAt: T + 30_000 });
    list.add({ kind: 'sub', value: 'u1', revokedBefore: T + 5000, expiresAt: T + 60_000 });
    assert.equal(list.isRevoked({ sub: 'u1', iat: (T + 4000) / 1000 }, undefined), true);
    assert.equal(list.size, 1);
  });
});

describe('revocation list memory', () => {
  it('stays within twice its live entries however many expire: expired ones are swept as it grows', () => {
    const clock = frozenClock(T);
    const list = createRevocationList(clock);
    for (let i = 0; i < 100_000; i++) {
      list.add({ kind: 'jti', value: `j${i}`, expiresAt: clock.now() + 1000 });
      clock.advance(10); // 100 entries live at any moment
    }
    assert.ok(list.size <= 2048, `${list.size} entries held for 100 live`);
    list.add({ kind: 'sid', value: 'kept', expiresAt: clock.now() + 60_000 });
    assert.equal(list.isRevoked({ sid: 'kept' }, undefined), true, 'sweeping never drops a live entry');
  });
});
