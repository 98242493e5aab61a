import { Agent, request } from 'undici';
import { IntegrationTimeout, type Integration } from './integration.js';

/** A backend answered with a non-2xx status (an HTTP authorizer's 401/403 mean Unauthorized/Forbidden). */
export class HttpStatusError extends Error {
  override name = 'HttpStatusError';
  constructor(
    readonly status: number,
    url: string,
  ) {
    super(`HTTP integration ${url} answered ${status}`);
  }
}

/** Keep-alive connections to HTTP backends, shared by every HTTP integration. */
const agent = new Agent({ keepAliveTimeout: 30_000, connections: 256 });

/**
 * HTTP integration: POSTs the AWS event as JSON to a backend in any language, which answers
 * a Lambda proxy response as JSON (or an authorizer's answer). A non-2xx status or a body that
 * is not JSON is an integration failure.
 */
export class HttpIntegration implements Integration {
  readonly description: string;

  constructor(private readonly url: string) {
    this.description = `http ${url}`;
  }

  start(event: object, timeoutMs: number, functionName: string): Promise<unknown> {
    return this.invoke(event, timeoutMs, functionName);
  }

  /** undici enforces the timeout itself (headers and body timeouts). */
  async invoke(event: object, timeoutMs: number, functionName: string): Promise<unknown> {
    let res;
    try {
      res = await request(this.url, {
        method: 'POST',
        dispatcher: agent,
        headers: { 'content-type': 'application/json', 'x-switchboard-function': functionName },
        body: JSON.stringify(event),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') throw new IntegrationTimeout(timeoutMs);
      throw err;
    }
    const text = await res.body.text();
    if (res.statusCode < 200 || res.statusCode > 299) throw new HttpStatusError(res.statusCode, this.url);
    if (text.trim() === '') return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new Error(`HTTP integration ${this.url} answered a body that is not JSON`);
    }
  }
}
