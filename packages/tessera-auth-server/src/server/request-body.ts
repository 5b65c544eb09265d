import type { Request } from 'express';
import { ContentTooLargeError, InvalidRequestError, type TesseraError } from 'tessera-auth';

/** The parsed body, which every JSON and form route requires to be an object. */
export function body(req: Request): Record<string, unknown> {
  const value: unknown = req.body;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidRequestError('The body must be a JSON object.');
  }
  return value as Record<string, unknown>;
}

/** Errors of the body parsers and the router, as clients need them: theirs, never a 500. */
export function requestError(error: unknown): TesseraError | undefined {
  // A malformed %-escape in the path (`/auth/sessions/%ZZ`) is the client's mistake.
  if (error instanceof URIError) return new InvalidRequestError('The URL has a malformed escape.');
  const type = (error as { type?: unknown } | null)?.type;
  if (type === 'entity.too.large') return new ContentTooLargeError('The body is over 16 KiB.');
  if (typeof type === 'string' && type.startsWith('entity.')) return new InvalidRequestError('The body is not valid JSON.');
  if (type === 'charset.unsupported' || type === 'encoding.unsupported') return new InvalidRequestError('Unsupported body encoding.');
  return undefined;
}

/** C0 and C1 control characters and DEL (Unicode's Cc): no name, id or username has one. */
const CONTROL = /\p{Cc}/u;

/**
 * Refuses text with control characters (400) before any store sees it: PostgreSQL cannot store a
 * NUL at all (it answered a NUL in a username with an encoding error, a 503), and a newline in a
 * name is a forged log line waiting to happen.
 */
export function withoutControls(value: string, field: string): string {
  if (CONTROL.test(value)) throw new InvalidRequestError(`${field} must not contain control characters.`);
  return value;
}
