import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { createRemoteKeySet, generateJwk, importKey, publicJwk } from '../../packages/tessera-auth/src/tokens/index.js';
import { frozenClock } from '../helpers/clock.js';
import { listen } from '../helpers/listen.js';

const jwks = () => {
  const key = importKey({ alg: 'EdDSA', key: generateJwk('EdDSA') });
  return JSON.stringify({ keys: [publicJwk(key)] });
};

describe("a resource service's remote key set under a failing or hostile identity server", () => {
  it('attack: while the JWKS fails, 500 requests cause a handful of fetches, backing off 1 s, 2 s, 4 s …', async () => {
    let answers = 0;
    let failing = true;
    const body = jwks();
    const served = await listen((_req, res) => {
      answers++;
      if (failing) res.writeHead(503).end();
      else res.setHeader('content-type', 'application/json').end(body);
    });
    const clock = frozenClock(Date.now());
    const remote = createRemoteKeySet({ url: `${served.url}/jwks.json`, clock, maxAgeMs: 60_000 });
    try {
      await assert.rejects(remote.refresh());
      const settle = () => new Promise((resolve) => setTimeout(resolve, 30));
      for (let second = 0; second < 10; second++) {
        for (let request = 0; request < 50; request++) remote.refreshIfStale(); // what every request does
        await settle();
        clock.advance(1000);
      }
      // The first failure, then retries at 1, 3, 7 s: 4 fetches for 500 requests over 10 s.
      assert.equal(remote.fetchCount, 4);
      assert.equal(answers, 4);
      failing = false;
      clock.advance(8_000); // past the 8 s backoff
      remote.refreshIfStale();
      await settle();
      assert.equal(remote.ring.jwks(clock.now()).keys.length, 1, 'the keys arrive once the server recovers');
      remote.refreshIfStale();
      await settle();
      assert.equal(remote.fetchCount, 5, 'and then nothing until the max age');
    } finally {
      served.close();
    }
  });

  it('attack: a JWKS answer of 200 MB is abandoned after 64 KiB, never read whole', async () => {
    let sent = 0;
    const served = await listen(async (_req, res) => {
      res.setHeader('content-type', 'application/json');
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      for (let i = 0; i < 200 && !res.destroyed; i++) {
        if (!res.write(chunk)) await Promise.race([once(res, 'drain'), once(res, 'close')]);
        sent += chunk.length;
      }
      res.end();
    });
    const remote = createRemoteKeySet({ url: `${served.url}/jwks.json`, timeoutMs: 10_000 });
    try {
      await assert.rejects(remote.refresh(), /too large/);
      assert.ok(sent < 32 * 1024 * 1024, `${sent / 1024 / 1024} MiB sent before the client gave up`);
      const declared = await listen((_req, res) => res.setHeader('content-length', String(200 * 1024 * 1024)).end());
      try {
        await assert.rejects(
          createRemoteKeySet({ url: declared.url }).refresh(),
          /too large/,
          'a declared length past the limit is refused before reading',
        );
      } finally {
        declared.close();
      }
    } finally {
      served.close();
    }
  });
});
