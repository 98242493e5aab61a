import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Reply } from '../shared/reply.js';
import { workerEntry } from '../shared/worker-entry.js';
import type { AdminThreadConfig, FromAdminThread, ToAdminThread } from './admin-protocol.js';
import type { Counters } from './counters.js';
import type { LogLimiter } from './log-limiter.js';
import type { Logger } from './logger.js';

/** One admin request, routed (and authenticated when its route asks for it). */
export interface AdminRequest {
  method: string;
  /** The raw path (still percent-encoded). */
  path: string;
  /** Path parameters, percent-decoded. */
  params: Record<string, string>;
  query: URLSearchParams;
  /** The whole body (bounded by `bodyBytes`); empty for bodiless requests. */
  body: Buffer;
  /** Where the answer goes (relayed to the listener's HTTP thread). */
  res: Reply;
}

/** A route of the admin listener. */
export interface AdminRoute {
  method: string;
  /** '/api/connections/:id' style; ':name' captures one segment, percent-decoded */
  path: string;
  /** true: requires `Authorization: Bearer <admin.token>` (constant-time compare; 401 JSON {"message":"Unauthorized"} when missing/wrong; every auth route is refused when no token is configured) */
  auth: boolean;
  handle(r: AdminRequest): void | Promise<void>;
}

export interface AdminServerOptions {
  host: string;
  port: number;
  token: string | undefined;
  routes: AdminRoute[];
  logger: Logger;
  logLimiter: LogLimiter;
  counters: Counters;
  /** largest request body, bytes */
  bodyBytes: number;
  /** Time a request has to deliver its whole body once its head is in; default 10 s (as `limits.requestBodyTimeoutMs`). */
  bodyTimeoutMs?: number;
}

/** JSON answer helper */
export function sendAdminJson(res: Reply, status: number, value: unknown): void {
  if (res.headersSent) return;
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}

/** The HTTP thread's module next to this one: `.js` when compiled, `.ts` when run from sources (tsx). */
const here = fileURLToPath(import.meta.url);
const THREAD = path.join(path.dirname(here), `admin-thread${path.extname(here)}`);

/** How long `close()` waits for the thread to close its connections before ending it. */
const CLOSE_WAIT_MS = 2000;
/** Pause before a thread that ended unexpectedly is started again on the same port. */
const RESTART_MS = 1000;

/** An answer relayed to the HTTP thread: collected, then sent in one message at `end()`. */
class RelayedReply implements Reply {
  headersSent = false;
  private status = 200;
  private readonly headers: Record<string, string | number> = {};
  private done = false;

  constructor(
    private readonly send: (m: ToAdminThread) => void,
    private readonly id: number,
  ) {}

  setHeader(name: string, value: string | number): void {
    if (!this.headersSent) this.headers[name.toLowerCase()] = value;
  }

  writeHead(status: number, headers: Record<string, string | number> = {}): void {
    if (this.headersSent) return;
    this.status = status;
    for (const [k, v] of Object.entries(headers)) this.headers[k.toLowerCase()] = v;
    this.headersSent = true;
  }

  end(body?: string | Uint8Array): void {
    if (this.done) return;
    this.done = this.headersSent = true;
    this.send({ type: 'reply', id: this.id, status: this.status, headers: this.headers, body });
  }

  destroy(): void {
    if (this.done) return;
    this.done = this.headersSent = true;
    this.send({ type: 'destroy', id: this.id });
  }
}

/**
 * The admin listener: an HTTP server on its own host/port (metrics, health, the admin API and
 * dashboard), apart from the client port so it can stay on localhost or a private network.
 * Its sockets live on a thread of their own (admin-protocol.ts says why); handlers run here, on
 * the gateway's thread, so `/health` answers only while this thread does.
 * Routes that need it are guarded by a bearer token, compared in constant time and checked
 * before a byte of body is read; without a configured token every such route is refused.
 * Bodies are bounded in size and time as on the management API. Every refusal has a JSON
 * answer, a counter (`adminRefused[status]`) and a rate-limited log line; a route that throws
 * is answered 500 and never takes the process down. If the thread ever ends unexpectedly it is
 * counted (`internalErrors[admin-thread]`), logged, and started again on the same port.
 */
export class AdminServer {
  private readonly config: AdminThreadConfig;
  private worker: Worker | undefined;
  private boundPort = 0;
  private closing = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private onClosed: (() => void) | undefined;

  constructor(private readonly opts: AdminServerOptions) {
    this.config = {
      host: opts.host,
      port: opts.port,
      tokenHash: opts.token === undefined ? undefined : new Uint8Array(createHash('sha256').update(opts.token).digest()),
      routes: opts.routes.map(({ method, path, auth }) => ({ method, path, auth })),
      bodyBytes: opts.bodyBytes,
      bodyTimeoutMs: opts.bodyTimeoutMs ?? 10_000,
    };
  }

  /** The bound port (after listen()). */
  get port(): number {
    return this.boundPort;
  }

  /** Starts the HTTP thread and its listener; resolves with the bound port. */
  listen(): Promise<number> {
    return this.start(this.config);
  }

