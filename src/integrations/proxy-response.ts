/**
 * The Lambda proxy response contract: `{ statusCode, headers?, multiValueHeaders?, body?,
 * isBase64Encoded? }`. Anything else is malformed (AWS: "Internal server error" on message
 * routes, 502 on $connect), with one addition: a `switchboard` key carrying our directives.
 */
export interface ProxyResult {
  statusCode: number;
  headers?: Record<string, string>;
  body?: string;
  isBase64Encoded?: boolean;
  /** Switchboard's extensions in a handler answer (principal, groups); validated by whoever uses them. */
  switchboard?: unknown;
}

/** A backend answer that breaks the proxy response contract; the message says how. */
export class MalformedResponse extends Error {
  override name = 'MalformedResponse';
}

const ALLOWED = new Set(['statusCode', 'headers', 'multiValueHeaders', 'body', 'isBase64Encoded', 'switchboard', 'cookies']);
const OK: ProxyResult = Object.freeze({ statusCode: 200 }) as ProxyResult;

/**
 * Reads what an integration returned. `undefined`/`null` count as 200 with no body (what a
 * handler that returns nothing means); a bare string is the body.
 */
export function toProxyResult(raw: unknown): ProxyResult {
  if (raw === undefined || raw === null) return OK;
  if (typeof raw === 'string') return { statusCode: 200, body: raw };
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new MalformedResponse(`expected an object, got ${Array.isArray(raw) ? 'an array' : typeof raw}`);
  const r = raw as Record<string, unknown>;
  for (const k in r) if (!ALLOWED.has(k)) throw new MalformedResponse(`unexpected key "${k}" in the proxy response`);
  const statusCode = r.statusCode === undefined ? 200 : r.statusCode;
  if (typeof statusCode !== 'number' || !Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) {
    throw new MalformedResponse(`statusCode must be an integer from 100 to 599, got ${JSON.stringify(r.statusCode)}`);
  }
  if (r.body !== undefined && r.body !== null && typeof r.body !== 'string') throw new MalformedResponse(`body must be a string, got ${typeof r.body}`);
  let headers = r.headers as Record<string, string> | undefined;
  if (headers !== undefined && headers !== null) {
    if (typeof headers !== 'object' || Array.isArray(headers)) throw new MalformedResponse('headers must be an object');
    let copy: Record<string, string> | undefined;
    for (const [k, v] of Object.entries(headers as Record<string, unknown>)) {
      if (typeof v === 'string') continue;
      if (typeof v !== 'number' && typeof v !== 'boolean') throw new MalformedResponse(`header "${k}" must be a string`);
      (copy ??= { ...headers })[k] = String(v);
    }
    if (copy) headers = copy;
  }
  // The common answer ({ statusCode, body }) is already what callers need: no copy per message.
  if (statusCode === r.statusCode && headers === r.headers && (r.body === undefined || typeof r.body === 'string') && (r.isBase64Encoded === undefined || typeof r.isBase64Encoded === 'boolean')) {
    return r as unknown as ProxyResult;
  }
  const out: ProxyResult = { statusCode };
  if (headers) out.headers = headers;
  if (typeof r.body === 'string') out.body = r.body;
  if (r.isBase64Encoded === true) out.isBase64Encoded = true;
  if (r.switchboard !== undefined) out.switchboard = r.switchboard;
  return out;
}
