import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Counters } from '../observability/counters.js';
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
}

interface Acceptance {
  protocol: string | undefined;
  headers: string[];
}

/**
 * The WebSocket server: `ws` on a `node:http` server, one port for clients and management
 * calls (as on AWS). It knows nothing about routes; the gateway decides per upgrade whether
 * to accept (with the headers and subprotocol $connect chose) or reject with a status.
 */
export class Transport {
  readonly server: Server;
  private readonly wss: WebSocketServer;
  private readonly accepting = new WeakMap<IncomingMessage, Acceptance>();

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
    this.server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => opts.onRequest(req, res));
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => opts.onUpgrade(req, socket, head));
    this.server.on('clientError', (err: Error & { code?: string }, socket) => {
      if (err.code !== 'ECONNRESET') opts.logLimiter.log('info', `http-invalid:${err.code}`, { err: err.message, code: err.code, sourceIp: (socket as { remoteAddress?: string }).remoteAddress }, 'request refused (400): not valid HTTP');
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
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
   * the socket, or null when the client went away meanwhile.
   */
  accept(req: IncomingMessage, socket: Duplex, head: Buffer, headers: Record<string, string> | undefined): Promise<WebSocket | null> {
    if (socket.destroyed || !socket.writable) return Promise.resolve(null);
    let protocol: string | undefined;
    const extra: string[] = [];
    if (headers) {
      for (const [name, value] of Object.entries(headers)) {
        const lower = name.toLowerCase();
        if (lower === 'sec-websocket-protocol') protocol = value;
        else if (!HANDSHAKE_HEADERS.has(lower) && !/[\r\n]/.test(value) && /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) extra.push(`${name}: ${value}`);
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
    if (socket.destroyed) return;
    const text = body ?? JSON.stringify({ message: STATUS_CODES[status] ?? 'Error' });
    // A $connect handler's own body may be anything: label it JSON only when it is.
    const ownType = headers !== undefined && Object.keys(headers).some((k) => k.toLowerCase() === 'content-type');
    const type = ownType ? undefined : isJson(text) ? 'application/json' : 'text/plain; charset=utf-8';
    let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nConnection: close\r\n${type ? `Content-Type: ${type}\r\n` : ''}Content-Length: ${Buffer.byteLength(text)}\r\n`;
    if (headers) for (const [k, v] of Object.entries(headers)) if (!REFUSAL_OWNED.has(k.toLowerCase()) && !/[\r\n]/.test(k + v)) head += `${k}: ${v}\r\n`;
    socket.end(`${head}\r\n${text}`);
  }

  /** Stops accepting TCP connections and closes idle keep-alive sockets; resolves when the server has closed. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
    });
  }
}

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
