import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readBearerToken } from '../../packages/tessera-auth/src/http/bearer.js';

describe('Authorization header parsing (RFC 6750 §2.1)', () => {
  it('reads the token after "Bearer", in any case, with one or more spaces', () => {
    assert.equal(readBearerToken('Bearer abc.def-ghi_jkl'), 'abc.def-ghi_jkl');
    assert.equal(readBearerToken('bearer   abc'), 'abc');
    assert.equal(readBearerToken(undefined), undefined);
  });

  it('another scheme is no credential at all (RFC 6750 §3.1)', () => {
    for (const header of ['Basic dXNlcjpwYXNz', 'Token abc', 'Bearerabc', 'DPoP abc', ''])
      assert.equal(readBearerToken(header), undefined, header);
  });

  it('refuses bearer headers with no token, extra parts, characters outside b64token, and oversized ones', () => {
    for (const header of ['Bearer', 'Bearer ', 'Bearer a b', 'Bearer a"b', 'Bearer\tabc']) {
      assert.equal(readBearerToken(header), null, header);
    }
    // Refused by length alone, before any pattern runs: no token we accept is that long.
    assert.equal(readBearerToken(`Bearer ${'a'.repeat(16_400)}`), null);
  });
});
