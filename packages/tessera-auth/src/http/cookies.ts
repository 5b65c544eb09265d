import { parse, serialize } from 'cookie';
import type { ResolvedCookie } from '../core/create-auth.js';

/** Longer Cookie headers are not parsed at all: no id of ours is that long, and parsing costs. */
const MAX_COOKIE_HEADER_BYTES = 8192;

/** The value of our cookie in a Cookie header, or undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined || header.length > MAX_COOKIE_HEADER_BYTES || !header.includes(name)) return undefined;
  return parse(header)[name];
}

/**
 * How many cookies named `name` the header carries. A browser sends two of one name when another
 * site of the domain set one beside ours (cookie tossing): which is ours cannot be told.
 */
export function cookieCount(header: string | undefined, name: string): number {
  if (header === undefined || header.length > MAX_COOKIE_HEADER_BYTES || !header.includes(name)) return 0;
  return header.split(';').filter((pair) => pair.split('=', 1)[0]!.trim() === name).length;
}

/** `HttpOnly; SameSite=Lax; Path=/` (or the cookie's own path), plus `Secure` unless insecure mode; never a `Domain`. */
export function sessionCookie(cookie: ResolvedCookie, value: string): string {
  return serialize(cookie.name, value, {
    httpOnly: true,
    sameSite: 'lax',
    path: cookie.path,
    secure: cookie.secure,
    maxAge: cookie.maxAgeSeconds,
  });
}

export function clearedSessionCookie(cookie: ResolvedCookie): string {
  return serialize(cookie.name, '', {
    httpOnly: true,
    sameSite: 'lax',
    path: cookie.path,
    secure: cookie.secure,
    expires: new Date(0),
  });
}
