import { isSafeMethod, type RequestFacts } from './request.js';

/**
 * Whether a request may use ambient credentials (cookies) for a state-changing method. Blocks
 * cross-site request forgery: a page on another origin can make the browser send our cookie,
 * but cannot forge the `Origin` or `Sec-Fetch-Site` headers the browser adds.
 *
 * - Safe methods pass (they must not change state).
 * - `Sec-Fetch-Site: same-origin` passes; any other value fails unless `Origin` is trusted.
 * - `Origin` passes when its host equals the request's `Host` or it is configured as trusted.
 * - A request with neither header passes: only non-browser clients omit both, and they cannot be
 *   made to carry a victim's cookie.
 */
export function isCsrfSafe(request: RequestFacts, trustedOrigins: ReadonlySet<string>): boolean {
  if (isSafeMethod(request.method)) return true;
  const origin = request.header('origin');
  if (origin !== undefined && origin !== 'null') {
    if (trustedOrigins.has(origin)) return true;
    const host = request.header('host');
    if (host !== undefined && hostOf(origin) === host.toLowerCase()) {
      return request.header('sec-fetch-site') !== 'cross-site';
    }
    return false;
  }
  const site = request.header('sec-fetch-site');
  if (site !== undefined) return site === 'same-origin' || site === 'none';
  return origin === undefined;
}

function hostOf(origin: string): string | undefined {
  try {
    return new URL(origin).host.toLowerCase();
  } catch {
    return undefined;
  }
}
