import { dictionary } from '@zxcvbn-ts/language-common';
import { InvalidRequestError } from 'tessera-auth';

const MIN_PASSWORD = 8;
const MAX_PASSWORD = 1024;

/**
 * Why zxcvbn-ts's list: NIST SP 800-63B asks new passwords to be checked against commonly used
 * ones; its common dictionary (about 49,000 leaked passwords, kept up by the zxcvbn-ts project)
 * is that list, without the estimator around it. Compared case-insensitively.
 */
let common: ReadonlySet<string> | undefined;
const isCommon = (password: string) =>
  (common ??= new Set(dictionary['passwords-common'].map((entry) => String(entry).toLowerCase()))).has(password.toLowerCase());

/**
 * Passwords are compared as Unicode NFC, so the same characters typed on another keyboard or
 * system (precomposed or combining accents) are the same password.
 */
export const normalizePassword = (password: string) => password.normalize('NFC');

/** A password as it may be set: 8 to 1024 characters, not a common one, not the username. */
export function checkNewPassword(value: unknown, username: string, field = 'password'): string {
  if (typeof value !== 'string' || value.length < MIN_PASSWORD || value.length > MAX_PASSWORD) {
    throw new InvalidRequestError(`${field} must be ${MIN_PASSWORD} to ${MAX_PASSWORD} characters.`);
  }
  const password = normalizePassword(value);
  if (isCommon(password)) throw new InvalidRequestError(`${field} is one of the most common passwords; choose another.`);
  if (password.toLowerCase() === username.normalize('NFC').toLowerCase())
    throw new InvalidRequestError(`${field} must not be the username.`);
  return password;
}
