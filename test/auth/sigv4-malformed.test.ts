// Malformed SigV4 input, called on the verifier directly (fast: no server, no SDK client): each
// is refused with AWS's error type and AWS's message, the way AWS words it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { CredentialStore } from '../../src/auth/credentials.js';
import { SigV4Verifier } from '../../src/auth/sigv4.js';

const KEY = { accessKeyId: 'AKIDSWITCHBOARD', secretAccessKey: 'secret' };
const T0 = Date.UTC(2026, 10, 24, 21, 40, 0);
const MISMATCH = 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';
const INCOMPLETE = 'IncompleteSignatureException';
const INVALID = 'InvalidSignatureException';
const verifier = new SigV4Verifier({ credentials: new CredentialStore([KEY]), now: () => T0 + 1000 });
const signer = new SignatureV4({ credentials: KEY, region: 'us-east-1', service: 'execute-api', sha256: Hash.bind(null, 'sha256') });
const enc = (s: string) => encodeURIComponent(s);
const qs = (o: Record<string, string>) => Object.entries(o).map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&');

async function presigned(): Promise<Record<string, string>> {
  const out = await signer.presign(new HttpRequest({ method: 'GET', protocol: 'http:', hostname: 'h', path: '/dev', query: { token: 'x' }, headers: { host: 'h' } }), { signingDate: new Date(T0), expiresIn: 60 });
  return out.query as Record<string, string>;
}

async function refused(rawQuery: string, errorType: string, message: string, headers: Record<string, string> = { host: 'h' }): Promise<void> {
  const r = await verifier.verify({ method: 'GET', rawPath: '/dev', rawQuery, headers, body: new Uint8Array() });
  assert.equal(r.ok, false, rawQuery);
  if (!r.ok) assert.deepEqual([r.status, r.errorType, r.message], [403, errorType, message], rawQuery);
}

describe('SigV4 presigned form: malformed parameters, with AWS\'s messages', () => {
  it('the untampered URL passes (control)', async () => {
    const r = await verifier.verify({ method: 'GET', rawPath: '/dev', rawQuery: qs(await presigned()), headers: { host: 'h' }, body: new Uint8Array() });
    assert.deepEqual(r, { ok: true, accessKeyId: KEY.accessKeyId, region: 'us-east-1' });
  });

  it('each required parameter missing', async () => {
    const q = await presigned();
    for (const k of ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-SignedHeaders', 'X-Amz-Date', 'X-Amz-Expires']) {
      const c = { ...q };
      delete c[k];
      await refused(qs(c), INCOMPLETE, `AWS query-string parameters must include '${k}'. Re-examine the query-string parameters.`);
    }
  });

  it('wrong algorithm, repeated parameter, bad date, bad expiry, bad signed headers', async () => {
    const q = await presigned();
    await refused(qs({ ...q, 'X-Amz-Algorithm': 'AWS4-HMAC-SHA1' }), INCOMPLETE, "X-Amz-Algorithm only supports 'AWS4-HMAC-SHA256'.");
    for (const k of ['X-Amz-Date', 'X-Amz-Signature', 'X-Amz-Credential']) await refused(`${qs(q)}&${k}=${enc(q[k]!)}`, INCOMPLETE, `Query-string parameter '${k}' must appear only once.`);
    await refused(qs({ ...q, 'X-Amz-Date': '2026-11-24T21:40:00Z' }), INCOMPLETE, "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\", got '2026-11-24T21:40:00Z'.");
    for (const bad of ['abc', '604801', '1234567', '-1', '1.5']) await refused(qs({ ...q, 'X-Amz-Expires': bad }), INCOMPLETE, 'X-Amz-Expires must be a whole number of seconds from 0 to 604800 (one week).');
    // 604800 is a valid expiry: the check that fails is the signature (the value was changed after signing).
    await refused(qs({ ...q, 'X-Amz-Expires': '604800' }), INVALID, MISMATCH);
    await refused(qs({ ...q, 'X-Amz-SignedHeaders': 'x-amz-date' }), INCOMPLETE, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
    await refused(qs({ ...q, 'X-Amz-SignedHeaders': 'Host;;' }), INCOMPLETE, "Invalid 'X-Amz-SignedHeaders' parameter: 'Host;;'.");
  });

  it('malformed credential scopes', async () => {
    const q = await presigned();
    const cred = q['X-Amz-Credential']!;
    await refused(qs({ ...q, 'X-Amz-Credential': cred.replace('aws4_request', 'aws5_request') }), INCOMPLETE, "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'.");
    await refused(qs({ ...q, 'X-Amz-Credential': cred.replace('20261124', '2026112x') }), INCOMPLETE, "Credential should be scoped to a date in the format yyyymmdd, not '2026112x'.");
    await refused(qs({ ...q, 'X-Amz-Credential': cred.replace('20261124', '20261123') }), INVALID, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20261123' != '20261124', from '20261124T214000Z'.");
    await refused(qs({ ...q, 'X-Amz-Credential': 'AKIDSWITCHBOARD/20261124/us-east-1' }), INCOMPLETE, "X-Amz-Credential has a malformed Credential 'AKIDSWITCHBOARD/20261124/us-east-1': expected 'AKID/yyyymmdd/region/service/aws4_request'.");
    await refused(qs({ ...q, 'X-Amz-Credential': cred.replace('execute-api', 's3') }), INVALID, "Credential should be scoped to correct service: 'execute-api'.");
    await refused(qs({ ...q, 'X-Amz-Credential': cred.replace(KEY.accessKeyId, 'AKIDOTHER') }), 'UnrecognizedClientException', 'The security token included in the request is invalid.');
  });

  it('no signature at all is MissingAuthenticationTokenException', async () => {
    await refused('token=x', 'MissingAuthenticationTokenException', 'Missing Authentication Token');
    await refused('', 'MissingAuthenticationTokenException', 'Missing Authentication Token', { host: 'h', authorization: '' });
  });

  it('regions: a configured list refuses other signing regions', async () => {
    const only = new SigV4Verifier({ credentials: new CredentialStore([KEY]), now: () => T0 + 1000, regions: ['eu-west-1'] });
    const r = await only.verify({ method: 'GET', rawPath: '/dev', rawQuery: qs(await presigned()), headers: { host: 'h' }, body: new Uint8Array() });
    assert.deepEqual(r, { ok: false, status: 403, errorType: INVALID, message: 'Credential should be scoped to a valid region.' });
    const empty = new SigV4Verifier({ credentials: new CredentialStore([KEY]), now: () => T0 + 1000, regions: [] });
    assert.equal((await empty.verify({ method: 'GET', rawPath: '/dev', rawQuery: qs(await presigned()), headers: { host: 'h' }, body: new Uint8Array() })).ok, true, 'an empty list means any region');
  });
});
