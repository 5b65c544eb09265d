import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** What an authorization code stands for, sealed inside it: no store holds codes. */
export interface CodeGrant {
  /** The client it was issued to, and the redirect URI of the request. */
  readonly clientId: string;
  readonly redirectUri: string;
  /** PKCE S256 challenge. */
  readonly challenge: string;
  readonly scope: string;
  readonly nonce?: string | undefined;
  readonly userId: string;
  readonly userName?: string | undefined;
  readonly roles: readonly string[];
  /** The user's credential generation, read before the session that authorized was. */
  readonly generation: number;
  /** Epoch ms of the sign-in behind the authorization, and that browser session's public id. */
  readonly authTime: number;
  readonly browserSession: string;
  /** Epoch ms of issue; a code lives `CODE_TTL_MS`. */
  readonly issuedAt: number;
  /** Random: the code's identity for one-use accounting. */
  readonly id: string;
}

/** How long a code may wait for its redemption (RFC 6749 §4.1.2 recommends at most 10 minutes). */
export const CODE_TTL_MS = 60_000;

const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Authorization codes sealed with AES-256-GCM under a secret every instance shares: any instance
 * redeems one, nothing is written per authorization, and a code reveals nothing of what it holds
 * (the user, the nonce) to whoever sees the redirect. One use is enforced at redemption.
 */
export function createCodeSealer(secret: Buffer) {
  if (secret.length !== 32) throw new TypeError('The authorization code secret is 32 bytes.');
  return {
    seal(grant: CodeGrant): string {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', secret, iv);
      const sealed = Buffer.concat([cipher.update(JSON.stringify(grant), 'utf8'), cipher.final()]);
      return Buffer.concat([iv, sealed, cipher.getAuthTag()]).toString('base64url');
    },
    /** The grant a code holds, or undefined for anything not sealed by this secret. */
    open(code: string): CodeGrant | undefined {
      if (code.length > 4096 || !/^[A-Za-z0-9_-]+$/.test(code)) return undefined;
      const bytes = Buffer.from(code, 'base64url');
      if (bytes.length <= IV_BYTES + TAG_BYTES) return undefined;
      try {
        const decipher = createDecipheriv('aes-256-gcm', secret, bytes.subarray(0, IV_BYTES));
        decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
        const plain = Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]);
        return JSON.parse(plain.toString('utf8')) as CodeGrant;
      } catch {
        return undefined;
      }
    },
  };
}

export type CodeSealer = ReturnType<typeof createCodeSealer>;
