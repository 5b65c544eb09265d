import { createHash, randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

export type ProofAlgorithm = 'EdDSA' | 'Ed25519' | 'ES256' | 'RS256';

/** What a proof says, each claim replaceable to make an attack's proof. */
export interface ProofClaims {
  htm?: string;
  htu?: string;
  iat?: number;
  jti?: string;
  ath?: string | undefined;
  nonce?: string | undefined;
}

export interface HolderResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** The proof the request carried (for replaying it). */
  readonly proof: string | undefined;
}

/**
 * A client holding a DPoP key (made and used with jose, an independent implementation), as RFC 9449
 * describes one: it signs a proof for each request, keeps the server's last `DPoP-Nonce`, and
 * retries once when told to use a new one.
 */
export class DpopHolder {
  nonce: string | undefined;

  private constructor(
    readonly alg: ProofAlgorithm,
    private readonly privateKey: CryptoKey,
    readonly jwk: JWK,
    /** RFC 7638 thumbprint: what a token bound to this key carries as `cnf.jkt`. */
    readonly jkt: string,
  ) {}

  static async create(alg: ProofAlgorithm = 'ES256'): Promise<DpopHolder> {
    const { privateKey, publicKey } = await generateKeyPair(alg);
    const jwk = await exportJWK(publicKey);
    return new DpopHolder(alg, privateKey, jwk, await calculateJwkThumbprint(jwk, 'sha256'));
  }

  /** A proof for `method` `url` (and `token`), signed with this key unless `signer` is another holder's. */
  proof(method: string, url: string, token?: string, claims: ProofClaims = {}, signer: DpopHolder = this): Promise<string> {
    const payload = {
      jti: randomUUID(),
      htm: method,
      htu: url,
      iat: Math.floor(Date.now() / 1000),
      ...(token !== undefined && { ath: createHash('sha256').update(token).digest('base64url') }),
      ...(this.nonce !== undefined && { nonce: this.nonce }),
      ...claims,
    };
    return new SignJWT(payload).setProtectedHeader({ typ: 'dpop+jwt', alg: signer.alg, jwk: signer.jwk }).sign(signer.privateKey);
  }

  /**
   * A request to `server` + `path` with a proof naming `origin` + `path` (the public URL a balancer
   * stands at, by default the server itself). `token` goes as `Authorization: DPoP`.
   */
  async request(
    server: string,
    method: string,
    path: string,
    options: { token?: string; json?: unknown; origin?: string; scheme?: string; claims?: ProofClaims; proof?: string | null } = {},
  ): Promise<HolderResponse> {
    const url = (options.origin ?? server) + path;
    const send = async (): Promise<HolderResponse> => {
      const proof = options.proof === null ? undefined : (options.proof ?? (await this.proof(method, url, options.token, options.claims)));
      const response = await fetch(server + path, {
        method,
        headers: {
          ...(proof !== undefined && { dpop: proof }),
          ...(options.token !== undefined && { authorization: `${options.scheme ?? 'DPoP'} ${options.token}` }),
          ...(options.json !== undefined && { 'content-type': 'application/json' }),
        },
        body: options.json === undefined ? undefined : JSON.stringify(options.json),
      });
      const nonce = response.headers.get('dpop-nonce');
      if (nonce) this.nonce = nonce;
      const text = await response.text();
      return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : {}, proof };
    };
    const first = await send();
    const retry = first.body.code === 'use_dpop_nonce' && options.proof === undefined && options.claims?.nonce === undefined;
    return retry ? send() : first;
  }
}

/** The claims of a JWS, unverified: for tests to read what a server put in a token. */
export function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}
