import { hash } from 'node:crypto';

/** Length of the owner tag that opens every session id and id hash. */
export const TAG_LENGTH = 3;

/**
 * Three base64url characters (18 bits) of the user id's SHA-256. Every session id of a user, and
 * so every id hash, begins with it; a Redis Cluster store uses it as the hash tag that puts a
 * user's sessions and their index in one slot, so logout-all stays one atomic script. It tells
 * nothing but which sessions share an owner, to someone who already holds them.
 */
export function ownerTag(userId: string): string {
  return hash('sha256', userId, 'base64url').slice(0, TAG_LENGTH);
}

/** The owner tag an id hash carries (see `ownerTag`). */
export const tagOfIdHash = (idHash: string): string => idHash.slice(0, TAG_LENGTH);
