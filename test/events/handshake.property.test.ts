// The handshake's header and query parsers on arbitrary input: they never throw, keep every key
// (prototype names included) and agree with a reference built on Map.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { handshakeInfo } from '../../src/events/events.js';

const PROTO_NAMES = ['constructor', 'toString', '__proto__', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', '__defineGetter__'];
const GATEWAY_SET = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-port']);
const TCHAR = "!#$%&'*+.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-";

const headerName = fc.oneof(
  fc.constantFrom(...PROTO_NAMES, 'Host', 'X-Forwarded-For', 'x-forwarded-proto', 'X-Forwarded-Port', 'X-Amzn-Trace-Id', 'Auth'),
  fc.string({ unit: fc.constantFrom(...TCHAR), minLength: 1, maxLength: 12 }),
);
const headerValue = fc.string({ unit: fc.constantFrom(...'abc 019,;=/:\t"\'\\'.split('')), maxLength: 20 });
const rawHeaders = fc.array(fc.tuple(headerName, headerValue), { maxLength: 12 });
const queryKey = fc.oneof(fc.constantFrom(...PROTO_NAMES, 'token', ''), fc.string({ maxLength: 6 }));
const query = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.array(fc.tuple(queryKey, fc.string({ maxLength: 6 })), { maxLength: 8 }).map((ps) => ps.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')),
  fc.array(fc.constantFrom(...PROTO_NAMES, '%', '%zz', '=', '&', '+', '%E0%A4%A', 'a=b'), { maxLength: 8 }).map((xs) => xs.join('&')),
);

function request(pairs: Array<[string, string]>): IncomingMessage {
  return { rawHeaders: pairs.flat(), socket: { localPort: 8080 } } as unknown as IncomingMessage;
}

describe('handshake parsing: property tests', () => {
  it('headers: never throws, keeps every client key with its values in order (gateway-set ones aside)', () => {
    fc.assert(
      fc.property(rawHeaders, fc.boolean(), (pairs, trusted) => {
        const hs = handshakeInfo(request(pairs), '', '192.0.2.1', false, trusted);
        const ref = new Map<string, string[]>();
        const xff: string[] = [];
        for (const [k, v] of pairs) {
          const lower = k.toLowerCase();
          if (lower === 'x-forwarded-for') xff.push(v);
          else if (GATEWAY_SET.has(lower) && !trusted) continue;
          else ref.set(k, [...(ref.get(k) ?? []), v]);
        }
        for (const [k, vs] of ref) {
          assert.deepEqual(Object.getOwnPropertyDescriptor(hs.multiValueHeaders, k)?.value, vs, k);
          assert.equal(Object.getOwnPropertyDescriptor(hs.headers, k)?.value, vs.at(-1), k);
        }
        assert.equal(hs.headers['X-Forwarded-For'], [...xff, '192.0.2.1'].join(', '));
        for (const k of Object.keys(hs.headers)) {
          if (!ref.has(k)) assert.ok(['X-Forwarded-For', 'X-Forwarded-Proto', 'X-Forwarded-Port', 'X-Amzn-Trace-Id'].includes(k), `unexpected header ${k}`);
        }
        if (!pairs.some(([k]) => k.toLowerCase() === 'x-amzn-trace-id')) assert.match(hs.headers['X-Amzn-Trace-Id']!, /^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
      }),
      { numRuns: 500 },
    );
  });

  it('query: never throws, keeps every key (last value single, all values multi), omitted when empty', () => {
    fc.assert(
      fc.property(query, (q) => {
        const hs = handshakeInfo(request([]), q, '192.0.2.1', false);
        if (q === '') {
          assert.equal(hs.query, undefined);
          return;
        }
        const ref = new Map<string, string[]>();
        for (const [k, v] of new URLSearchParams(q)) ref.set(k, [...(ref.get(k) ?? []), v]);
        assert.equal(Object.keys(hs.query!).length, ref.size);
        for (const [k, vs] of ref) {
          assert.deepEqual(Object.getOwnPropertyDescriptor(hs.multiValueQuery, k)?.value, vs, k);
          assert.equal(Object.getOwnPropertyDescriptor(hs.query, k)?.value, vs.at(-1), k);
        }
      }),
      { numRuns: 500 },
    );
  });
});