  /** Stops listening and drops open connections (keep-alive scrapers included); ends the thread. */
  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.restartTimer);
    const worker = this.worker;
    if (worker === undefined) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, CLOSE_WAIT_MS);
      this.onClosed = () => {
        clearTimeout(timer);
        resolve();
      };
      worker.once('exit', this.onClosed);
      worker.postMessage({ type: 'close' } satisfies ToAdminThread);
    });
    await worker.terminate();
    this.worker = undefined;
  }

  private start(config: AdminThreadConfig): Promise<number> {
    const { entry, eval: isEval } = workerEntry(THREAD);
    const worker = new Worker(entry, { eval: isEval, workerData: config });
    this.worker = worker;
    const send = (m: ToAdminThread) => worker.postMessage(m);
    return new Promise<number>((resolve, reject) => {
      let started = false;
      worker.on('message', (m: FromAdminThread) => {
        if (m.type === 'request') this.serve(m, send);
        else if (m.type === 'listening') {
          started = true;
          this.boundPort = m.port;
          resolve(m.port);
        } else if (m.type === 'listenFailed') reject(Object.assign(new Error(m.message), { code: m.code }));
        else if (m.type === 'closed') this.onClosed?.();
        else this.event(m);
      });
      worker.on('error', (err) => {
        if (!started) return reject(err);
        this.opts.counters.inc('internalErrors', 'admin-thread');
        this.opts.logLimiter.log('error', 'admin-thread', { err }, 'admin listener thread failed');
      });
      worker.on('exit', (code) => {
        if (!started) {
          if (this.worker === worker) this.worker = undefined; // nothing left for close() to wait for
          return reject(new Error(`the admin listener's thread exited (code ${code}) before it listened`));
        }
        if (this.closing || this.worker !== worker) return;
        this.worker = undefined;
        this.opts.counters.inc('internalErrors', 'admin-thread');
        this.opts.logLimiter.log('error', 'admin-thread-exit', { code, restartInMs: RESTART_MS }, 'admin listener thread ended: starting it again');
        this.restartTimer = setTimeout(() => this.restart(), RESTART_MS);
        this.restartTimer.unref();
      });
    });
  }

  /** Starts the thread again on the port it had (the address clients and scrapers know). */
  private restart(): void {
    if (this.closing) return;
    this.start({ ...this.config, port: this.boundPort }).catch((err: unknown) => {
      this.opts.counters.inc('internalErrors', 'admin-thread');
      this.opts.logLimiter.log('error', 'admin-thread-restart', { err }, 'admin listener thread could not start again: retrying');
      if (this.worker !== undefined) void this.worker.terminate();
      this.worker = undefined;
      if (this.closing) return;
      this.restartTimer = setTimeout(() => this.restart(), RESTART_MS);
      this.restartTimer.unref();
    });
  }

  /** Runs a request's handler; a handler that throws is answered 500, or cut off once its head went out. */
  private serve(m: Extract<FromAdminThread, { type: 'request' }>, send: (m: ToAdminThread) => void): void {
    const route = this.opts.routes[m.route]!;
    const res = new RelayedReply(send, m.id);
    const body = Buffer.from(m.body.buffer, m.body.byteOffset, m.body.byteLength);
    const fail = (err: unknown) => {
      this.opts.counters.inc('internalErrors', 'admin');
      this.opts.logLimiter.log('error', 'admin-failed', { err, method: m.method, path: m.path.slice(0, 256) }, 'admin request failed');
      if (!res.headersSent) sendAdminJson(res, 500, { message: 'Internal server error' });
      else res.destroy();
    };
    try {
      const done = route.handle({ method: m.method, path: m.path, params: m.params, query: new URLSearchParams(m.query), body, res });
      if (done instanceof Promise) done.catch(fail);
    } catch (err) {
      fail(err);
    }
  }

  /** Counts and logs what the HTTP thread refused or met. */
  private event(m: Exclude<FromAdminThread, { type: 'request' | 'listening' | 'listenFailed' | 'closed' }>): void {
    const { counters, logLimiter } = this.opts;
    switch (m.type) {
      case 'refused':
        counters.inc('adminRefused', m.status);
        logLimiter.log('info', `admin-refused:${m.status}`, { method: m.method, path: m.path, status: m.status, reason: m.reason, sourceIp: m.sourceIp }, 'admin request refused');
        break;
      case 'bodyTimeout':
        counters.inc('rejected', 'limits.requestBodyTimeoutMs');
        logLimiter.log('info', 'admin-body-timeout', { reason: 'limits.requestBodyTimeoutMs', timeoutMs: this.config.bodyTimeoutMs, method: m.method, sourceIp: m.sourceIp }, 'admin request body not complete in time: connection closed');
        break;
      case 'badRequest':
        counters.inc('adminRefused', 400);
        break;
      case 'acceptFailed':
        logLimiter.log('warn', 'admin-accept', { err: { message: m.message, code: m.code } }, 'admin listener: accept failed');
        break;
      case 'failed':
        counters.inc('internalErrors', 'admin');
        logLimiter.log('error', 'admin-failed', { err: { message: m.message }, method: m.method, path: m.path }, 'admin request failed');
        break;
    }
  }
}
