import * as crypto from 'node:crypto';
import { createHash, createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Credential, CredentialStore } from './credentials.js';
import { canonicalRequest } from './sigv4-canonical.js';

/** SHA-256 as hex: node's one-shot `crypto.hash` (Node 20.12+) where there is one. */
const oneShot = (crypto as { hash?: (algorithm: string, data: string | Uint8Array, encoding: 'hex') => string }).hash;
const sha256Hex: (data: string | Uint8Array) => string = oneShot ? (data) => oneShot('sha256', data, 'hex') : (data) => createHash('sha256').update(data).digest('hex');

/** A received request, as raw as the gateway got it. */
export interface SignedRequest {
  method: string;
  /** Path exactly as received: still percent-encoded, no query. */
  rawPath: string;
  /** Query string without '?', '' when none. */
  rawQuery: string;
  headers: IncomingHttpHeaders;
  body: Uint8Array;
}

export type VerifyResult =
  | { ok: true; accessKeyId: string; region: string; sessionToken?: string }
  | { ok: false; status: 403; errorType: string; message: string };

export interface SigV4VerifierOptions {
  credentials: CredentialStore;
  /** Signing name the credential scope must carry; default 'execute-api'. */
  service?: string;
  /** When set, only these signing regions are accepted; default: any region. */
  regions?: string[] | undefined;
  /** Allowed distance between the request date and the server clock; default 5 min (AWS). */
  clockSkewMs?: number;
  now?: () => number;
}

type Failure = Extract<VerifyResult, { ok: false }>;
type Query = Record<string, string | string[]>;

const ALGORITHM = 'AWS4-HMAC-SHA256';
const TERMINATOR = 'aws4_request';
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
const MAX_EXPIRES_S = 604800;
/** The signer's query clone is quadratic in the number of parameters: bound it. */
const MAX_QUERY_PARAMS = 256;
const MAX_SIGNED_HEADERS = 64;
const SIGNED_HEADER_CACHE_MAX = 128;
const AMZ_DATE_RE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const HEADER_NAME_RE = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;
/** getPayloadHash answers UNSIGNED-PAYLOAD for a body that is neither string nor bytes. */
const UNSIGNED_BODY_MARKER = Object.freeze({});

const MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';
const BAD_TOKEN = 'The security token included in the request is invalid.';

/** Presigned-form parameters that must not repeat. */
const AMZ_QUERY_PARAMS = ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-SignedHeaders', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-Security-Token', 'X-Amz-Content-Sha256'];

const fail = (errorType: string, message: string): Failure => ({ ok: false, status: 403, errorType, message });
const incomplete = (message: string): Failure => fail('IncompleteSignatureException', message);
const invalid = (message: string): Failure => fail('InvalidSignatureException', message);
const missingParam = (name: string): Failure =>
  incomplete(`AWS query-string parameters must include '${name}'. Re-examine the query-string parameters.`);
const MISSING_AUTH = fail('MissingAuthenticationTokenException', 'Missing Authentication Token');
const SIGNATURE_MISMATCH = invalid(MISMATCH);
const UNRECOGNIZED = fail('UnrecognizedClientException', BAD_TOKEN);
/** AWS's edge refuses dot segments before any signature check. */
const DOT_SEGMENT = fail('ForbiddenException', 'Forbidden');

/** node:crypto-backed sha256 for the signer (the pure-JS one is much slower). */
const Sha256 = Hash.bind(null, 'sha256');

interface SignedHeaderList {
  names: string[];
  set: Set<string>;
  /** Deduplicated and sorted: the canonical request's order. */
  sorted: string[];
}

interface Scope {
  accessKeyId: string;
  shortDate: string;
  region: string;
  service: string;
}

/** What the head of an Authorization-header request established; the body settles the rest. */
interface HeaderHead {
  kind: 'header';
  parsed: { credential: string; signedHeaders: string; signature: string };
  scope: Scope;
  amzDate: string;
  dateMs: number;
  signed: SignedHeaderList;
  cred: Readonly<Credential>;
  token: string | undefined;
  /** The signed headers' values, as received. */
  headers: Record<string, string>;
}

