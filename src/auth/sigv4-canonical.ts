import { getCanonicalQuery } from '@smithy/signature-v4';

/**
 * The SigV4 canonical request, built the way @smithy/signature-v4 (the AWS SDKs' signer) builds
 * it for a request whose headers are all signed: same path normalisation and double encoding,
 * same header value folding, same query canonicalisation (the signer's own function). Written
 * out here because going through the signer costs an HttpRequest, a header walk with regexes per
 * header and a sort per call, on every management call; test/auth/sigv4-canonical.test.ts holds
 * it equal to the signer's output.
 */

/** What the canonical request is built from. `headers` holds exactly the signed headers' received values. */
export interface CanonicalInput {
  method: string;
  /** Path as received, still percent-encoded, no query. */
  rawPath: string;
  /** The parsed query (decoded keys and values), undefined when there is none. */
  query: Record<string, string | string[]> | undefined;
  headers: Record<string, string>;
  /** The signed header names, lowercase, deduplicated and sorted. */
  sortedNames: readonly string[];
  payloadHash: string;
}

export function canonicalRequest(c: CanonicalInput): string {
  let headerLines = '';
  for (let i = 0; i < c.sortedNames.length; i++) {
    const name = c.sortedNames[i]!;
    headerLines += `${name}:${foldValue(c.headers[name]!)}\n`;
  }
  const query = c.query === undefined ? '' : getCanonicalQuery({ query: c.query } as Parameters<typeof getCanonicalQuery>[0]);
  return `${c.method || 'GET'}\n${canonicalPath(c.rawPath)}\n${query}\n${headerLines}\n${c.sortedNames.join(';')}\n${c.payloadHash}`;
}

/** Anything the signer's folding (CR/LF to space, runs of spaces/tabs to one, one edge space off) would change. */
const NEEDS_FOLDING = /[\r\n\t]| {2}|^ | $/;

/** A header value as the signer canonicalises it. */
function foldValue(v: string): string {
  if (!NEEDS_FOLDING.test(v)) return v;
  return v.replace(/[\r\n]/g, ' ').replace(/[ \t]+/g, ' ').replace(/^ | $/g, '');
}

/** Only these characters leave a path unchanged through the signer's normalisation and encoding. */
const PLAIN_PATH = /^(?:\/[A-Za-z0-9_~@-]+)+$/;

/**
 * The signer's canonical path (uriEscapePath): empty and `.` segments dropped, `..` resolved,
 * then every character but the separators percent-encoded once more (`%40` becomes `%2540`).
 */
export function canonicalPath(rawPath: string): string {
  const path = rawPath ? (rawPath.charAt(0) !== '/' ? `/${rawPath}` : rawPath) : '/';
  // `/bench/@connections/abc`: no dots, escapes, empty segments or trailing slash, so nothing to
  // normalise, and only characters encodeURIComponent keeps, but `@`.
  if (PLAIN_PATH.test(path)) return path.indexOf('@') < 0 ? path : path.replace(/@/g, '%40');
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment.length === 0 || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const normalized = `${path.startsWith('/') ? '/' : ''}${segments.join('/')}${segments.length > 0 && path.endsWith('/') ? '/' : ''}`;
  return escapeUri(normalized).replace(/%2F/g, '/');
}

/** RFC 3986 encoding as the signer does it: encodeURIComponent plus `!'()*`. */
function escapeUri(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
}
