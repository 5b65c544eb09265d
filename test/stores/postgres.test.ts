import { type TestContext } from 'node:test';
import { createPostgresStore } from '../../packages/tessera-auth/src/stores/postgres.js';
import { describeServerStoreConformance, describeStoreConformance } from '../../packages/tessera-auth/src/testing/store-conformance.js';
import { usePostgres } from '../helpers/postgres.js';
import { waitUntilUp } from '../helpers/redis.js';

const postgresFor = usePostgres();

const open = async (t: TestContext) => {
  const server = postgresFor(t);
  if (!server) return undefined;
  const store = createPostgresStore({ url: server.url });
  await waitUntilUp(store);
  return store;
};
describeStoreConformance('postgres', open);
describeServerStoreConformance('postgres', open);