/** What the head of a presigned request established. */
interface PresignedHead {
  kind: 'presigned';
  query: Query;
  scope: Scope;
  dateMs: number;
  expiresS: number;
  signature: string;
  signedHeaders: string;
  signed: SignedHeaderList;
  cred: Readonly<Credential>;
  token: string | undefined;
  contentSha: string | undefined;
  headers: Record<string, string>;
}

type Head = HeaderHead | PresignedHead;

/** What `begin` established from a request's head, for `finish` once the body is in. Opaque. */
export interface SigV4Head {
  readonly [HEAD]: Head;
}
const HEAD = Symbol('sigv4-head');

/**
 * Verifies AWS SigV4 requests (Authorization header or presigned query) by recomputing the
 * signature with @smithy/signature-v4 from exactly what the client said it signed.
 */
export class SigV4Verifier {
  private readonly store: CredentialStore;
  private readonly service: string;
  private readonly regions: ReadonlySet<string> | null;
  private readonly skewMs: number;
  private readonly now: () => number;
  /** Keyed by the stored credential object, so a replaced key never reuses a stale signer. */
  private readonly signers = new WeakMap<Readonly<Credential>, SignatureV4>();
  private readonly signingKeys = new WeakMap<Readonly<Credential>, Map<string, KeyObject>>();
  /** Clients repeat the same SignedHeaders strings; only lists seen on valid requests are kept. */
  private readonly signedHeaderCache = new Map<string, SignedHeaderList>();

  constructor(opts: SigV4VerifierOptions) {
    this.store = opts.credentials;
    this.service = opts.service ?? 'execute-api';
    this.regions = opts.regions && opts.regions.length > 0 ? new Set(opts.regions) : null;
    this.skewMs = opts.clockSkewMs ?? 5 * 60 * 1000;
    this.now = opts.now ?? Date.now;
  }

  /**
   * Everything that can be decided before the body is read: path, form of the Authorization
   * header or presigned query, algorithm, credential scope, a known key, the date against the
   * clock, the signed headers (host among them) and the session token. A refusal here is the
   * exact answer `verify` gives for the same request (the same code runs first there), so a
   * caller can answer at once and never buffer the body; null when only the signature, which
   * needs the body hash, is left to check. `verify` must still run after the body.
   */
  precheck(req: Pick<SignedRequest, 'rawQuery' | 'headers'> & { rawPath?: string }): Failure | null {
    const head = this.begin(req);
    return 'ok' in head ? head : null;
  }

  /**
   * `precheck` that keeps what it parsed: a refusal (the one `verify` would give), or the head
   * to hand to `finish` with the body, so a server reads the headers and query once.
   */
  begin(req: Pick<SignedRequest, 'rawQuery' | 'headers'> & { rawPath?: string }): Failure | SigV4Head {
    try {
      const head = this.checkHead(req);
      return 'ok' in head ? head : { [HEAD]: head };
    } catch {
      return SIGNATURE_MISMATCH; // what verify answers for the same input
    }
  }

  /**
   * Verifies a request whose head `begin` accepted, now that its body is in: the answer `verify`
   * gives for the same request at this moment (the clock and the key are looked at again, as
   * time passed and keys may have been replaced while the body arrived). Synchronous for the
   * Authorization-header form, a promise for the presigned one. Never throws.
   */
  finish(begun: SigV4Head, req: SignedRequest): VerifyResult | Promise<VerifyResult> {
    const head = begun[HEAD];
    // The presigned form, a key replaced or a date that left the window: the whole check again.
    if (head.kind !== 'header' || this.store.get(head.scope.accessKeyId) !== head.cred || !this.inWindow(head.dateMs)) return this.verify(req);
    try {
      return this.verifyHeader(req, head);
    } catch {
      return SIGNATURE_MISMATCH;
    }
  }

  /** Verifies one request. Never throws: bad input of any kind becomes a 403 result. */
  async verify(req: SignedRequest): Promise<VerifyResult> {
    try {
      const head = this.checkHead(req);
      if ('ok' in head) return head;
      return head.kind === 'header' ? this.verifyHeader(req, head) : await this.verifyPresigned(req, head);
    } catch {
      // Whatever broke (odd header types, signer rejections), the request is not proven authentic.
      return SIGNATURE_MISMATCH;
    }
  }

