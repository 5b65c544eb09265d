import { hash, randomBytes } from 'node:crypto';

/** 256 bits from the CSPRNG, base64url without padding: always 43 characters. */
export function generateSessionId(): string {
  return randomBytes(32).toString('base64url');
}

const SESSION_ID_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/**
 * Whether a presented value could be an id we issued. Checked before hashing or any store trip,
 * so garbage and oversized cookies cost nothing.
 */
export function isWellFormedSessionId(value: string): boolean {
  return value.length === 43 && SESSION_ID_SHAPE.test(value);
}

/** The store key: a dump of the store holds only hashes, none of which is a usable id. */
export function hashSessionId(id: string): string {
  return hash('sha256', id, 'base64url'); // one-shot: about half the cost of createHash()
}
