import { serialize } from 'cookie';

/**
 * A cookie that says only "this browser signed in, and by which cookie": `session` (stateful) or
 * `refresh` (hybrid). No secret, and readable by the page's script, so a page load without it
 * shows the signed-out page at once instead of asking and getting the 401s a browser logs, and a
 * load with it asks the one route that applies. The credentials stay HttpOnly.
 */
export const SIGNED_IN_HINT = 'tessera-signed-in';

export function signedInHint(via: 'session' | 'refresh', secure: boolean, maxAgeSeconds: number): string {
  return serialize(SIGNED_IN_HINT, via, { secure, sameSite: 'strict', path: '/', maxAge: maxAgeSeconds });
}

export function clearedSignedInHint(secure: boolean): string {
  return serialize(SIGNED_IN_HINT, '', { secure, sameSite: 'strict', path: '/', expires: new Date(0) });
}
