import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Counters } from '../observability/counters.js';
import { FdWatch } from '../observability/fd-watch.js';
import type { LogLimiter } from '../observability/log-limiter.js';
import { limitFrames } from './frame-limit.js';

/** Listening options and the two entry points the gateway provides. */
export interface TransportOptions {
  host: string;
  port: number;
  /** Largest message in bytes (close 1009 beyond). */
  messageBytes: number;
  /** Largest frame in bytes (close 1009 beyond). */
  frameBytes: number;
  /** A WebSocket upgrade request arrived (the gateway runs authorizer and $connect, then accepts or rejects). */
  onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** A plain HTTP request arrived (management API, 426 for the WebSocket URL). */
  onRequest(req: IncomingMessage, res: ServerResponse): void;
  /** Where requests that are not HTTP at all are reported. */
  logger: Logger;
  /** Where refusals are counted. */
  counters: Counters;
  /** Rate-limited logging for what a client can repeat. */
  logLimiter: LogLimiter;
  /** `limits.handshakeTimeoutMs`: time a new TCP connection has to send a complete request head. */
  handshakeTimeoutMs: number;
  /** `tls`: PEM certificate (chain) and key; the port then serves `wss://` and `https://` only. */
  tls?: { cert: string | Buffer; key: string | Buffer };
}

interface Acceptance {
  protocol: string | undefined;
  headers: string[];
}

/**
 * The WebSocket server: `ws` on a `node:http` server (`node:https` with `tls`), one port for
 * clients and management calls (as on AWS). It knows nothing about routes; the gateway decides per upgrade whether
 * to accept (with the headers and subprotocol $connect chose) or reject with a status.
 */
export class Transport {
  readonly server: Server;
  private readonly wss: WebSocketServer;
  private readonly accepting = new WeakMap<IncomingMessage, Acceptance>();
  private readonly fdWatch: FdWatch;

