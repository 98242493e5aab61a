import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { CredentialStore } from '../../src/auth/credentials.js';
import { hasDotSegment, SigV4Verifier, type SignedRequest } from '../../src/auth/sigv4.js';

/**
 * The SigV4 canonical path, as properties: a request signed with @smithy/signature-v4 (what the
 * AWS SDKs use) for path P verifies on P and on nothing that names another path; a path with a
 * dot segment is refused whatever its signature; and the pre-body check never disagrees with the
 * full one.
 */

const KEY = { accessKeyId: 'AKIDPROP', secretAccessKey: 'prop-secret' };
const T0 = Date.UTC(2026, 10, 24, 21, 40, 0);
const HOST = '127.0.0.1:9999';
const verifier = new SigV4Verifier({ credentials: new CredentialStore([KEY]), now: () => T0 });
const signer = new SignatureV4({ credentials: KEY, region: 'us-east-1', service: 'execute-api', sha256: Hash.bind(null, 'sha256') });

/** A path segment as an SDK would put it on the wire: encoded unicode, raw reserved characters, ready-made escapes, dots. */
const segment = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 6 }).map(encodeURIComponent),
  fc.stringMatching(/^[A-Za-z0-9._~!$&'()*+,;=:@-]{0,6}$/),
  fc.constantFrom('@connections', '%40connections', 'a%2Fb', 'a%2fb', '%25', '%2e', '%2E%2e', '.', '..', '.%2E', '...', '.a', 'a.', '%20', '+', '=', 'abc%3D'),
);
const path = fc.tuple(fc.array(segment, { minLength: 1, maxLength: 5 }), fc.boolean()).map(([segs, slash]) => `/${segs.join('/')}${slash ? '/' : ''}`);

/**
 * The path a signature covers: the signer drops empty segments and resolves `.` and `..`
 * (routing drops empty segments too, and the verifier refuses any path with dots).
 */
function canonicalKey(p: string): string {
  const segs: string[] = [];
  for (const s of p.split('/')) {
    if (s === '' || s === '.') continue;
    if (s === '..') segs.pop();
    else segs.push(s);
  }
  return JSON.stringify([segs, segs.length > 0 && p.endsWith('/')]);
}

async function sign(p: string, method = 'GET'): Promise<Record<string, string>> {
  const signed = await signer.sign(new HttpRequest({ method, protocol: 'http:', hostname: '127.0.0.1', port: 9999, path: p, headers: { host: HOST } }), { signingDate: new Date(T0) });
  return signed.headers as Record<string, string>;
}

const request = (rawPath: string, headers: Record<string, string>, method = 'GET'): SignedRequest => ({ method, rawPath, rawQuery: '', headers: { ...headers }, body: new Uint8Array(0) });

describe('SigV4 canonical path (property)', () => {
  it('a signature for P verifies on P, unless P has a dot segment, which is refused 403 Forbidden', async () => {
    await fc.assert(
      fc.asyncProperty(path, async (p) => {
        const result = await verifier.verify(request(p, await sign(p)));
        if (hasDotSegment(p)) assert.deepEqual(result, { ok: false, status: 403, errorType: 'ForbiddenException', message: 'Forbidden' }, p);
        else assert.equal(result.ok, true, `${p}: ${JSON.stringify(result)}`);
      }),
      { numRuns: 1500 },
    );
  });

  it('a signature for P fails on any P2 that names another path', async () => {
    const mutated = path.chain((p) =>
      fc.tuple(
        fc.constant(p),
        fc.oneof(
          path,
          segment.map((s) => `${p}${p.endsWith('/') ? '' : '/'}${s}`),
          fc.constant(p.endsWith('/') ? p.slice(0, -1) : `${p}/`),
          fc.constant(p.replace(/%[0-9A-F]{2}/, (m) => m.toLowerCase())),
          fc.constant(p.replace(/%[2-7][0-9a-fA-F]/, (m) => decodeURIComponent(m))),
          fc.constant(p.replace(/[^/]+$/, '')),
          fc.constant(p.replace(/\/([^/]+)$/, '/x/../$1')),
        ),
      ),
    );
    await fc.assert(
      fc.asyncProperty(mutated, async ([p, p2]) => {
        const headers = await sign(p);
        const result = await verifier.verify(request(p2, headers));
        if (canonicalKey(p2) !== canonicalKey(p) || hasDotSegment(p2)) {
          assert.equal(result.ok, false, `signed for ${p}, accepted on ${p2}`);
        }
      }),
      { numRuns: 1500 },
    );
  });

  it('never throws on arbitrary raw paths, and the pre-body check agrees with the full one', async () => {
    const headers = await sign('/dev/@connections/abc');
    const now = new Date(T0).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
    const header = fc.oneof(
      fc.constant(headers),
      fc.record({ authorization: fc.string({ maxLength: 40 }) }).map((h) => ({ ...headers, ...h })),
      fc.constantFrom('AKIDPROP', 'AKIDNOBODY', '').chain((ak) =>
        fc.tuple(fc.constantFrom(now, '20261124T214000Z', '20261124T200000Z', '20261124T220000Z', 'garbage'), fc.constantFrom('us-east-1/execute-api/aws4_request', 'us-east-1/s3/aws4_request', 'us-east-1/execute-api/aws5', 'x/y')).map(([date, scope]) => ({
          ...headers,
          'x-amz-date': date,
          authorization: headers.authorization!.replace(/Credential=[^,]+/, `Credential=${ak}/${date.slice(0, 8)}/${scope}`),
        })),
      ),
    );
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 40 }), header, async (raw, h) => {
        const req = request(raw, h);
        const early = verifier.precheck(req);
        const full = await verifier.verify(req);
        assert.equal(typeof full.ok, 'boolean');
        if (early !== null) assert.deepEqual(early, full, 'a pre-body refusal is exactly the full answer');
      }),
      { numRuns: 2000 },
    );
  });
});
