import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Counters } from './counters.js';
import type { LogLimiter } from './log-limiter.js';
import type { Logger } from './logger.js';
import { discardBody, readBody, type BodyRules } from '../shared/request-body.js';

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
  req: IncomingMessage;
  res: ServerResponse;
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
export function sendAdminJson(res: ServerResponse, status: number, value: unknown): void {
  if (res.headersSent) return;
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}

/** A refusal answered as `{"message"}` with its status. */
class AdminError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

interface CompiledRoute {
  route: AdminRoute;
  segments: string[];
}


/**
 * The admin listener: a plain HTTP server on its own host/port (metrics, health, the admin API
 * and dashboard), apart from the client port so it can stay on localhost or a private network.
 * Routes that need it are guarded by a bearer token, compared in constant time and checked
 * before a byte of body is read; without a configured token every such route is refused.
 * Bodies are bounded in size and time as on the management API. Every refusal has a JSON
 * answer, a counter (`adminRefused[status]`) and a rate-limited log line; a route that throws
 * is answered 500 and never takes the process down.
 */
export class AdminServer {
  private readonly server: Server;
  private readonly routes: CompiledRoute[];
  private readonly tokenHash: Buffer | undefined;
  /** How bodies are read: size limit, deadline, and what a missed deadline costs. */
  private readonly bodyRules: BodyRules;
  private boundPort = 0;

  constructor(private readonly opts: AdminServerOptions) {
    this.routes = opts.routes.map((route) => ({ route, segments: route.path.split('/').filter((s) => s !== '') }));
    this.tokenHash = opts.token === undefined ? undefined : sha256(opts.token);
    const timeoutMs = opts.bodyTimeoutMs ?? 10_000;
    this.bodyRules = {
      limit: opts.bodyBytes,
      timeoutMs,
      timedOut: (req) => {
        opts.counters.inc('rejected', 'limits.requestBodyTimeoutMs');
        opts.logLimiter.log('info', 'admin-body-timeout', { reason: 'limits.requestBodyTimeoutMs', timeoutMs, method: req.method, sourceIp: req.socket.remoteAddress }, 'admin request body not complete in time: connection closed');
      },
      tooLarge: () => new AdminError(413, `Request body is larger than the maximum of ${opts.bodyBytes} bytes`),
      incomplete: () => new AdminError(400, 'The request body was not complete when the connection closed'),
      timeout: () => new AdminError(408, `The request body was not complete within ${timeoutMs} ms`),
    };
    this.server = createServer({ headersTimeout: 10_000, requestTimeout: 60_000, keepAliveTimeout: 5_000 }, (req, res) => this.serve(req, res));
    this.server.on('clientError', (_err, socket) => {
      this.opts.counters.inc('adminRefused', 400);
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      else socket.destroy();
    });
    this.server.on('error', (err) => {
      // After listen(), errors are accept failures: logged, never fatal.
      if (this.server.listening) this.opts.logLimiter.log('warn', 'admin-accept', { err }, 'admin listener: accept failed');
    });
  }

  /** The bound port (after listen()). */
  get port(): number {
    return this.boundPort;
  }

  /** Starts listening; resolves with the bound port. */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen(this.opts.port, this.opts.host, () => {
        this.server.removeListener('error', onError);
        const addr = this.server.address();
        this.boundPort = typeof addr === 'object' && addr !== null ? addr.port : this.opts.port;
        resolve(this.boundPort);
      });
    });
  }

  /** Stops listening and drops open connections (keep-alive scrapers included). */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private serve(req: IncomingMessage, res: ServerResponse): void {
    this.dispatch(req, res).catch((err: unknown) => {
      if (err instanceof AdminError) {
        this.opts.counters.inc('adminRefused', err.status);
        this.opts.logLimiter.log('info', `admin-refused:${err.status}`, { method: req.method, path: pathOf(req.url), status: err.status, reason: err.message, sourceIp: req.socket.remoteAddress }, 'admin request refused');
        if (!res.headersSent) {
          for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
          sendAdminJson(res, err.status, { message: err.message });
        }
        return;
      }
      this.opts.counters.inc('internalErrors', 'admin');
      this.opts.logLimiter.log('error', 'admin-failed', { err, method: req.method, path: pathOf(req.url) }, 'admin request failed');
      if (!res.headersSent) sendAdminJson(res, 500, { message: 'Internal server error' });
      else res.destroy();
    });
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const target = req.url ?? '/';
    const q = target.indexOf('?');
    const rawPath = q === -1 ? target : target.slice(0, q);
    const rawQuery = q === -1 ? '' : target.slice(q + 1);
    const segments = rawPath.split('/').filter((s) => s !== '');

    let route: AdminRoute | undefined;
    let params: Record<string, string> | undefined;
    const allowed: string[] = [];
    for (const c of this.routes) {
      const p = match(c.segments, segments);
      if (p === null) continue;
      if (c.route.method !== method) {
        allowed.push(c.route.method);
        continue;
      }
      route = c.route;
      params = p;
      break;
    }
    if (route === undefined || params === undefined) {
      discardBody(req, this.bodyRules);
      if (allowed.length > 0) throw new AdminError(405, 'Method Not Allowed', { allow: [...new Set(allowed)].join(', ') });
      throw new AdminError(404, 'Not Found');
    }
    // Authenticate on the head alone: a caller without the token never gets its body read.
    if (route.auth && !this.authorized(req.headers.authorization)) {
      discardBody(req, this.bodyRules);
      throw new AdminError(401, 'Unauthorized', { 'www-authenticate': 'Bearer' });
    }
    let query: URLSearchParams;
    try {
      query = new URLSearchParams(rawQuery);
    } catch {
      throw new AdminError(400, 'Malformed query string');
    }
    const body = await readBody(req, res, this.bodyRules);
    await route.handle({ method, path: rawPath, params, query, body, req, res });
  }

  /** Constant-time comparison of `Bearer <token>` with the configured token (both hashed to equal length first). */
  private authorized(header: string | undefined): boolean {
    if (this.tokenHash === undefined || header === undefined) return false;
    const m = /^Bearer +(\S+) *$/i.exec(header);
    if (m === null) return false;
    return timingSafeEqual(sha256(m[1]!), this.tokenHash);
  }
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function pathOf(url: string | undefined): string {
  const target = url ?? '/';
  const q = target.indexOf('?');
  return (q === -1 ? target : target.slice(0, q)).slice(0, 256);
}

/** Matches raw segments against a pattern, percent-decoding captures; null when it does not match. */
function match(pattern: string[], segments: string[]): Record<string, string> | null {
  if (pattern.length !== segments.length) return null;
  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const s = segments[i]!;
    if (p.charCodeAt(0) === 58 /* : */) {
      let value: string;
      try {
        value = decodeURIComponent(s);
      } catch {
        throw new AdminError(400, `Malformed percent-encoding in path segment`);
      }
      if (value === '') return null;
      params[p.slice(1)] = value;
    } else if (p !== s) return null;
  }
  return params;
}
