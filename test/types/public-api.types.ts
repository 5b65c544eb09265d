/**
 * Compile-only type tests: `npm run typecheck` fails if the public types drift. Nothing here runs.
 */
import type { Request } from 'express';
import {
  createAuth,
  createMemoryStore,
  type AuthContext,
  type Identity,
  type TesseraError,
} from '../../packages/tessera-auth/src/index.js';

const auth = createAuth({ strategy: 'stateful', store: createMemoryStore() });
void auth;

// @ts-expect-error a store is required
createAuth({ strategy: 'stateful' });
// @ts-expect-error unknown strategies are not accepted
createAuth({ strategy: 'cookie', store: createMemoryStore() });

declare const req: Request;
const context: AuthContext = req.auth; // the Express adapter types req.auth
const user: Identity | null = context.user;
// @ts-expect-error roles are read-only
user?.roles.push('admin');
// @ts-expect-error the user may be null
void context.user.id;

// @ts-expect-error codes are a closed union
const wrong: TesseraError['code'] = 'no_such_code';
void wrong;

// A login under the generation read before the user's credentials; a changed one is a coded error.
const generation: Promise<number> = auth.credentialGeneration('user-1');
void generation.then((read) => context.login({ id: 'user-1', roles: [] }, { generation: read }));
const changed: TesseraError['code'] = 'credentials_changed';
void changed;
// @ts-expect-error the generation is a number
void context.login({ id: 'user-1', roles: [] }, { generation: '3' });

// The public Auth is a declared interface: the runtime behind it is not part of it.
// @ts-expect-error sessions are reached through req.auth and the Auth methods, not a manager
void auth.sessions;
// @ts-expect-error no verifier on the public token side (bearer services build their own)
void auth.tokens?.verify;
// @ts-expect-error no in-memory revocation list to change behind the store's back
void auth.tokens?.revocations;
const ready: Promise<void> = auth.ready();
void ready;
