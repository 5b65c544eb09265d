// One of several processes writing one SQLite file at once (see sqlite.test.ts): changes the
// user's roles `count` times and prints how many writes the store refused.
import { createSqliteStore } from '../../packages/tessera-auth/src/stores/sqlite.js';

const [path, userId, count] = process.argv.slice(2) as [string, string, string];
const store = createSqliteStore({ path });
let refused = 0;
for (let i = 0; i < Number(count); i++) {
  await store.users.update(userId, { roles: i % 2 ? ['user'] : ['user', 'auditor'] }).catch(() => refused++);
}
await store.close();
process.stdout.write(String(refused));
