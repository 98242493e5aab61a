import { request } from 'undici';
import type { HttpPool } from './http.js';
import { IntegrationRefused, IntegrationTimeout, type Integration } from './integration.js';

/** Handshake headers not forwarded to an HTTP_PROXY backend: hop-by-hop, WebSocket-specific, or describing a body it does not get. */
const NOT_FORWARDED = new Set(['host', 'connection', 'upgrade', 'content-length', 'transfer-encoding', 'keep-alive', 'te', 'trailer', 'proxy-connection', 'sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions']);

interface WsEvent {
  body?: string;
  isBase64Encoded?: boolean;
  headers?: Record<string, string>;
  requestContext: { connectionId: string; routeKey: string; eventType: string };
}

/**
 * AWS `HTTP_PROXY` integration: the client's message is POSTed to the backend as it came (the
 * raw body; a binary frame as bytes with `content-type: application/octet-stream`), and the
 * backend's body is the route response (binary when it answers `application/octet-stream`).
 * Unlike `http`, which POSTs the whole AWS event as JSON and expects a Lambda proxy response.
 *
 * AWS passes no connection id by default (it is mapped with RequestParameters); here it is
 * always sent as the `connectionId` header, with `x-amzn-route-key` / `x-amzn-event-type`.
 * `$connect` gets the handshake's headers (minus hop-by-hop and WebSocket ones) and an empty
 * body; a non-2xx answer refuses the handshake with that status, as a Lambda's would.
 * `$disconnect` gets an empty body. Sockets and queueing are the gateway's HTTP pool's
 * (`limits.httpIntegration*`), and answers are capped like `http` answers.
 */
export class HttpProxyIntegration implements Integration {
  readonly description: string;
  readonly kind = 'httpProxy';
  readonly abortable = true;
  private readonly origin: ReturnType<HttpPool['origin']>;

  constructor(
    private readonly url: string,
    private readonly pool: HttpPool,
    private readonly answerBytes: number,
    private readonly answerLimit: string,
  ) {
    this.description = `httpProxy ${url}`;
    this.origin = pool.origin(url);
  }

  start(event: object, timeoutMs: number, functionName: string, signal?: AbortSignal): unknown {
    return signal === undefined ? this.invoke(event, timeoutMs, functionName) : this.call(event as WsEvent, timeoutMs, signal);
  }

  invoke(event: object, timeoutMs: number, _functionName: string, signal?: AbortSignal): Promise<unknown> {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), timeoutMs);
    const forward = () => ac.abort();
    signal?.addEventListener('abort', forward, { once: true });
    return this.call(event as WsEvent, timeoutMs, ac.signal).finally(() => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', forward);
    });
  }

  private async call(event: WsEvent, timeoutMs: number, signal: AbortSignal): Promise<unknown> {
    if (signal.aborted) throw new IntegrationTimeout(timeoutMs);
    const wait = this.origin.acquire(signal, timeoutMs);
    if (wait !== undefined) await wait;
    try {
      return await this.send(event, timeoutMs, signal);
    } catch (err) {
      if (signal.aborted) throw new IntegrationTimeout(timeoutMs);
      throw err;
    } finally {
      this.origin.release();
    }
  }

  private async send(event: WsEvent, timeoutMs: number, signal: AbortSignal): Promise<unknown> {
    const ctx = event.requestContext;
    const headers: Record<string, string> = {};
    if (ctx.eventType === 'CONNECT' && event.headers) {
      for (const [k, v] of Object.entries(event.headers)) if (!NOT_FORWARDED.has(k.toLowerCase())) headers[k] = v;
    }
    headers.connectionId = ctx.connectionId;
    headers['x-amzn-route-key'] = ctx.routeKey;
    headers['x-amzn-event-type'] = ctx.eventType;
    let body: string | Buffer = '';
    if (ctx.eventType === 'MESSAGE' && event.body !== undefined) {
      body = event.isBase64Encoded ? Buffer.from(event.body, 'base64') : event.body;
      headers['content-type'] = event.isBase64Encoded ? 'application/octet-stream' : 'text/plain; charset=utf-8';
    }
    let res;
    try {
      res = await request(this.url, { method: 'POST', dispatcher: this.pool.agent, signal, headers, body, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') throw new IntegrationTimeout(timeoutMs);
      throw err;
    }
    const cap = this.answerBytes;
    const declared = res.headers['content-length'];
    if (typeof declared === 'string' && Number(declared) > cap) {
      res.body.destroy();
      throw this.tooLarge();
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > cap) {
        res.body.destroy();
        throw this.tooLarge();
      }
      chunks.push(chunk);
    }
    const bytes = Buffer.concat(chunks, size);
    const type = res.headers['content-type'];
    const binary = typeof type === 'string' && type.startsWith('application/octet-stream');
    if (size === 0) return { statusCode: res.statusCode };
    return binary ? { statusCode: res.statusCode, body: bytes.toString('base64'), isBase64Encoded: true } : { statusCode: res.statusCode, body: bytes.toString() };
  }

  private tooLarge(): IntegrationRefused {
    this.pool.refused(this.answerLimit, this.origin.name, `HTTP_PROXY integration answer refused: over ${this.answerLimit}`);
    return new IntegrationRefused(this.answerLimit, `HTTP_PROXY integration ${this.url} answered more than ${this.answerBytes} bytes (${this.answerLimit})`);
  }
}
