/**
 * The `kid` of the key that verified each claims object a token verifier returned (cache hits are
 * the same objects). Kept in this leaf so the revocation list finds it by itself: a reader that
 * checks revocation cannot forget to pass the key, and a key's revocation cannot be skipped.
 */
const verifiedBy = new WeakMap<object, string>();

/** Called by the verifier only, for the claims it returns. */
export function rememberVerifyingKey(claims: object, kid: string): void {
  verifiedBy.set(claims, kid);
}

/** The `kid` of the key that verified these claims; undefined for claims no verifier returned. */
export const verifyingKeyOf = (claims: object): string | undefined => verifiedBy.get(claims);
