import { parse, serialize } from 'cookie';
import { type AuthTokens, type Clock, TesseraError } from 'tessera-auth';
import { createKeyRing, createTokenIssuer, createVerifier, importKey } from 'tessera-auth/tokens';

/** How long a device stays trusted after its last successful login: 180 days. */
const DEVICE_TTL_SECONDS = 180 * 24 * 3600;
const TYP = 'device+jwt';

export type DeviceCookies = ReturnType<typeof createDeviceCookies>;

/**
 * Device cookies (OWASP, "Slow Down Online Guessing Attacks with Device Cookies"): a client that
 * has logged in to an account gets a signed cookie naming that account and a device id, and later
 * attempts through it are throttled on their own, so a brute force against the account cannot lock
 * its owner out. Signed (HS256, its own `typ`, never an access token) with a secret every instance
 * shares and that lives as long as the cookies do: the token keys would not, since a routine
 * rotation retires them within hours and the owner's device then counted as untrusted. Read like
 * every credential, through the revocation list (`verified`): a revoked device id, user or key
 * leaves the device untrusted. Sent only to `/auth`, and never cross-site.
 */
export function createDeviceCookies(options: {
  secret: Buffer;
  issuer: string;
  secure: boolean;
  clock: Clock;
  verified: AuthTokens['verified'];
}) {
  const name = options.secure ? '__Secure-tessera-device' : 'tessera-device';
  const keys = createKeyRing([{ key: importKey({ alg: 'HS256', kid: 'device', key: options.secret }), status: 'active' }]);
  const issuer = createTokenIssuer({
    keys,
    issuer: options.issuer,
    ttlSeconds: DEVICE_TTL_SECONDS,
    typ: TYP,
    clock: options.clock,
  });
  const verify = createVerifier({
    keys,
    typ: TYP,
    issuer: options.issuer,
    audience: options.issuer,
    clock: options.clock,
    cacheSize: 0,
  });

  return {
    /** The device id, if the request carries a valid device cookie for `userId`. */
    deviceOf(cookieHeader: string | undefined, userId: string): string | undefined {
      // Parsed only when present and of a sane size: the header is the client's to make up.
      const value = cookieHeader && cookieHeader.length <= 8192 && cookieHeader.includes(name) ? parse(cookieHeader)[name] : undefined;
      if (value === undefined) return undefined;
      try {
        const claims = options.verified(value, verify);
        return claims.sub === userId ? claims.jti : undefined;
      } catch (error) {
        // Refused, revoked, or a revocation list too stale to tell: not a trusted device.
        if (error instanceof TesseraError) return undefined;
        throw error;
      }
    },

    /** A Set-Cookie value trusting this client for `userId` (a new device id each login). */
    issue(userId: string): string {
      const { token } = issuer.issue({ sub: userId, aud: options.issuer });
      return serialize(name, token, {
        httpOnly: true,
        secure: options.secure,
        sameSite: 'strict',
        path: '/auth',
        maxAge: DEVICE_TTL_SECONDS,
      });
    },
  };
}
