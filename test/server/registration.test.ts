import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client } from '../helpers/http-client.js';
import { startTestServer } from '../helpers/server.js';

const PASSWORD = 'correct horse battery';
let serial = 0;
const name = (prefix: string) => `${prefix}${process.pid}x${++serial}`;

describe('registration under abuse', () => {
  it('attack: a registration flood from one address is throttled, taken names included (the 409 oracle is slowed too)', async () => {
    const server = await startTestServer({ store: 'memory', registrationThrottle: { perClient: { max: 5, windowMs: 60_000 } } });
    try {
      const taken = name('taken');
      const client = new Client(server.url);
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++) statuses.push((await client.post('/auth/register', { username: i === 0 ? taken : i % 2 ? taken : name('new'), password: PASSWORD })).status);
      assert.deepEqual(statuses, [201, 409, 201, 409, 201, 429, 429]);
      const refused = await client.post('/auth/register', { username: name('late'), password: PASSWORD });
      assert.equal(refused.body.code, 'throttled');
      assert.ok(Number(refused.headers.get('retry-after')) > 0);
      const other = new Client(server.url, { 'x-forwarded-for': '203.0.113.9' });
      assert.equal((await other.post('/auth/register', { username: name('other'), password: PASSWORD })).status, 429, 'no proxy is trusted: same address');
    } finally {
      await server.stop();
    }
  });

  it('attack: a flood of hashing is shed with 503 and Retry-After, and a login still gets its turn', async () => {
    const server = await startTestServer({
      store: 'memory',
      hashing: { concurrency: 1, queue: 4, backgroundQueue: 2 },
    });
    try {
      const owner = name('owner');
      assert.equal((await new Client(server.url).post('/auth/register', { username: owner, password: PASSWORD })).status, 201);
      const flood = Array.from({ length: 24 }, () => new Client(server.url).post('/auth/register', { username: name('flood'), password: PASSWORD }));
      const login = await new Client(server.url).post('/auth/login', { username: owner, password: PASSWORD });
      const answers = await Promise.all(flood);
      assert.equal(login.status, 200, 'logins wait ahead of registrations and are not shed by them');
      const shed = answers.filter((answer) => answer.status === 503);
      assert.ok(shed.length >= 20, `${shed.length} of 24 registrations shed`);
      assert.ok(answers.every((answer) => answer.status === 201 || answer.status === 503));
      for (const answer of shed) {
        assert.equal(answer.body.code, 'overloaded');
        assert.equal(answer.headers.get('retry-after'), '1');
      }
    } finally {
      await server.stop();
    }
  });
});
