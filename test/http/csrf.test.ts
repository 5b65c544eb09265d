import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCsrfSafe } from '../../packages/tessera-auth/src/http/csrf.js';

const request = (method: string, headers: Record<string, string>) => ({
  method,
  ip: '127.0.0.1',
  header: (name: string) => headers[name],
});
const trusted = new Set(['https://app.example.com']);
const host = { host: 'id.example.com' };

describe('CSRF guard', () => {
  it('lets safe methods through whatever their origin', () => {
    assert.equal(isCsrfSafe(request('GET', { ...host, origin: 'https://evil.example' }), trusted), true);
  });

  it('accepts a same-origin POST and a POST from a trusted origin', () => {
    assert.equal(
      isCsrfSafe(request('POST', { ...host, origin: 'https://id.example.com', 'sec-fetch-site': 'same-origin' }), trusted),
      true,
    );
    assert.equal(isCsrfSafe(request('POST', { ...host, origin: 'https://app.example.com', 'sec-fetch-site': 'same-site' }), trusted), true);
  });

  it('refuses a POST from another origin', () => {
    assert.equal(isCsrfSafe(request('POST', { ...host, origin: 'https://evil.example' }), trusted), false);
    assert.equal(
      isCsrfSafe(request('DELETE', { ...host, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }), trusted),
      false,
    );
  });

  it('refuses a look-alike origin that only starts or ends like ours', () => {
    assert.equal(isCsrfSafe(request('POST', { ...host, origin: 'https://id.example.com.evil.example' }), trusted), false);
    assert.equal(isCsrfSafe(request('POST', { ...host, origin: 'https://app.example.com:8443' }), trusted), false);
  });

  it('refuses a cross-site request whose Origin host was made to equal ours by a proxy', () => {
    assert.equal(isCsrfSafe(request('POST', { ...host, origin: 'http://id.example.com', 'sec-fetch-site': 'cross-site' }), trusted), false);
  });

  it('refuses the opaque origin "null" (sandboxed frames, data: pages)', () => {
    assert.equal(isCsrfSafe(request('POST', { ...host, origin: 'null' }), trusted), false);
  });

  it('judges by Sec-Fetch-Site when Origin is absent', () => {
    assert.equal(isCsrfSafe(request('POST', { ...host, 'sec-fetch-site': 'cross-site' }), trusted), false);
    assert.equal(isCsrfSafe(request('POST', { ...host, 'sec-fetch-site': 'same-site' }), trusted), false);
    assert.equal(isCsrfSafe(request('POST', { ...host, 'sec-fetch-site': 'same-origin' }), trusted), true);
  });

  it('lets through a client that sends neither header (not a browser, so not forgeable)', () => {
    assert.equal(isCsrfSafe(request('POST', host), trusted), true);
  });
});