  /** The Authorization-header form's date check (the one `headerHead` refuses with). */
  private inWindow(dateMs: number): boolean {
    const now = this.now();
    return dateMs >= now - this.skewMs && dateMs <= now + this.skewMs;
  }

  /** The body-independent checks of either form, in the order AWS reports them. */
  private checkHead(req: Pick<SignedRequest, 'rawQuery' | 'headers'> & { rawPath?: string }): Head | Failure {
    // The canonical path resolves `.`/`..` (as the SDKs' signer does) where routing would not:
    // a signature for one path must never be accepted on another.
    if (req.rawPath !== undefined && hasDotSegment(req.rawPath)) return DOT_SEGMENT;
    const auth = req.headers.authorization;
    const presigned = isPresigned(req.rawQuery);
    if (auth !== undefined && auth !== '') {
      if (presigned) {
        return incomplete('Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified.');
      }
      return this.headerHead(req, auth);
    }
    if (presigned) return this.presignedHead(req);
    return MISSING_AUTH;
  }

  private headerHead(req: Pick<SignedRequest, 'headers'>, auth: string): HeaderHead | Failure {
    const parsed = parseAuthorization(auth);
    if ('ok' in parsed) return parsed;
    const scope = parseCredential(parsed.credential, 'Authorization header');
    if ('ok' in scope) return scope;

    const amzDate = req.headers['x-amz-date'];
    if (typeof amzDate !== 'string' || amzDate === '') {
      return incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
    }
    const dateMs = parseAmzDate(amzDate);
    if (dateMs === null) return incomplete(`X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'", got '${clip(amzDate)}'.`);

    const signed = this.parseSignedHeaders(parsed.signedHeaders);
    if (signed === null) return incomplete(`Authorization header has an invalid 'SignedHeaders' parameter: '${clip(parsed.signedHeaders)}'.`);
    if (!signed.set.has('host')) return incomplete("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
    if (!signed.set.has('x-amz-date')) return incomplete("'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.");

    const scopeError = this.checkScope(scope, amzDate);
    if (scopeError) return scopeError;
    const cred = this.store.get(scope.accessKeyId);
    if (!cred) return UNRECOGNIZED;

    const now = this.now();
    if (dateMs < now - this.skewMs) {
      return invalid(`Signature expired: ${amzDate} is now earlier than ${formatAmzDate(now - this.skewMs)} (${formatAmzDate(now)} - ${describeMs(this.skewMs)})`);
    }
    if (dateMs > now + this.skewMs) {
      return invalid(`Signature not yet current: ${amzDate} is still later than ${formatAmzDate(now + this.skewMs)} (${formatAmzDate(now)} + ${describeMs(this.skewMs)})`);
    }

    const token = req.headers['x-amz-security-token'];
    if (token !== undefined && !signed.set.has('x-amz-security-token')) {
      return incomplete("'X-Amz-Security-Token' must be a 'SignedHeader' in the AWS Authorization.");
    }
    const tokenValue = typeof token === 'string' ? token : undefined;
    if (!tokenAccepted(cred, tokenValue)) return UNRECOGNIZED;

    const headers: Record<string, string> = {};
    for (const name of signed.names) {
      const value = headerValue(req.headers, name);
      // The client signed a header we did not receive: the canonical request cannot match.
      if (value === undefined) return SIGNATURE_MISMATCH;
      headers[name] = value;
    }
    return { kind: 'header', parsed, scope, amzDate, dateMs, signed, cred, token: tokenValue, headers };
  }

  private verifyHeader(req: SignedRequest, h: HeaderHead): VerifyResult {
    const { parsed, scope, amzDate, signed, cred, token: tokenValue } = h;
    const shaSigned = signed.set.has('x-amz-content-sha256');
    const sha = headerValue(req.headers, 'x-amz-content-sha256');
    // A present x-amz-content-sha256 must be UNSIGNED-PAYLOAD or the body's hash; signed, it is
    // the payload hash itself, so the body is hashed at most once.
    let payloadHash: string;
    if (sha === undefined || sha === UNSIGNED_PAYLOAD) payloadHash = shaSigned && sha !== undefined ? sha : sha256Hex(req.body);
    else {
      payloadHash = sha256Hex(req.body);
      if (sha !== payloadHash) return SIGNATURE_MISMATCH; // the body's hash is no secret
    }

    const query = req.rawQuery === '' ? undefined : parseQuery(req.rawQuery);
    if (query === null) return incomplete('Too many query string parameters.');

    // The canonical request as @smithy/signature-v4 (the SDKs' signer) builds it, written out
    // (sigv4-canonical.ts); the string to sign and the HMAC are node:crypto one-shots with a
    // cached signing key, instead of the signer's async Hash objects.
    const canonical = canonicalRequest({ method: req.method, rawPath: req.rawPath, query, headers: h.headers, sortedNames: signed.sorted, payloadHash });
    const shortDate = amzDate.slice(0, 8);
    const credentialScope = `${shortDate}/${scope.region}/${scope.service}/aws4_request`;
    const stringToSign = `${ALGORITHM}\n${amzDate}\n${credentialScope}\n${sha256Hex(canonical)}`;
    const computed = createHmac('sha256', this.signingKey(cred, shortDate, scope.region, scope.service)).update(stringToSign).digest();
    if (!sameSignature(parsed.signature, computed)) return SIGNATURE_MISMATCH;

    this.rememberSignedHeaders(parsed.signedHeaders, signed);
    return success(scope, tokenValue);
  }

  private presignedHead(req: Pick<SignedRequest, 'rawQuery' | 'headers'>): PresignedHead | Failure {
    const query = parseQuery(req.rawQuery);
    if (query === null) return incomplete('Too many query string parameters.');
    for (const name of AMZ_QUERY_PARAMS) {
      if (Array.isArray(query[name])) return incomplete(`Query-string parameter '${name}' must appear only once.`);
    }
    const p = (name: string): string | undefined => query[name] as string | undefined; // arrays refused above
    const algorithm = p('X-Amz-Algorithm');
    const credential = p('X-Amz-Credential');
    const amzDate = p('X-Amz-Date');
    const signedHeaders = p('X-Amz-SignedHeaders');
    const signature = p('X-Amz-Signature');
    const expires = p('X-Amz-Expires');
    const token = p('X-Amz-Security-Token');
    const contentSha = p('X-Amz-Content-Sha256');
    if (algorithm === undefined) return missingParam('X-Amz-Algorithm');
    if (credential === undefined) return missingParam('X-Amz-Credential');
    if (signature === undefined) return missingParam('X-Amz-Signature');
    if (signedHeaders === undefined) return missingParam('X-Amz-SignedHeaders');
    if (amzDate === undefined) return missingParam('X-Amz-Date');
    if (expires === undefined) return missingParam('X-Amz-Expires');
    if (algorithm !== ALGORITHM) return incomplete(`X-Amz-Algorithm only supports '${ALGORITHM}'.`);
    const scope = parseCredential(credential, 'X-Amz-Credential');
    if ('ok' in scope) return scope;
    const dateMs = parseAmzDate(amzDate);
    if (dateMs === null) return incomplete(`X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'", got '${clip(amzDate)}'.`);
    if (!/^\d{1,6}$/.test(expires) || Number(expires) > MAX_EXPIRES_S) {
      return incomplete(`X-Amz-Expires must be a whole number of seconds from 0 to ${MAX_EXPIRES_S} (one week).`);
    }
    const expiresS = Number(expires);
    const signed = this.parseSignedHeaders(signedHeaders);
    if (signed === null) return incomplete(`Invalid 'X-Amz-SignedHeaders' parameter: '${clip(signedHeaders)}'.`);
    if (!signed.set.has('host')) return incomplete("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");

    const scopeError = this.checkScope(scope, amzDate);
    if (scopeError) return scopeError;
    const cred = this.store.get(scope.accessKeyId);
    if (!cred) return UNRECOGNIZED;

    const now = this.now();
    const validFor = expiresS * 1000;
    if (now > dateMs + validFor) {
      return invalid(`Signature expired: ${amzDate} is now earlier than ${formatAmzDate(now - validFor)} (${formatAmzDate(now)} - ${describeMs(validFor)})`);
    }
    if (dateMs > now + this.skewMs) {
      return invalid(`Signature not yet current: ${amzDate} is still later than ${formatAmzDate(now + this.skewMs)} (${formatAmzDate(now)} + ${describeMs(this.skewMs)})`);
    }
    if (!tokenAccepted(cred, token)) return UNRECOGNIZED;

    const headers: Record<string, string> = {};
    for (const name of signed.names) {
      const value = headerValue(req.headers, name);
      if (value === undefined) return SIGNATURE_MISMATCH;
      headers[name] = value;
    }
    return { kind: 'presigned', query, scope, dateMs, expiresS, signature, signedHeaders, signed, cred, token, contentSha, headers };
  }

  private async verifyPresigned(req: SignedRequest, h: PresignedHead): Promise<VerifyResult> {
    const { query, scope, dateMs, expiresS, signature, signedHeaders, signed, cred, token, contentSha, headers } = h;
    // A hoisted X-Amz-Content-Sha256 sets the payload hash only when the signer sees it as a
    // header; presign() hoists it back into the query under the same name.
    const payload = this.payloadFor(req, contentSha !== undefined, contentSha);
    if (payload === null) return SIGNATURE_MISMATCH;
    if (contentSha !== undefined) headers['X-Amz-Content-Sha256'] = contentSha;

    delete query['X-Amz-Signature'];
    const request = new HttpRequest({ method: req.method, path: req.rawPath, headers, query, body: payload });
    const result = await this.signerFor(cred).presign(request, {
      signingDate: new Date(dateMs),
      expiresIn: expiresS,
      signingRegion: scope.region,
      signingService: scope.service,
      signableHeaders: signed.set,
      // Signed x-amz-* headers were sent as headers: keep them there.
      unhoistableHeaders: signed.set,
    });
    const computed = result.query?.['X-Amz-Signature'];
    if (typeof computed !== 'string' || !sameSecret(signature, computed)) return SIGNATURE_MISMATCH;

    this.rememberSignedHeaders(signedHeaders, signed);
    return success(scope, token);
  }

  private checkScope(scope: Scope, amzDate: string): Failure | null {
    if (scope.service !== this.service) return invalid(`Credential should be scoped to correct service: '${this.service}'.`);
    if (this.regions && !this.regions.has(scope.region)) return invalid('Credential should be scoped to a valid region.');
    if (scope.shortDate !== amzDate.slice(0, 8)) {
      return invalid(`Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${clip(scope.shortDate)}' != '${amzDate.slice(0, 8)}', from '${amzDate}'.`);
    }
    return null;
  }

  /**
   * What to hand the signer as body. A present x-amz-content-sha256 must be UNSIGNED-PAYLOAD or
   * the real body hash (null otherwise). When signed, the signer takes the payload hash from the
   * header itself, so the body is not hashed twice.
   */
  private payloadFor(req: SignedRequest, shaSigned: boolean, sha: string | undefined): Uint8Array | object | undefined | null {
    if (sha === undefined) return req.body.byteLength > 0 ? req.body : undefined;
    if (sha === UNSIGNED_PAYLOAD) return shaSigned ? undefined : UNSIGNED_BODY_MARKER;
    const actual = sha256Hex(req.body);
    if (!sameSecret(sha, actual)) return null;
    return shaSigned ? undefined : req.body;
  }

  private parseSignedHeaders(list: string): SignedHeaderList | null {
    const cached = this.signedHeaderCache.get(list);
    if (cached) return cached;
    if (list === '' || list.length > 4096) return null;
    const names = list.split(';');
    if (names.length > MAX_SIGNED_HEADERS) return null;
    for (const n of names) {
      if (!HEADER_NAME_RE.test(n) || n === '__proto__') return null;
    }
    const set = new Set(names);
    return { names, set, sorted: [...set].sort() };
  }

  private rememberSignedHeaders(list: string, parsed: SignedHeaderList): void {
    if (this.signedHeaderCache.has(list)) return;
    if (this.signedHeaderCache.size >= SIGNED_HEADER_CACHE_MAX) this.signedHeaderCache.clear();
    this.signedHeaderCache.set(list, parsed);
  }

  /** The SigV4 signing key (HMAC chain over date, region, service), cached per key and day. */
  private signingKey(cred: Readonly<Credential>, shortDate: string, region: string, service: string): KeyObject {
    const id = `${cred.accessKeyId}\n${shortDate}\n${region}\n${service}`;
    let key = this.signingKeys.get(cred)?.get(id);
    if (key === undefined) {
      const kDate = createHmac('sha256', `AWS4${cred.secretAccessKey}`).update(shortDate).digest();
      const kRegion = createHmac('sha256', kDate).update(region).digest();
      const kService = createHmac('sha256', kRegion).update(service).digest();
      key = createSecretKey(createHmac('sha256', kService).update('aws4_request').digest()); // a KeyObject: not imported again per call
      let perCred = this.signingKeys.get(cred);
      if (perCred === undefined) this.signingKeys.set(cred, (perCred = new Map()));
      if (perCred.size > 64) perCred.clear(); // days and regions rotate; stay bounded
      perCred.set(id, key);
    }
    return key;
  }

  private signerFor(cred: Readonly<Credential>): SignatureV4 {
    let signer = this.signers.get(cred);
    if (!signer) {
      signer = new SignatureV4({
        // No sessionToken here on purpose: the signer would overwrite the received token with it.
        credentials: { accessKeyId: cred.accessKeyId, secretAccessKey: cred.secretAccessKey },
        region: 'us-east-1', // unused: every call passes signingRegion from the request's scope
        service: this.service,
        sha256: Sha256,
        // Otherwise the signer adds x-amz-content-sha256 to requests that lacked it (boto3) and signs it.
        applyChecksum: false,
        uriEscapePath: true,
      });
      this.signers.set(cred, signer);
    }
    return signer;
  }
}

/**
 * True when a path has a `.` or `..` segment, literal or percent-encoded (`%2e`, `%2E%2e`…).
 * The signer's canonical path resolves them; routing does not, so such a path is refused.
 */
export function hasDotSegment(rawPath: string): boolean {
  if (rawPath.indexOf('.') < 0 && !/%2e/i.test(rawPath)) return false;
  for (const seg of rawPath.split('/')) {
    if (seg.length > 0 && seg.length <= 6 && /^(?:\.|%2e){1,2}$/i.test(seg)) return true;
  }
  return false;
}

function isPresigned(rawQuery: string): boolean {
  return rawQuery.length > 0 && /(?:^|&)X-Amz-(?:Algorithm|Credential|Signature)=/.test(rawQuery);
}

function success(scope: Scope, token: string | undefined): VerifyResult {
  return token === undefined
    ? { ok: true, accessKeyId: scope.accessKeyId, region: scope.region }
    : { ok: true, accessKeyId: scope.accessKeyId, region: scope.region, sessionToken: token };
}

/** Stored token set: the request must carry exactly it. No stored token: any (or none) is accepted, as Switchboard cannot ask STS. */
function tokenAccepted(cred: Readonly<Credential>, token: string | undefined): boolean {
  if (cred.sessionToken === undefined) return true;
  return token !== undefined && sameSecret(token, cred.sessionToken);
}

function parseAuthorization(auth: string): { credential: string; signedHeaders: string; signature: string } | Failure {
  const sp = auth.indexOf(' ');
  const algorithm = sp < 0 ? auth : auth.slice(0, sp);
  if (algorithm !== ALGORITHM) {
    return incomplete(`Authorization header uses an unsupported scheme '${clip(algorithm)}': only '${ALGORITHM}' is accepted.`);
  }
  let credential: string | undefined;
  let signedHeaders: string | undefined;
  let signature: string | undefined;
  for (const raw of auth.slice(sp + 1).split(',')) {
    const part = raw.trim();
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) return incomplete(`Invalid key=value pair (missing equal-sign) in Authorization header: '${clip(part)}'.`);
    const key = part.slice(0, eq);
    const value = part.slice(eq + 1);
    if (key === 'Credential') credential = value;
    else if (key === 'SignedHeaders') signedHeaders = value;
    else if (key === 'Signature') signature = value;
  }
  const missing: string[] = [];
  if (!credential) missing.push("Authorization header requires 'Credential' parameter.");
  if (!signature) missing.push("Authorization header requires 'Signature' parameter.");
  if (!signedHeaders) missing.push("Authorization header requires 'SignedHeaders' parameter.");
  if (missing.length > 0) return incomplete(missing.join(' '));
  return { credential: credential!, signedHeaders: signedHeaders!, signature: signature! };
}

