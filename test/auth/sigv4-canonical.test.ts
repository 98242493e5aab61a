import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { getCanonicalHeaders, SignatureV4 } from '@smithy/signature-v4';
import { canonicalPath, canonicalRequest } from '../../src/auth/sigv4-canonical.js';

/**
 * The verifier builds the canonical request itself (no HttpRequest, no signer per call): as a
 * property, it is character for character what @smithy/signature-v4, the AWS SDKs' signer,
 * builds from the same method, path, query, signed headers and payload hash. A difference would
 * let a request through that the signer's canonical form refuses, or refuse a valid one.
 */

/** The signer's own canonical request, through a subclass because the method is protected. */
class Reference extends SignatureV4 {
  constructor() {
    super({ credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, region: 'us-east-1', service: 'execute-api', sha256: Hash.bind(null, 'sha256'), applyChecksum: false, uriEscapePath: true });
  }
  build(method: string, path: string, headers: Record<string, string>, query: Record<string, string | string[]> | undefined, payloadHash: string): string {
    const request = new HttpRequest({ method, path, headers, query });
    return this.createCanonicalRequest(request, getCanonicalHeaders(request, undefined, new Set(Object.keys(headers))), payloadHash);
  }
}
const reference = new Reference();

const segment = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 6 }).map(encodeURIComponent),
  fc.stringMatching(/^[A-Za-z0-9._~!$&'()*+,;=:@-]{0,8}$/),
  fc.constantFrom('@connections', '%40connections', 'a%2Fb', '%25', '%2e', '.', '..', '', 'AbC-_~9', "it's(*)!"),
);
const rawPath = fc.oneof(
  fc.tuple(fc.array(segment, { maxLength: 5 }), fc.boolean()).map(([segs, slash]) => `/${segs.join('/')}${slash ? '/' : ''}`),
  fc.constantFrom('', '/', 'no-slash/x', '/bench/@connections/AbC_d-9'),
);
/** Header names as the verifier admits them (lowercase tokens), some of them ones the signer never signs on its own. */
const headerName = fc.oneof(fc.stringMatching(/^[a-z0-9!#$%&'*+.^_`|~-]{1,12}$/), fc.constantFrom('host', 'x-amz-date', 'authorization', 'user-agent', 'sec-x', 'proxy-y', 'constructor', 'tostring', 'valueof', '123'));
const headerValue = fc.oneof(fc.string({ maxLength: 20 }), fc.stringMatching(/^[ \t\r\na-z]{0,12}$/), fc.constantFrom('', ' ', '  a  b  ', '\ta\t', 'a, b', 'x\r\ny'));
const headers = fc.dictionary(headerName, headerValue, { minKeys: 1, maxKeys: 6 });
const query = fc.option(
  fc.dictionary(fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('X-Amz-Signature', 'x-amz-signature', 'a b', '*')), fc.oneof(fc.string({ maxLength: 6 }), fc.array(fc.string({ maxLength: 4 }), { minLength: 1, maxLength: 3 }))),
  { nil: undefined },
);
const method = fc.constantFrom('POST', 'GET', 'DELETE', '');
const payloadHash = fc.constantFrom('UNSIGNED-PAYLOAD', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');

describe('SigV4 canonical request (property)', () => {
  it('is what @smithy/signature-v4 builds from the same request', () => {
    fc.assert(
      fc.property(method, rawPath, headers, query, payloadHash, (m, p, h, q, hash) => {
        let expected: string | undefined;
        let expectedError: unknown;
        try {
          expected = reference.build(m, p, h, q, hash);
        } catch (err) {
          expectedError = err;
        }
        const sortedNames = [...new Set(Object.keys(h))].sort();
        if (expectedError !== undefined) {
          // Both refuse what cannot be encoded (a lone surrogate): the verifier answers 403 then.
          assert.throws(() => canonicalRequest({ method: m, rawPath: p, query: q, headers: h, sortedNames, payloadHash: hash }));
          return;
        }
        assert.equal(canonicalRequest({ method: m, rawPath: p, query: q, headers: h, sortedNames, payloadHash: hash }), expected, JSON.stringify({ m, p, h, q }));
      }),
      { numRuns: 3000 },
    );
  });

  it('leaves a plain management path as the signer does, `@` encoded once more', () => {
    assert.equal(canonicalPath('/dev/@connections/AbC_d-9'), '/dev/%40connections/AbC_d-9');
    assert.equal(canonicalPath('/dev/%40connections/x'), '/dev/%2540connections/x');
    assert.equal(canonicalPath('/dev//@connections/x/'), '/dev/%40connections/x/');
  });
});
