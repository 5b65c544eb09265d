import { hash, randomBytes } from 'node:crypto';
import { ownerTag, TAG_LENGTH } from '../base/owner-tag.js';

/**
 * The owner tag, then 240 bits from the CSPRNG, base64url without padding: always 43 characters.
 */
export function generateSessionId(userId: string): string {
  return ownerTag(userId) + randomBytes(30).toString('base64url');
}

const SESSION_ID_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/**
 * Whether a presented value could be an id we issued. Checked before hashing or any store trip,
 * so garbage and oversized cookies cost nothing.
 */
export function isWellFormedSessionId(value: string): boolean {
  return value.length === 43 && SESSION_ID_SHAPE.test(value);
}

/**
 * The store key: the id's owner tag, then 240 bits of its SHA-256 (43 characters, the shape of an
 * id). A dump of the store holds no usable id.
 */
export function hashSessionId(id: string): string {
  // one-shot hash(): about half the cost of createHash()
  return id.slice(0, TAG_LENGTH) + hash('sha256', id, 'base64url').slice(0, 43 - TAG_LENGTH);
}