  constructor(private readonly opts: TransportOptions) {
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: opts.messageBytes,
      // The subprotocol is whatever $connect answered in Sec-WebSocket-Protocol (AWS does not negotiate).
      handleProtocols: (_protocols, req) => this.accepting.get(req)?.protocol ?? false,
    });
    this.wss.on('headers', (headers, req) => {
      const a = this.accepting.get(req);
      if (a) headers.push(...a.headers);
    });
    const deadline = opts.handshakeTimeoutMs;
    const httpOptions: ServerOptions = {
      keepAliveTimeout: 65_000,
      // The handshake deadline is Node's own head deadline. On Node 20 it is measured from
      // the connection for a socket that sends nothing and from the first byte of each request
      // head; a socket leaves its list once the head is complete or upgraded, so a running
      // $connect is never cut by it. The check runs every quarter deadline (at most 1 s late).
      headersTimeout: deadline,
      requestTimeout: Math.max(300_000, deadline),
      connectionsCheckingInterval: Math.max(25, Math.min(1000, Math.floor(deadline / 4))),
    };
    // With TLS the same deadline also bounds the TLS handshake (before any HTTP byte).
    const create = opts.tls
      ? (listener: (req: IncomingMessage, res: ServerResponse) => void) => createTlsServer({ ...httpOptions, cert: opts.tls!.cert, key: opts.tls!.key, handshakeTimeout: deadline }, listener) as unknown as Server
      : (listener: (req: IncomingMessage, res: ServerResponse) => void) => createServer(httpOptions, listener);
    this.server = create(
      (req, res) => {
        const sock = req.socket as Socket & { [REPARSED]?: string[] };
        const original = sock[REPARSED];
        if (original !== undefined) {
          // The handler sees the head as the client sent it (the upgrade offer included).
          sock[REPARSED] = undefined;
          restoreConnectionHeader(req, original);
        }
        opts.onRequest(req, res);
      },
    );
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (isWebSocketUpgrade(req)) opts.onUpgrade(req, socket, head);
      else this.reparse(req, socket as Socket, head);
    });
    this.server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => this.onClientError(err, socket as Socket));
    // TLS that never completes (a plain ws:// or http:// client, a stalled or bad handshake) is
    // dropped by Node; counted and logged here.
    if (opts.tls) this.server.on('tlsClientError', (err: Error & { code?: string }, socket: Duplex) => this.onTlsError(err, socket as Socket));
    // After listen(), errors are accept failures (EMFILE when out of descriptors): never fatal.
    this.server.on('error', (err: Error & { code?: string; syscall?: string }) => this.onServerError(err));
    this.fdWatch = new FdWatch(opts.logLimiter, opts.counters);
    const server = this.server as Server & { _connections: number };
    this.server.on('connection', () => this.fdWatch.onConnection(server._connections));
  }

  /**
   * A request with an `Upgrade` other than websocket (h2c from the JDK's HttpClient or curl):
   * HTTP lets a server ignore the offer, so it is served as the ordinary request it also is.
   * Node has already parsed the head as an upgrade and kept the body back, so the head is
   * rebuilt without the `upgrade` token in Connection, put back in front of the unread bytes,
   * and the socket is handed to the HTTP server again as a new connection (keep-alive works).
   */
  private reparse(req: IncomingMessage, socket: Socket, head: Buffer): void {
    // A pipelined earlier response still being written goes first.
    const pending = (socket as { _httpMessage?: ServerResponse | null })._httpMessage;
    if (pending) {
      pending.once('finish', () => setImmediate(() => this.reparse(req, socket, head)));
      return;
    }
    if (socket.destroyed) return;
    if ((socket as Socket & { [REPARSED]?: string[] })[REPARSED] !== undefined) {
      // The rebuilt head was taken for an upgrade again (a Connection token this did not strip): never loop.
      this.opts.counters.inc('badRequests', 400);
      socket.destroy();
      return;
    }
    const raw = req.rawHeaders;
    let text = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      let value = raw[i + 1]!;
      if (name.toLowerCase() === 'connection') {
        value = value
          .split(',')
          .map((t) => t.trim())
          .filter((t) => t !== '' && t.toLowerCase() !== 'upgrade')
          .join(', ');
        if (value === '') continue;
      }
      text += `${name}: ${value}\r\n`;
    }
    text += '\r\n';
    (socket as Socket & { [REPARSED]?: string[] })[REPARSED] = raw;
    socket.unshift(head.length > 0 ? Buffer.concat([Buffer.from(text, 'latin1'), head]) : Buffer.from(text, 'latin1'));
    // An HTTPS server takes decrypted sockets on 'secureConnection' ('connection' would wrap TLS again).
    this.server.emit(this.opts.tls ? 'secureConnection' : 'connection', socket);
  }

  /**
   * The HTTP parser refused a connection: garbage (400), a head too large (431), or no complete
   * head by the handshake deadline (408). The status goes out when nothing else is being
   * written, then the socket is destroyed: a half-close would keep the descriptor until a peer
   * that may never answer closes its side.
   */
  private onClientError(err: Error & { code?: string }, socket: Socket): void {
    const { counters, logLimiter } = this.opts;
    const inResponse = (socket as { _httpMessage?: { _headerSent?: boolean } | null })._httpMessage;
    if (err.code === 'ECONNRESET' || err.code === 'EPIPE') {
      socket.destroy();
      return;
    }
    const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    if (status === 408 && !inResponse) {
      counters.inc('rejected', 'limits.handshakeTimeoutMs');
      logLimiter.log('info', 'handshake-timeout', { handshakeTimeoutMs: this.opts.handshakeTimeoutMs, sourceIp: socket.remoteAddress }, 'socket destroyed: no complete request head by the handshake deadline (limits.handshakeTimeoutMs)');
    } else {
      counters.inc('badRequests', status);
      logLimiter.log('info', `client-error:${err.code ?? 'unknown'}`, { err: err.message, code: err.code, sourceIp: socket.remoteAddress }, `request refused (${status}): not valid HTTP`);
    }
    if (socket.writable && !inResponse?._headerSent) socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    socket.destroy();
  }

  private onTlsError(err: Error & { code?: string }, socket: Socket): void {
    const { counters, logLimiter } = this.opts;
    if (err.code === 'ECONNRESET' || err.code === 'EPIPE') {
      socket.destroy();
      return;
    }
    const timeout = err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT';
    // OpenSSL's "http request" / "wrong version number": cleartext on the TLS port.
    const plain = !timeout && /http request|wrong version number|unknown protocol/i.test(err.message);
    const reason = timeout ? 'limits.handshakeTimeoutMs' : plain ? 'plaintext' : 'handshake';
    if (timeout) counters.inc('rejected', reason);
    else counters.inc('tlsRefused', reason);
    logLimiter.log('info', `tls-refused:${reason}`, { code: err.code, err: err.message, sourceIp: socket.remoteAddress }, timeout ? 'socket destroyed: no TLS handshake by the handshake deadline (limits.handshakeTimeoutMs)' : plain ? 'connection refused: plain ws:// or http:// on a TLS port (use wss:// or https://)' : 'connection refused: TLS handshake failed');
    socket.destroy();
  }

  private onServerError(err: Error & { code?: string; syscall?: string }): void {
    if (!this.server.listening) return; // listen() reports its own failure
    const { counters, logLimiter } = this.opts;
    counters.inc('acceptErrors', err.code ?? 'unknown');
    if (err.code === 'EMFILE' || err.code === 'ENFILE') {
      logLimiter.log('error', `accept:${err.code}`, { code: err.code, fdLimit: this.fdWatch.limit }, 'cannot accept connections: out of file descriptors (new clients are dropped until descriptors are freed)');
    } else {
      logLimiter.log('error', `accept:${err.code ?? 'unknown'}`, { err: err.message, code: err.code, syscall: err.syscall }, 'listening socket error');
    }
    this.fdWatch.check();
  }

  /** Starts listening; resolves with the bound port. */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port, this.opts.host, () => {
        this.server.off('error', reject);
        const addr = this.server.address();
        resolve(typeof addr === 'object' && addr ? addr.port : this.opts.port);
      });
    });
  }

  /**
   * Completes the handshake with the headers and subprotocol $connect returned. Resolves with
   * the socket, or null when the client went away meanwhile or the answer cannot be used: a
   * Sec-WebSocket-Protocol that is not a token list (it is written into the 101 response, so
   * CR/LF there would inject headers) is answered 500, as AWS answers a malformed integration
   * answer. Other headers with a bad name or value are left out of the 101 response.
   */
  accept(req: IncomingMessage, socket: Duplex, head: Buffer, headers: Record<string, string> | undefined): Promise<WebSocket | null> {
    if (socket.destroyed || !socket.writable) return Promise.resolve(null);
    let protocol: string | undefined;
    const extra: string[] = [];
    if (headers) {
      for (const [name, value] of Object.entries(headers)) {
        const lower = name.toLowerCase();
        if (lower === 'sec-websocket-protocol') {
          if (typeof value !== 'string' || !TOKEN_LIST.test(value)) {
            this.opts.counters.inc('malformedAnswers', 'Sec-WebSocket-Protocol');
            this.opts.logLimiter.log('warn', 'malformed:subprotocol', { value: JSON.stringify(String(value).slice(0, 200)) }, 'handshake answered 500: the $connect answer\'s Sec-WebSocket-Protocol is not a list of tokens');
            this.reject(socket, 500, '{"message":"Internal server error"}');
            return Promise.resolve(null);
          }
          protocol = value;
        } else if (!HANDSHAKE_HEADERS.has(lower) && TOKEN.test(name) && typeof value === 'string' && FIELD_VALUE.test(value)) extra.push(`${name}: ${value}`);
        else this.opts.counters.inc('malformedAnswers', 'header');
      }
    }
    this.accepting.set(req, { protocol, headers: extra });
    return new Promise((resolve) => {
      // handleUpgrade answers (and destroys) an invalid handshake itself without calling back.
      const gone = () => resolve(null);
      socket.once('close', gone);
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        // Left on the socket, this listener would keep the request, its headers and `head`
        // alive as long as the connection (a third of an idle connection's memory).
        socket.removeListener('close', gone);
        limitFrames(ws, this.opts.frameBytes);
        resolve(ws);
      });
    });
  }

  /** Refuses a handshake with an HTTP status and a small JSON body. */
  reject(socket: Duplex, status: number, body?: string, headers?: Record<string, string>): void {
    if (socket.destroyed || socket.writableEnded) return; // refused already (say, at the drain's deadline)
    // From here the socket is only closed: a reset is no error, and whatever the client still
    // sends is read and dropped so its close is seen.
    socket.on('error', destroySocket);
    socket.resume();
    const text = body ?? JSON.stringify({ message: STATUS_CODES[status] ?? 'Error' });
    // A $connect handler's own body may be anything: label it JSON only when it is.
    const ownType = headers !== undefined && Object.keys(headers).some((k) => k.toLowerCase() === 'content-type');
    const type = ownType ? undefined : isJson(text) ? 'application/json' : 'text/plain; charset=utf-8';
    let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nConnection: close\r\n${type ? `Content-Type: ${type}\r\n` : ''}Content-Length: ${Buffer.byteLength(text)}\r\n`;
    if (headers) for (const [k, v] of Object.entries(headers)) if (!REFUSAL_OWNED.has(k.toLowerCase()) && !/[\r\n]/.test(k + v)) head += `${k}: ${v}\r\n`;
    socket.end(`${head}\r\n${text}`);
    // A peer that never closes its side would keep the descriptor: destroyed after a linger
    // (the socket's own idle timer, gone with the socket).
    if (typeof (socket as Socket).setTimeout === 'function') (socket as Socket).setTimeout(REFUSAL_LINGER_MS, destroySocket);
  }

  /**
   * Stops accepting TCP connections and closes idle keep-alive sockets; requests still running
   * get `graceMs`, then every socket left is closed. Resolves when the server has closed.
   */
  close(graceMs = 1000): Promise<void> {
    this.fdWatch.stop();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.server.closeAllConnections(), graceMs);
      this.server.close(() => {
        clearTimeout(timer);
        resolve();
      });
      this.server.closeIdleConnections();
    });
  }
}

/** How long a refused handshake's socket may wait for its peer to close after the answer. */
const REFUSAL_LINGER_MS = 5000;

function destroySocket(this: Duplex): void {
  this.destroy();
}

/** Where a socket handed back to the HTTP parser keeps the request's original raw headers. */
const REPARSED = Symbol('reparsed');

/** Only `Upgrade: websocket` is a handshake; h2c and the rest are offers a server may ignore. */
function isWebSocketUpgrade(req: IncomingMessage): boolean {
  return req.headers.upgrade?.trim().toLowerCase() === 'websocket';
}

/** Gives a reparsed request back the Connection header its client sent (it may be signed). */
function restoreConnectionHeader(req: IncomingMessage, raw: string[]): void {
  const headers = req.headers;
  const values: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === 'connection') values.push(raw[i + 1]!);
  if (values.length > 0) headers.connection = values.join(', ');
  req.rawHeaders = raw;
}
/** An RFC 7230 token (header names, subprotocols). */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Sec-WebSocket-Protocol: tokens separated by commas (RFC 6455 §4.3), optional spaces around them. */
const TOKEN_LIST = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:[ \t]*,[ \t]*[!#$%&'*+.^_`|~0-9A-Za-z-]+)*$/;
/** An RFC 7230 field value: visible characters, spaces and tabs; no CR, LF or other controls. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** Headers a refusal owns; a refusing $connect's answer cannot override them. */
const REFUSAL_OWNED = new Set(['connection', 'content-length', 'transfer-encoding']);

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Headers the handshake itself owns; a $connect response cannot override them. */
const HANDSHAKE_HEADERS = new Set(['upgrade', 'connection', 'sec-websocket-accept', 'sec-websocket-extensions', 'content-length', 'transfer-encoding']);
