import argon2 from 'argon2';
import { normalizePassword } from './password-policy.js';

/**
 * Argon2id with OWASP's first recommended profile: 19 MiB of memory, 2 passes, 1 lane. About 50 ms
 * on one core of the reference machine: slow for an attacker's GPU, bearable for a login.
 */
const PARAMETERS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/** Hashes the password's NFC form (see `normalizePassword`). */
export function hashPassword(password: string): Promise<string> {
  return argon2.hash(normalizePassword(password), PARAMETERS);
}

/** Checks the NFC form; a password set before passwords were normalised is also checked as typed. */
export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  const normalized = normalizePassword(password);
  return (await verifies(hash, normalized)) || (normalized !== password && (await verifies(hash, password)));
}

async function verifies(hash: string, password: string): Promise<boolean> {
  try {
    return await argon2.verify(hash, password);
  } catch {
    return false; // A malformed stored hash verifies nothing.
  }
}

/**
 * A hash of nothing anyone knows, verified when the username does not exist, so an unknown user
 * costs the same time as a wrong password and timing reveals no usernames.
 */
export function createDecoyHash(): Promise<string> {
  return hashPassword(`decoy-${Math.random()}-${Date.now()}`);
}
