import { request as httpRequest } from 'node:http';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Gateway } from '../../src/index.js';
import { CREDS } from './gateway.js';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json(): any;
}

const signer = new SignatureV4({ credentials: { ...CREDS }, region: 'us-east-1', service: 'execute-api', sha256: Hash.bind(null, 'sha256') });

/**
 * A SigV4-signed management call, as any AWS SDK would send it. `path` is relative to the
 * stage (`/@groups/g`), may carry a query string, and is sent exactly as given.
 */
export async function call(gw: Gateway, method: string, path: string, body?: string | Buffer): Promise<RawResponse> {
  const full = `/${gw.stage}${path}`;
  const q = full.indexOf('?');
  const query: Record<string, string> = {};
  if (q !== -1) for (const part of full.slice(q + 1).split('&')) {
    const [k, v = ''] = part.split('=');
    query[decodeURIComponent(k!)] = decodeURIComponent(v);
  }
  const pathOnly = q === -1 ? full : full.slice(0, q);
  const signed = await signer.sign(new HttpRequest({ method, hostname: '127.0.0.1', port: gw.port, path: pathOnly, query, headers: { host: `127.0.0.1:${gw.port}` }, body: body ?? '' }));
  const headers = { ...(signed.headers as Record<string, string>), ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}) };
  return send(gw, method, full, headers, body);
}

/**
 * An unsigned management call with the path and query sent byte for byte as given (for a
 * gateway with `management.auth: none`): reaches inputs no signer produces, such as a query
 * value that is not valid UTF-8.
 */
export function unsigned(gw: Gateway, method: string, path: string, body?: string | Buffer): Promise<RawResponse> {
  return send(gw, method, `/${gw.stage}${path}`, body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}, body);
}

function send(gw: Gateway, method: string, full: string, headers: Record<string, string>, body?: string | Buffer): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: gw.port, method, path: full, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        resolve({ status: res.statusCode!, headers: res.headers, body: text, json: () => JSON.parse(text) });
      });
    });
    req.on('error', reject);
    // A management call must always be answered: one that hangs fails here, naming itself.
    req.setTimeout(15_000, () => req.destroy(new Error(`no answer to ${method} ${full} within 15 s`)));
    req.end(body);
  });
}
