import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '../helpers/http-client.js';
import { startTestServer } from '../helpers/server.js';

const PASSWORD = 'correct horse battery';
const ADMIN = { username: 'root', password: 'root password' };

for (const strategy of ['stateful', 'stateless'] as const) {
  describe(`PUT /admin/users/{id}/roles (${strategy})`, () => {
    let server: Awaited<ReturnType<typeof startTestServer>>;
    before(async () => {
      server = await startTestServer({ strategy, store: 'sqlite', bootstrapAdmin: ADMIN });
    });
    after(() => server.stop());

    /** A logged-in client: cookie jar for stateful, bearer header for stateless. */
    const logIn = async (username: string, password: string) => {
      const client = new Client(server.url);
      const login = await client.post('/auth/login', { username, password });
      assert.equal(login.status, 200);
      if (strategy === 'stateful') return { client, login };
      return { client: new Client(server.url, { authorization: `Bearer ${login.body.access_token as string}` }), login };
    };

    it("ends the user's credentials; the next login carries the new roles", async () => {
      const registered = await new Client(server.url).post('/auth/register', { username: `eve-${strategy}`, password: PASSWORD });
      const userId = registered.body.user.id as string;
      const laptop = await logIn(`eve-${strategy}`, PASSWORD);
      const phone = await logIn(`eve-${strategy}`, PASSWORD);
      assert.deepEqual((await laptop.client.get('/auth/me')).body.user.roles, ['user']);

      const admin = await logIn(ADMIN.username, ADMIN.password);
      const changed = await admin.client.put(`/admin/users/${userId}/roles`, { roles: ['user', 'editor', 'user'] });
      assert.equal(changed.status, 200);
      assert.deepEqual(changed.body.user.roles, ['user', 'editor'], 'duplicates dropped, order kept');

      for (const device of [laptop, phone]) assert.equal((await device.client.get('/auth/me')).status, 401, 'old roles are dead');
      assert.equal((await admin.client.get('/auth/me')).status, 200, 'the admin is untouched');
      const again = await logIn(`eve-${strategy}`, PASSWORD);
      assert.deepEqual((await again.client.get('/auth/me')).body.user.roles, ['user', 'editor']);
    });

    it('is for admins only, checks its input, and 404s an unknown user', async () => {
      const registered = await new Client(server.url).post('/auth/register', { username: `mal-${strategy}`, password: PASSWORD });
      const mallory = await logIn(`mal-${strategy}`, PASSWORD);
      const selfPromotion = await mallory.client.put(`/admin/users/${registered.body.user.id as string}/roles`, { roles: ['admin'] });
      assert.equal(selfPromotion.status, 403);
      assert.equal(
        (await new Client(server.url).put(`/admin/users/${registered.body.user.id as string}/roles`, { roles: ['admin'] })).status,
        401,
      );
      assert.deepEqual((await mallory.client.get('/auth/me')).body.user.roles, ['user']);

      const admin = await logIn(ADMIN.username, ADMIN.password);
      for (const roles of ['admin', [1], ['has space'], Array.from({ length: 33 }, (_, i) => `r${i}`)]) {
        const bad = await admin.client.put(`/admin/users/${registered.body.user.id as string}/roles`, { roles });
        assert.equal(bad.status, 400, JSON.stringify(roles).slice(0, 40));
        assert.equal(bad.body.code, 'invalid_request');
      }
      const unknown = await admin.client.put('/admin/users/no-such-user/roles', { roles: ['user'] });
      assert.equal(unknown.status, 404);
    });
  });
}
