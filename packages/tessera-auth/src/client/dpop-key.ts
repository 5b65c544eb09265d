/**
 * The browser's DPoP key (RFC 9449): an ES256 key pair made with WebCrypto, its private half not
 * extractable (script can use it, never read it), kept in IndexedDB so that every tab of the origin
 * and every reload sign with the same key. A token bound to it is worthless to whoever copies it.
 */

/** Signs proofs with this origin's key, and tracks what the server asks proofs to carry. */
export interface DpopSigner {
  /** A proof for one request; `accessToken` when the request presents one (its hash goes in `ath`). */
  proof(method: string, url: string, accessToken?: string): Promise<string>;
  /** Keeps the server's latest `DPoP-Nonce` and its clock (proofs' `iat` follow the server's time). */
  learn(response: Response): void;
}

const STORE = 'keys';
const CURRENT = 'current';

function request<T>(operation: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    operation.onsuccess = () => resolve(operation.result);
    operation.onerror = () => reject(operation.error ?? new Error('IndexedDB request failed'));
  });
}

async function openDatabase(name: string): Promise<IDBDatabase> {
  const opening = indexedDB.open(name, 1);
  opening.onupgradeneeded = () => opening.result.createObjectStore(STORE);
  return request(opening);
}

/** The origin's key pair: read back, or made and stored by the first tab to get there (the others read that one). */
async function keyPair(name: string): Promise<CryptoKeyPair> {
  const db = await openDatabase(name);
  try {
    const stored = await request<CryptoKeyPair | undefined>(db.transaction(STORE).objectStore(STORE).get(CURRENT));
    if (stored) return stored;
    const made = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
    try {
      await request(db.transaction(STORE, 'readwrite').objectStore(STORE).add(made, CURRENT));
      return made;
    } catch {
      // Another tab stored its key first: use that one, so that every tab proves the same key.
      const winner = await request<CryptoKeyPair | undefined>(db.transaction(STORE).objectStore(STORE).get(CURRENT));
      if (!winner) throw new Error('The DPoP key could not be stored.');
      return winner;
    }
  } finally {
    db.close();
  }
}

const base64url = (bytes: ArrayBuffer | Uint8Array): string => {
  let binary = '';
  for (const byte of new Uint8Array(bytes)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
};
const encodeJson = (value: object) => base64url(new TextEncoder().encode(JSON.stringify(value)));

/** Whether this browser can hold a DPoP key (WebCrypto in a secure context, and IndexedDB). */
export const canHoldDpopKey = (): boolean => typeof indexedDB === 'object' && typeof crypto === 'object' && crypto.subtle !== undefined;

/** The signer of this origin's key, stored under the database `name`. */
export async function openDpopSigner(name: string): Promise<DpopSigner> {
  const pair = await keyPair(name);
  const { kty, crv, x, y } = await crypto.subtle.exportKey('jwk', pair.publicKey);
  const header = encodeJson({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty, crv, x, y } });
  let nonce: string | undefined;
  /** Server time minus this browser's, when they differ by more than the Date header's second. */
  let skewMs = 0;
  return {
    async proof(method, url, accessToken) {
      const target = new URL(url, location.href);
      const claims = {
        jti: crypto.randomUUID(),
        htm: method.toUpperCase(),
        htu: target.origin + target.pathname,
        iat: Math.floor((Date.now() + skewMs) / 1000),
        ...(accessToken !== undefined && {
          ath: base64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(accessToken))),
        }),
        ...(nonce !== undefined && { nonce }),
      };
      const input = `${header}.${encodeJson(claims)}`;
      // WebCrypto's ECDSA signature is r || s, the JWS encoding (RFC 7518 §3.4).
      const signature = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, pair.privateKey, new TextEncoder().encode(input));
      return `${input}.${base64url(signature)}`;
    },
    learn(response) {
      nonce = response.headers.get('dpop-nonce') ?? nonce;
      const date = Date.parse(response.headers.get('date') ?? '');
      if (Number.isFinite(date)) skewMs = Math.abs(date - Date.now()) > 2_000 ? date - Date.now() : 0;
    },
  };
}
