import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { request, type Dispatcher } from 'undici';
import { SwitchboardError } from './errors.js';
import type { CredentialProvider, Credentials } from './types.js';

/** Where and how to sign: the parts of the client's options the transport needs. */
export interface SignedHttpOptions {
  endpoint: string;
  region: string;
  credentials: Credentials | CredentialProvider;
  /** An admin token: `endpoint` is then the admin listener, calls go to its `/api/…` with `Authorization: Bearer`, unsigned. */
  token?: string | undefined;
  dispatcher?: Dispatcher | undefined;
  timeoutMs: number;
}

/** A successful answer: the status and the body as text (empty for 204). */
export interface HttpAnswer {
  status: number;
  body: string;
}

/**
 * RFC 3986 percent-encoding, as SigV4 and the AWS SDKs use it: `encodeURIComponent` plus
 * `! ' ( ) *`. A space is `%20`, never `+` (the gateway reads `+` as a plus when it verifies).
 */
export function encode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * Builds a path below the stage from a template, percent-encoding each interpolated value as
 * one path segment: path`@principals/${id}/connections`. Literal parts are sent as written.
 */
export function path(strings: TemplateStringsArray, ...values: string[]): string {
  let out = strings[0]!;
  values.forEach((v, i) => (out += encode(v) + strings[i + 1]!));
  return out;
}

/** Parses an endpoint like the AWS SDK's (`http://host:port/dev`, trailing slash tolerated) into origin and base path. */
export function parseEndpoint(endpoint: string): { origin: string; host: string; hostname: string; port: number | undefined; protocol: string; basePath: string } {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new TypeError(`Invalid endpoint "${endpoint}": expected a URL like http://127.0.0.1:8080/dev`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`Invalid endpoint "${endpoint}": expected http:// or https://`);
  if (url.search || url.hash) throw new TypeError(`Invalid endpoint "${endpoint}": no query or fragment expected`);
  const basePath = url.pathname.replace(/\/+$/, '');
  return { origin: url.origin, host: url.host, hostname: url.hostname, port: url.port ? Number(url.port) : undefined, protocol: url.protocol, basePath };
}

/**
 * Authenticated HTTP to the management endpoint: SigV4 for service `execute-api` (as the AWS SDK
 * signs PostToConnection), or, given an admin token, the admin listener's `/api/…` with a
 * Bearer token (the same operations: `@connections/…` becomes `api/connections/…`); undici for
 * the wire. Non-2xx answers throw a SwitchboardError.
 */
export class SignedHttp {
  private readonly signer: SignatureV4 | undefined;
  private readonly target: ReturnType<typeof parseEndpoint>;

  constructor(private readonly opts: SignedHttpOptions) {
    this.target = parseEndpoint(opts.endpoint);
    if (opts.token === undefined) this.signer = new SignatureV4({ credentials: opts.credentials, region: opts.region, service: 'execute-api', sha256: Hash.bind(null, 'sha256') });
  }

  /** The endpoint's base path (the stage, usually `/dev`). */
  get basePath(): string {
    return this.target.basePath;
  }

  /**
   * Sends one call. `subPath` is the path after the stage, already encoded (see {@link path});
   * `query` entries with undefined values are left out.
   */
  async send(method: string, subPath: string, query: Record<string, string | number | undefined> = {}, body?: string | Uint8Array): Promise<HttpAnswer> {
    const fullPath = this.signer ? `${this.target.basePath}/${subPath}` : `${this.target.basePath}/api/${subPath.slice(1)}`; // subPath starts with its literal `@`
    const q: Record<string, string> = {};
    for (const [k, v] of Object.entries(query)) if (v !== undefined) q[k] = String(v);
    const queryString = Object.keys(q)
      .sort()
      .map((k) => `${encode(k)}=${encode(q[k]!)}`)
      .join('&');
    const payload = body === undefined ? undefined : typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    const headers: Record<string, string> = { host: this.target.host };
    if (payload !== undefined) {
      headers['content-type'] = 'application/octet-stream';
      headers['content-length'] = String(payload.length);
    }
    const signed = this.signer
      ? await this.signer.sign(new HttpRequest({ method, protocol: this.target.protocol, hostname: this.target.hostname, port: this.target.port, path: fullPath, query: q, headers, body: payload ?? '' }))
      : { headers: { ...headers, authorization: `Bearer ${this.opts.token}` } };
    const res = await request(`${this.target.origin}${fullPath}${queryString ? `?${queryString}` : ''}`, {
      method: method as Dispatcher.HttpMethod,
      headers: signed.headers,
      body: payload,
      dispatcher: this.opts.dispatcher,
      headersTimeout: this.opts.timeoutMs,
      bodyTimeout: this.opts.timeoutMs,
    });
    const text = await res.body.text();
    if (res.statusCode >= 200 && res.statusCode < 300) return { status: res.statusCode, body: text };
    throw SwitchboardError.fromResponse(res.statusCode, header(res.headers['x-amzn-errortype']), text, header(res.headers['x-amzn-requestid']));
  }

  /** Sends one call and parses its JSON answer. */
  async json<T>(method: string, subPath: string, query?: Record<string, string | number | undefined>, body?: string | Uint8Array): Promise<T> {
    const answer = await this.send(method, subPath, query, body);
    try {
      return JSON.parse(answer.body) as T;
    } catch {
      throw new SwitchboardError('InvalidResponse', answer.status, `Expected a JSON answer, got: ${answer.body.slice(0, 200)}`);
    }
  }
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