function parseCredential(value: string, where: string): Scope | Failure {
  const parts = value.split('/');
  if (parts.length !== 5 || parts.some((s) => s === '')) {
    return incomplete(`${where} has a malformed Credential '${clip(value)}': expected 'AKID/yyyymmdd/region/service/${TERMINATOR}'.`);
  }
  const [accessKeyId, shortDate, region, service, terminator] = parts as [string, string, string, string, string];
  if (terminator !== TERMINATOR) return incomplete(`Credential should be scoped with a valid terminator: '${TERMINATOR}', not '${clip(terminator)}'.`);
  if (!/^\d{8}$/.test(shortDate)) return incomplete(`Credential should be scoped to a date in the format yyyymmdd, not '${clip(shortDate)}'.`);
  return { accessKeyId, shortDate, region, service };
}

// Requests signed in the same second share their date: remember the last one parsed.
let lastAmzDate = '';
let lastAmzMs = 0;

/** Basic ISO 8601 (20261124T214000Z) to epoch ms; null when malformed or not a real date. */
function parseAmzDate(s: string): number | null {
  if (s === lastAmzDate) return lastAmzMs;
  const ms = parseAmzDateUncached(s);
  if (ms !== null) {
    lastAmzDate = s;
    lastAmzMs = ms;
  }
  return ms;
}

