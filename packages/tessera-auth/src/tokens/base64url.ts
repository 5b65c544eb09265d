const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const SHAPE = /^[A-Za-z0-9_-]*$/;

/**
 * Strict base64url (RFC 7515 §2): no padding, no other characters, and canonical, i.e. the unused
 * low bits of the last character are zero. Node's decoder silently skips invalid characters and
 * ignores those bits, which would let one token have many spellings (a cache and blocklist evasion).
 */
export function decodeBase64url(text: string): Buffer | undefined {
  const remainder = text.length % 4;
  if (remainder === 1 || !SHAPE.test(text)) return undefined;
  if (remainder !== 0) {
    const last = ALPHABET.indexOf(text.charAt(text.length - 1));
    if ((remainder === 2 ? last & 0b1111 : last & 0b11) !== 0) return undefined;
  }
  return Buffer.from(text, 'base64url');
}

export function encodeBase64url(data: Buffer | string): string {
  return (typeof data === 'string' ? Buffer.from(data) : data).toString('base64url');
}
