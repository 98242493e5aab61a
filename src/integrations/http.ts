import { Agent, request } from 'undici';
import type { Counters } from '../observability/counters.js';
import type { LogLimiter } from '../observability/log-limiter.js';
import { IntegrationRefused, IntegrationTimeout, type Integration } from './integration.js';

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

/** How a gateway's HTTP integrations reach their backends (`limits.httpIntegration*`). */
export interface HttpPoolOptions {
  /** Sockets to each backend origin at once (`limits.httpIntegrationConnections`). */
  connections: number;
  /** Calls that may wait for a socket, per backend origin (`limits.httpIntegrationQueue`). */
  queue: number;
  counters?: Counters | undefined;
  logLimiter?: LogLimiter | undefined;
}

/** A call waiting for a socket to its origin. */
interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
  signal: AbortSignal;
  onAbort: () => void;
}

/** The sockets in use and the calls waiting for one, for one backend origin. */
class Origin {
  active = 0;
  /** Insertion-ordered: the first waiter is served first; an aborted one leaves at once. */
  readonly waiting = new Set<Waiter>();

  constructor(
    readonly name: string,
    private readonly pool: HttpPool,
  ) {}

  /**
   * Takes a socket slot: at once when one is free (returns undefined, no promise), else a
   * promise that resolves when one frees up. Refuses at once when the queue is full; a waiter
   * whose signal fires (its deadline) leaves the queue and is never sent.
   */
  acquire(signal: AbortSignal, timeoutMs: number): Promise<void> | undefined {
    const { connections, queue } = this.pool.options;
    if (this.pool.closed) throw new Error('HTTP integration pool closed: the gateway is shutting down');
    if (this.active < connections) {
      this.active++;
      return undefined;
    }
    if (this.waiting.size >= queue) {
      this.pool.refused('limits.httpIntegrationQueue', this.name, 'HTTP integration call refused: every socket to the backend is busy and the queue is full');
      throw new IntegrationRefused('limits.httpIntegrationQueue', `HTTP integration ${this.name}: ${connections} sockets busy and ${queue} calls waiting`);
    }
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          if (this.waiting.delete(w)) reject(new IntegrationTimeout(timeoutMs));
        },
      };
      this.waiting.add(w);
      signal.addEventListener('abort', w.onAbort, { once: true });
    });
  }

  /** Frees a slot and hands it to the first waiter still within its deadline. */
  release(): void {
    this.active--;
    for (const w of this.waiting) {
      this.waiting.delete(w);
      w.signal.removeEventListener('abort', w.onAbort);
      if (w.signal.aborted) continue; // its deadline passed: never sent
      this.active++;
      w.resolve();
      return;
    }
  }

  /** Fails every waiter (the gateway is closing). */
  drain(): void {
    for (const w of this.waiting) {
      w.signal.removeEventListener('abort', w.onAbort);
      w.reject(new Error('HTTP integration pool closed: the gateway is shutting down'));
    }
    this.waiting.clear();
  }
}

/**
 * The HTTP client of one gateway: a keep-alive undici Agent with at most `connections` sockets
 * per backend origin, and in front of it a bounded queue per origin that Switchboard owns, so
 * a call is refused at once when the backend is saturated and a call whose deadline passed
 * while it waited is dropped, never sent late. Closed with the gateway.
 */
export class HttpPool {
  readonly agent: Agent;
  closed = false;
  private readonly origins = new Map<string, Origin>();

  constructor(readonly options: HttpPoolOptions) {
    this.agent = new Agent({ keepAliveTimeout: 30_000, connections: options.connections });
  }

  /** The slot keeper for a backend URL's origin. */
  origin(url: string): Origin {
    const name = new URL(url).origin;
    let o = this.origins.get(name);
    if (o === undefined) this.origins.set(name, (o = new Origin(name, this)));
    return o;
  }

  /** Counts a refusal under its config key and logs it, rate-limited per cause and origin. */
  refused(limit: string, origin: string, msg: string): void {
    this.options.counters?.inc('rejected', limit);
    this.options.logLimiter?.log('warn', `${limit}:${origin}`, { origin, limit }, msg);
  }