function parseAmzDateUncached(s: string): number | null {
  const m = AMZ_DATE_RE.exec(s);
  if (!m) return null;
  const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  // Date.UTC rolls 20261332 over into the next year: the round trip catches it.
  return formatAmzDate(ms) === s ? ms : null;
}

function formatAmzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

function describeMs(ms: number): string {
  return ms % 60000 === 0 ? `${ms / 60000} min.` : `${ms / 1000} sec.`;
}

/** Node joins repeated headers with ', ' (set-cookie stays an array: joined with ','). */
function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  if (!Object.prototype.hasOwnProperty.call(headers, name)) return undefined;
  const v = headers[name];
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.join(',');
  return undefined;
}

/** RFC 3986 decoding ('+' stays '+', as the SDKs encode a space as %20). Null when over the parameter limit. */
function parseQuery(raw: string): Query | null {
  const out: Query = Object.create(null) as Query;
  let count = 0;
  for (const pair of raw.split('&')) {
    if (pair === '') continue;
    if (++count > MAX_QUERY_PARAMS) return null;
    const eq = pair.indexOf('=');
    const key = decode(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? '' : decode(pair.slice(eq + 1));
    const prev = out[key];
    if (prev === undefined) out[key] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[key] = [prev, value];
  }
  return out;
}

function decode(s: string): string {
  if (s.indexOf('%') < 0) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s; // broken escapes: keep raw; the signature will then not match
  }
}

const SIGNATURE_HEX = /^[0-9a-f]{64}$/;

/**
 * A received signature against a computed HMAC, in constant time: equal exactly when the text
 * is the digest's lowercase hex (what comparing the hex strings would say), without encoding
 * the digest and both strings per call.
 */
function sameSignature(received: string, digest: Buffer): boolean {
  return SIGNATURE_HEX.test(received) && timingSafeEqual(Buffer.from(received, 'hex'), digest);
}

/** Constant-time comparison; a length difference is a plain mismatch. */
function sameSecret(a: string, b: string): boolean {
  const ba = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  return ba.length === bb.length && timingSafeEqual(ba, bb);
}

/** Keeps echoed client input short in error messages. */
function clip(s: string): string {
  return s.length > 64 ? `${s.slice(0, 64)}…` : s;
}
