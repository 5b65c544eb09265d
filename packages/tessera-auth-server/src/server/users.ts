import { randomUUID } from 'node:crypto';
import {
  type Clock,
  InvalidCredentialsError,
  InvalidRequestError,
  OverloadedError,
  UsernameTakenError,
  type UserRecord,
  type UserStore,
} from 'tessera-auth';
import type { HashingGate, HashingPriority } from './hashing-gate.js';
import type { createLoginThrottle } from './login-throttle.js';
import type { RegistrationRefund } from './registration-throttle.js';
import { createDecoyHash, hashPassword, verifyPassword } from './passwords.js';

const USERNAME = /^[A-Za-z0-9._-]{3,64}$/;
/** Longest name a login looks up (registration allows 64; an admin bootstrapped by flag may have more). */
const MAX_USERNAME = 256;
/** Longest password a login hashes. */
const MAX_PASSWORD = 1024;

export function checkUsername(value: unknown): string {
  if (typeof value !== 'string' || !USERNAME.test(value)) {
    throw new InvalidRequestError('username must be 3 to 64 letters, digits, dots, dashes or underscores.');
  }
  return value;
}

const ROLE = /^[A-Za-z0-9._:-]{1,64}$/;
const MAX_ROLES = 32;

/** A role list as an admin may set it: distinct names, in the given order. */
export function checkRoles(value: unknown): string[] {
  if (!Array.isArray(value) || value.length > MAX_ROLES || !value.every((role) => typeof role === 'string' && ROLE.test(role))) {
    throw new InvalidRequestError(
      `roles must be a list of at most ${MAX_ROLES} names of letters, digits, dots, colons, dashes or underscores.`,
    );
  }
  return [...new Set(value as string[])];
}

/** Who is trying to log in: the address, and what vouches for the client on an account (see `LoginAttempt.trusted`). */
export interface LoginClient {
  readonly ip: string;
  readonly trustedFor?: ((userId: string) => string | undefined) | undefined;
}

export interface UserServiceOptions {
  readonly users: UserStore;
  readonly throttle: ReturnType<typeof createLoginThrottle>;
  /** Counts a registration from a client address, or throws `ThrottledError`; what it returns gives the count back when no account came of it. */
  readonly countRegistration: (client: string) => Promise<RegistrationRefund>;
  /** Where every password hash and check waits its turn. */
  readonly hashing: HashingGate;
  readonly clock: Clock;
  /** A user's credential generation (`Auth.credentialGeneration`). */
  readonly generationOf: (userId: string) => Promise<number>;
}

/** Accounts: registration, credential checks (throttled, equal-time), password changes. */
export function createUserService({ users, throttle, countRegistration, hashing, clock, generationOf }: UserServiceOptions) {
  const decoy = createDecoyHash();

  const create = async (username: string, password: string, roles: readonly string[], priority: HashingPriority): Promise<UserRecord> => {
    // A taken name is refused before the expensive hash (the insert below still decides races).
    if (await users.getByUsername(username)) throw new UsernameTakenError();
    const user: UserRecord = {
      id: randomUUID(),
      username,
      passwordHash: await hashing(priority, () => hashPassword(password)),
      roles: [...roles],
      createdAt: clock.now(),
    };
    if (!(await users.create(user))) throw new UsernameTakenError();
    return user;
  };

  return {
    /** A new account, for a client address that has not registered too much lately. */
    async register(username: string, password: string, client: string): Promise<UserRecord> {
      const refund = await countRegistration(client);
      try {
        return await create(username, password, ['user'], 'background');
      } catch (error) {
        if (error instanceof UsernameTakenError || error instanceof OverloadedError) await refund();
        throw error;
      }
    },

    /**
     * The user for a correct password, with the credential generation a login must be created
     * under; the same error, after the same work, for every failure.
     */
    async authenticate(username: string, password: string, client: LoginClient): Promise<{ user: UserRecord; generation: number }> {
      // A name no account can have costs nothing: no store read, no hashing, nothing counted.
      if (username.length === 0 || username.length > MAX_USERNAME || password.length > MAX_PASSWORD) throw new InvalidCredentialsError();
      // Only the id is taken from the first read: the generation is read before the password hash
      // and roles the login is checked against, so a change in between makes the login fail.
      const found = await users.getByUsername(username);
      const ticket = await throttle.attempt({
        username,
        account: found?.id,
        client: client.ip,
        trusted: found ? client.trustedFor?.(found.id) : undefined,
      });
      const generation = found ? await generationOf(found.id) : 0;
      const user = found && (await users.getById(found.id));
      const valid = await hashing('urgent', async () => verifyPassword(user?.passwordHash ?? (await decoy), password));
      if (!user || !valid) throw new InvalidCredentialsError();
      await ticket.succeeded();
      return { user, generation };
    },

    async changePassword(user: UserRecord, newPassword: string): Promise<void> {
      await users.update(user.id, { passwordHash: await hashing('urgent', () => hashPassword(newPassword)) });
    },

    /** The updated account, or null if there is no such user. */
    async setRoles(id: string, roles: readonly string[]): Promise<UserRecord | null> {
      if (!(await users.update(id, { roles }))) return null;
      return users.getById(id);
    },

    /** Creates the admin if that username is free; an existing account is left untouched. */
    async ensureAdmin(username: string, password: string): Promise<void> {
      try {
        await create(username, password, ['admin', 'user'], 'urgent');
      } catch (error) {
        if (!(error instanceof UsernameTakenError)) throw error;
      }
    },
  };
}
