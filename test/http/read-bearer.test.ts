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

  it('refuses bearer headers with no token, a tab for the space, and oversized ones', () => {
    for (const header of ['Bearer', 'Bearer ', 'Bearer   ', 'Bearer\tabc']) {
      assert.equal(readBearerToken(header), null, header);
    }
    // Refused by length alone: no token we accept is that long.
    assert.equal(readBearerToken(`Bearer ${'a'.repeat(16_400)}`), null);
  });

  it("leaves the token's characters to the verifier, which decodes every part as strict base64url", () => {
    // Extra parts and characters outside b64token reach the verifier, which refuses them (bearer.test.ts).
    assert.equal(readBearerToken('Bearer a b'), 'a b');
    assert.equal(readBearerToken('Bearer a"b'), 'a"b');
  });
});
