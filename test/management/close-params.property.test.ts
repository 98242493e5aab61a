import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { AWS_DELETE_CLOSE, closeParams, type CloseParams } from '../../src/management/close-params.js';
import { ApiError } from '../../src/management/errors.js';

/**
 * The documented rule (close-params.ts): `code` is 1000 or 4000-4999 (four ASCII digits),
 * `reason` at most 123 bytes of UTF-8, each at most once; neither given: AWS's 1000
 * "Connection Closed Normally"; a code without a reason: 1000's reason for 1000, else empty.
 */
function reference(query: URLSearchParams): CloseParams | 'refused' {
  if (query.getAll('code').length > 1 || query.getAll('reason').length > 1) return 'refused';
  const code = query.get('code');
  const reason = query.get('reason');
  if (code === null && reason === null) return AWS_DELETE_CLOSE;
  let n = 1000;
  if (code !== null) {
    if (code.length !== 4 || [...code].some((ch) => ch < '0' || ch > '9')) return 'refused';
    n = Number(code);
    if (!(n === 1000 || (n >= 4000 && n <= 4999))) return 'refused';
  }
  if (reason !== null && new TextEncoder().encode(reason).byteLength > 123) return 'refused';
  return { code: n, reason: reason ?? (n === 1000 ? AWS_DELETE_CLOSE.reason : '') };
}

function run(query: URLSearchParams): CloseParams | 'refused' {
  try {
    return closeParams(query);
  } catch (err) {
    // The one defined refusal: 400 BadRequestException with a message.
    assert.ok(err instanceof ApiError, `threw ${String(err)}`);
    assert.equal(err.status, 400);
    assert.equal(err.errorType, 'BadRequestException');
    assert.ok(err.message.length > 0);
    return 'refused';
  }
}

const codeText = fc.oneof(
  fc.integer({ min: -10, max: 10_000 }).map(String),
  fc.constantFrom('1000', '4000', '4999', '3000', '3999', '5000', '0999', '01000', '+1000', '1e3', ' 1000', '1000 ', '１０００', '4OOO', ''),
  fc.string({ maxLength: 6 }),
);
/** Reasons around the 123-byte edge, in 1-, 2-, 3- and 4-byte characters. */
const reasonText = fc.oneof(
  fc.string({ maxLength: 130 }),
  fc.string({ unit: 'grapheme', maxLength: 70 }),
  fc.constantFrom('a', 'é', '€', '😀').chain((ch) => fc.integer({ min: 0, max: 130 }).map((n) => ch.repeat(n))),
);
const param = fc.oneof(
  codeText.map((v) => ['code', v] as const),
  reasonText.map((v) => ['reason', v] as const),
  fc.tuple(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 })),
);

describe('close code and reason (property)', () => {
  it('agrees with the documented rule on arbitrary parameter lists, never throws anything but 400', () => {
    fc.assert(
      fc.property(fc.array(param, { maxLength: 4 }), (pairs) => {
        const query = new URLSearchParams(pairs.map(([k, v]) => [k, v]));
        assert.deepEqual(run(query), reference(query));
      }),
      { numRuns: 3000 },
    );
  });

  it('agrees on arbitrary raw query strings (broken escapes, "+", "&&", "=")', () => {
    const raw = fc.array(fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('code=', 'reason=', '&', '=', '%', '%zz', '%E2%82', '%F0%9F%98%80', '+', 'code=4000', 'code=1000&code=1000')), { maxLength: 8 }).map((parts) => parts.join(''));
    fc.assert(
      fc.property(raw, (text) => {
        const query = new URLSearchParams(text);
        assert.deepEqual(run(query), reference(query));
      }),
      { numRuns: 3000 },
    );
  });

  it('every valid code with a reason of exactly 123 bytes is accepted; 124 is not', () => {
    fc.assert(
      fc.property(fc.oneof(fc.constant(1000), fc.integer({ min: 4000, max: 4999 })), fc.constantFrom('a', 'é', '€'), (code, ch) => {
        const bytes = Buffer.byteLength(ch);
        const fit = ch.repeat(Math.floor(123 / bytes));
        assert.deepEqual(closeParams(new URLSearchParams({ code: String(code), reason: fit })), { code, reason: fit });
        assert.equal(run(new URLSearchParams({ code: String(code), reason: fit + 'a'.repeat(124 - Buffer.byteLength(fit)) })), 'refused');
      }),
    );
  });
});
