import { register } from 'node:module';

/**
 * `node --import` this before the compiled tests: `tessera-auth` imports (the identity server's)
 * then load the library compiled beside the tests, the one copy the tests use, not its dist.
 */
register('./workspace-hooks.js', import.meta.url);
