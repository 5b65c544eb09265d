import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readBearerToken } from '../../src/http/bearer.js';

describe('Authorization header parsing (RFC 6750 §2.1)', () => {
  it('reads the token after "Bearer", in any case, with one or more spaces', () => {
    assert.equal(readBearerToken('Bearer abc.def-ghi_jkl'), 'abc.def-ghi_jkl');
    assert.equal(readBearerToken('bearer   abc'), 'abc');
    assert.equal(readBearerToken(undefined), undefined);
  });

  it('refuses other schemes, extra parts, characters outside b64token, and oversized headers', () => {
    for (const header of ['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer ', 'Bearer a b', 'Bearer a"b', 'Bearer\tabc', 'Bearerabc']) {
      assert.equal(readBearerToken(header), null, header);
    }
    // Refused by length alone, before any pattern runs: no token we accept is that long.
    assert.equal(readBearerToken(`Bearer ${'a'.repeat(16_400)}`), null);
  });
});