  /** Fails waiting calls and destroys every socket (in-flight calls are cancelled). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const o of this.origins.values()) o.drain();
    await this.agent.destroy();
  }
}

/**
 * HTTP integration: POSTs the AWS event as JSON to a backend in any language, which answers
 * a Lambda proxy response as JSON (or an authorizer's answer). A non-2xx status or a body that
 * is not JSON is an integration failure.
 */
export class HttpIntegration implements Integration {
  readonly description: string;
  readonly kind = 'http';
  readonly abortable = true;
  private readonly origin: Origin;

  /**
   * @param answerBytes largest answer read from the backend; beyond it the response is destroyed
   *   and the call fails (`answerLimit` names the config key it comes from, for the counter).
   */
  constructor(
    private readonly url: string,
    private readonly pool: HttpPool,
    private readonly answerBytes: number,
    private readonly answerLimit: string,
  ) {
    this.description = `http ${url}`;
    this.origin = pool.origin(url);
  }

  /** The caller enforces the deadline by aborting `signal` (the message path's sweeper does); without one, `invoke`. */
  start(event: object, timeoutMs: number, functionName: string, signal?: AbortSignal): unknown {
    return signal === undefined ? this.invoke(event, timeoutMs, functionName) : this.call(event, timeoutMs, functionName, signal);
  }

  /** `timeoutMs` is a deadline for the whole call (queue, headers and body): at it the request is cancelled. */
  invoke(event: object, timeoutMs: number, functionName: string, signal?: AbortSignal): Promise<unknown> {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), timeoutMs);
    const forward = () => ac.abort();
    signal?.addEventListener('abort', forward, { once: true });
    return this.call(event, timeoutMs, functionName, ac.signal).finally(() => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', forward);
    });
  }

  private async call(event: object, timeoutMs: number, functionName: string, signal: AbortSignal): Promise<unknown> {
    if (signal.aborted) throw new IntegrationTimeout(timeoutMs);
    const wait = this.origin.acquire(signal, timeoutMs);
    if (wait !== undefined) await wait;
    try {
      return await this.send(event, timeoutMs, functionName, signal);
    } catch (err) {
      // A cancelled call fails as the timeout it is, whatever undici calls it.
      if (signal.aborted) throw new IntegrationTimeout(timeoutMs);
      throw err;
    } finally {
      this.origin.release();
    }
  }

  private async send(event: object, timeoutMs: number, functionName: string, signal: AbortSignal): Promise<unknown> {
    let res;
    try {
      res = await request(this.url, {
        method: 'POST',
        dispatcher: this.pool.agent,
        signal,
        headers: { 'content-type': 'application/json', 'x-switchboard-function': functionName },
        body: JSON.stringify(event),
        // Backstops only: the signal enforces the deadline of the whole call.
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') throw new IntegrationTimeout(timeoutMs);
      throw err;
    }
    if (res.statusCode < 200 || res.statusCode > 299) {
      await res.body.dump({ limit: 65_536 }).catch(() => {});
      throw new HttpStatusError(res.statusCode, this.url);
    }
    const text = await this.read(res.body, res.headers['content-length']);
    if (text.trim() === '') return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new Error(`HTTP integration ${this.url} answered a body that is not JSON`);
    }
  }

  /** Reads the answer up to `answerBytes`: a declared or streamed answer beyond it is never read into memory. */
  private async read(body: AsyncIterable<Buffer> & { destroy(): unknown }, contentLength: string | string[] | undefined): Promise<string> {
    const cap = this.answerBytes;
    if (typeof contentLength === 'string' && Number(contentLength) > cap) {
      body.destroy();
      throw this.tooLarge(`declares ${contentLength} bytes`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of body) {
      size += chunk.length;
      if (size > cap) {
        body.destroy();
        throw this.tooLarge(`sent more than ${cap} bytes`);
      }
      chunks.push(chunk);
    }
    return chunks.length === 1 ? chunks[0]!.toString() : Buffer.concat(chunks, size).toString();
  }

  private tooLarge(what: string): IntegrationRefused {
    this.pool.refused(this.answerLimit, this.origin.name, `HTTP integration answer refused: over ${this.answerLimit}`);
    return new IntegrationRefused(this.answerLimit, `HTTP integration ${this.url} answer ${what}, over ${this.answerLimit} (${this.answerBytes} bytes)`);
  }
}
