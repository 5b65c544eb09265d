import { isIP } from 'node:net';

/** The few facts about an incoming request that Tessera reads; each adapter fills them in. */
export interface RequestFacts {
  readonly method: string;
  /** The request target as received: path and query (`/auth/me?x=1`). DPoP proofs name it: without it they are refused. */
  readonly target?: string;
  /** A request header by lower-case name. */
  header(name: string): string | undefined;
  /** The client address, as the adapter's proxy-trust setting resolved it. */
  readonly ip: string;
}

/** Where Tessera writes what the response must carry; each adapter fills it in. */
export interface ResponseSink {
  /** Adds one `Set-Cookie` header to the response. */
  appendSetCookie(value: string): void;
  /** Sets a response header (`DPoP-Nonce`); without it, clients learn a new nonce from a `use_dpop_nonce` error. */
  setHeader?(name: string, value: string): void;
}

/**
 * The client address to record and throttle by: `candidate` (an address a trusted proxy forwarded)
 * only if it is a valid IP address, the connection's own address otherwise, so nothing a client
 * writes in a header reaches the device list or the logs.
 */
export function clientAddress(candidate: string | undefined, connection: string | undefined): string {
  return candidate !== undefined && isIP(candidate) !== 0 ? candidate : (connection ?? '');
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

export function isSafeMethod(method: string): boolean {
  return SAFE_METHODS.has(method.toUpperCase());
}
