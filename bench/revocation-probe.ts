/**
 * "Revocation takes effect after", measured: log in at instance A, log out there, then poll the
 * authenticated route at A and at a second instance B of the same contender (same keys, same
 * store) until each refuses the credential. Times are from the moment the logout answered.
 */
import { performance } from 'node:perf_hooks';
import { login, type ServerProcess } from './harness.js';

/** When an instance first refused the credential; null: still accepted when polling gave up. */
export type Refusal = { afterMs: number; acceptedAfterLogout: number } | null;

export interface RevocationTiming {
  /** At A, where the logout was made. */
  here: Refusal;
  /** At B; 'not shared': B never accepted the credential (the instances share no state). */
  elsewhere: Refusal | 'not shared';
  /**
   * A forged logout carrying the cookie from a page on a sibling subdomain (the CSRF that
   * SameSite=Lax lets through): refused, or it logged the user out. Bearer credentials: not applicable.
   */
  forgedLogout: 'refused' | 'accepted' | 'not applicable';
}

export async function probeRevocation(a: ServerProcess, b: ServerProcess, giveUpAfterMs: number): Promise<RevocationTiming> {
  const forgedLogout = await forgeLogout(a);
  const { headers } = await login(a.url);
  const acceptedAtB = (await fetch(`${b.url}/me`, { headers })).status === 200;
  const logout = await fetch(`${a.url}/logout`, { method: 'POST', headers });
  if (logout.status >= 300) throw new Error(`${a.url}: logout answered ${logout.status}`);
  const loggedOutAt = performance.now();
  const [here, elsewhere] = await Promise.all([
    refusedAfter(a.url, headers, loggedOutAt, giveUpAfterMs),
    acceptedAtB ? refusedAfter(b.url, headers, loggedOutAt, giveUpAfterMs) : ('not shared' as const),
  ]);
  return { here, elsewhere, forgedLogout };
}

/** What the browser sends when a page on a sibling subdomain posts a form: the cookie rides along, the headers tell where it came from. */
async function forgeLogout(a: ServerProcess): Promise<RevocationTiming['forgedLogout']> {
  const { headers } = await login(a.url);
  if (!headers.cookie) return 'not applicable';
  const forged = await fetch(`${a.url}/logout`, {
    method: 'POST',
    headers: { ...headers, origin: 'http://attacker.localhost', 'sec-fetch-site': 'same-site' },
  });
  await forged.arrayBuffer();
  const stillIn = (await fetch(`${a.url}/me`, { headers })).status === 200;
  return forged.status >= 400 && stillIn ? 'refused' : 'accepted';
}

async function refusedAfter(url: string, headers: Record<string, string>, since: number, giveUpAfterMs: number): Promise<Refusal> {
  for (let accepted = 0; ; accepted++) {
    const response = await fetch(`${url}/me`, { headers });
    await response.arrayBuffer();
    const elapsed = performance.now() - since;
    if (response.status !== 200) return { afterMs: elapsed, acceptedAfterLogout: accepted };
    if (elapsed > giveUpAfterMs) return null;
  }
}
