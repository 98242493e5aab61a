// The admin listener's HTTP thread (a worker_threads entry): it owns the listener's sockets and
// relays routed, authenticated requests to the gateway's thread (see admin-protocol.ts for why).
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import { discardBody, readBody, type BodyRules } from '../shared/request-body.js';
import { matchPath, type PathMatchOptions } from '../shared/path-match.js';
import type { AdminThreadConfig, FromAdminThread, ToAdminThread } from './admin-protocol.js';
import { sendAdminJson } from './admin-server.js';

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

function pathOf(url: string | undefined): string {
  const target = url ?? '/';
  const q = target.indexOf('?');
  return (q === -1 ? target : target.slice(0, q)).slice(0, 256);
}

/** Admin paths: literals as written; an empty capture does not match; malformed percent-encoding is a 400. */
const PATHS: PathMatchOptions = {
  encodedLiterals: false,
  emptyCapture: 'no-match',
  invalid: () => new AdminError(400, 'Malformed percent-encoding in path segment'),
};

/** Runs the admin HTTP server of `config`, talking to the gateway through `port`. */
function run(config: AdminThreadConfig, port: NonNullable<typeof parentPort>): void {
  const post = (m: FromAdminThread) => port.postMessage(m);
  const routes = config.routes.map((route, index) => ({ route, index, segments: route.path.split('/').filter((s) => s !== '') }));
  const tokenHash = config.tokenHash === undefined ? undefined : Buffer.from(config.tokenHash);
  const bodyRules: BodyRules = {
    limit: config.bodyBytes,
    timeoutMs: config.bodyTimeoutMs,
    timedOut: (req) => post({ type: 'bodyTimeout', method: req.method, sourceIp: req.socket.remoteAddress }),
    tooLarge: () => new AdminError(413, `Request body is larger than the maximum of ${config.bodyBytes} bytes`),
    incomplete: () => new AdminError(400, 'The request body was not complete when the connection closed'),
    timeout: () => new AdminError(408, `The request body was not complete within ${config.bodyTimeoutMs} ms`),
  };
  /** Requests the gateway is answering, by id. */
  const pending = new Map<number, ServerResponse>();
  let nextId = 1;

  /** Constant-time comparison of `Bearer <token>` with the configured token (both hashed to equal length first). */
  const authorized = (header: string | undefined): boolean => {
    if (tokenHash === undefined || header === undefined) return false;
    const m = /^Bearer +(\S+) *$/i.exec(header);
    if (m === null) return false;
    return timingSafeEqual(createHash('sha256').update(m[1]!).digest(), tokenHash);
  };

  const dispatch = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET';
    const target = req.url ?? '/';
    const q = target.indexOf('?');
    const rawPath = q === -1 ? target : target.slice(0, q);
    const rawQuery = q === -1 ? '' : target.slice(q + 1);
    const segments = rawPath.split('/').filter((s) => s !== '');
    let found: (typeof routes)[number] | undefined;
    let params: Record<string, string> | undefined;
    const allowed: string[] = [];
    for (const c of routes) {
      const p = matchPath(c.segments, segments, PATHS);
      if (p === null) continue;
      if (c.route.method !== method) {
        allowed.push(c.route.method);
        continue;
      }
      found = c;
      params = p;
      break;
    }
    if (found === undefined || params === undefined) {
      discardBody(req, bodyRules);
      if (allowed.length > 0) throw new AdminError(405, 'Method Not Allowed', { allow: [...new Set(allowed)].join(', ') });
      throw new AdminError(404, 'Not Found');
    }
    // Authenticate on the head alone: a caller without the token never gets its body read.
    if (found.route.auth && !authorized(req.headers.authorization)) {
      discardBody(req, bodyRules);
      throw new AdminError(401, 'Unauthorized', { 'www-authenticate': 'Bearer' });
    }
    const body = await readBody(req, res, bodyRules);
    if (res.destroyed) return; // the caller left while its body was read
    const id = nextId++;
    pending.set(id, res);
    res.on('close', () => pending.delete(id));
    // A copy of just the body's bytes (a pooled Buffer's whole backing store would be cloned).
    post({ type: 'request', id, route: found.index, method, path: rawPath, params, query: rawQuery, body: new Uint8Array(body) });
  };

  const server = createServer({ headersTimeout: 10_000, requestTimeout: 60_000, keepAliveTimeout: 5_000 }, (req, res) => {
    dispatch(req, res).catch((err: unknown) => {
      if (err instanceof AdminError) {
        post({ type: 'refused', status: err.status, reason: err.message, method: req.method, path: pathOf(req.url), sourceIp: req.socket.remoteAddress });
        if (!res.headersSent) {
          for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
          sendAdminJson(res, err.status, { message: err.message });
        }
        return;
      }
      post({ type: 'failed', message: err instanceof Error ? err.message : String(err), method: req.method, path: pathOf(req.url) });
      if (!res.headersSent) sendAdminJson(res, 500, { message: 'Internal server error' });
      else res.destroy();
    });
  });
  server.on('clientError', (_err, socket) => {
    post({ type: 'badRequest' });
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });
  server.on('error', (err: NodeJS.ErrnoException) => {
    // Before listening: the listener cannot start (the gateway's start fails). After: a failed accept, never fatal.
    if (server.listening) post({ type: 'acceptFailed', message: err.message, code: err.code });
    else {
      post({ type: 'listenFailed', message: err.message, code: err.code });
      port.close();
    }
  });
  server.listen(config.port, config.host, () => {
    const addr = server.address();
    post({ type: 'listening', port: typeof addr === 'object' && addr !== null ? addr.port : config.port });
  });

  port.on('message', (m: ToAdminThread) => {
    if (m.type === 'reply') {
      const res = pending.get(m.id);
      if (res === undefined) return; // the caller left
      pending.delete(m.id);
      if (res.headersSent) return;
      res.writeHead(m.status, m.headers);
      res.end(m.body);
    } else if (m.type === 'destroy') {
      pending.get(m.id)?.destroy();
      pending.delete(m.id);
    } else if (m.type === 'close') {
      server.close(() => {
        post({ type: 'closed' });
        port.close();
      });
      server.closeAllConnections();
    }
  });
}

if (parentPort !== null) run(workerData as AdminThreadConfig, parentPort);
