import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import type { Config } from '../config/schema.js';
import { connectEvent, disconnectEvent, errorFrame, handshakeInfo, messageEvent, type ApiInfo, type HandshakeInfo, type MessageEvent } from '../events/events.js';
import { IntegrationTimeout, isThenable } from '../integrations/integration.js';
import { toProxyResult, type ProxyResult } from '../integrations/proxy-response.js';
import type { Registry } from '../registry/registry.js';
import type { Route, RouteTable } from '../routing/route-table.js';
import type { Counters } from '../observability/counters.js';
import type { LogLimiter } from '../observability/log-limiter.js';
import type { Transport } from '../transport/server.js';
import { ABNORMAL_REASON, CLOSE, NO_STATUS_REASON } from './close-codes.js';
import { Connection, SendBudget } from './connection.js';
import { newConnectionId, newRequestId } from './ids.js';

/** What an authorizer decided about a handshake (issue: authorizers on $connect). */
export type AuthorizeOutcome =
  | { ok: true; principalId?: string | undefined; authorizer?: Record<string, unknown> | undefined }
  | { ok: false; status: number; message: string };

/** Runs before the $connect integration; absent when the API has no authorization. */
export type Authorize = (conn: Connection, hs: HandshakeInfo, req: IncomingMessage, rawPath: string, rawQuery: string) => Promise<AuthorizeOutcome>;

/** Applies Switchboard directives from a handler's answer (`switchboard` key: principal, groups). */
export type ApplyDirectives = (conn: Connection, directives: unknown, routeKey: string) => void;

export interface LifecycleDeps {
  api: ApiInfo;
  routes: RouteTable;
  limits: Config['limits'];
  /** `requestContext.domainName` override; default: the Host header. */
  domainName: string | undefined;
  nodeId: string;
  transport: Transport;
  registry: Registry;
  logger: Logger;
  authorize?: Authorize | undefined;
  applyDirectives?: ApplyDirectives | undefined;
  /** Where refusals, throttles and faults are counted. */
  counters: Counters;
  /** Rate-limited logging for whatever a client or backend can make happen repeatedly. */
  logLimiter: LogLimiter;
}

export { CLOSE } from './close-codes.js';

/** A message invocation in flight; the sweeper fails it with a timeout once past its deadline. */
class InFlight {
  settled = false;
  constructor(
    readonly conn: Connection,
    readonly route: Route,
    readonly event: MessageEvent,
    readonly deadline: number,
  ) {}
}

/** Where a socket keeps its connection, so one set of listeners serves every socket (no closures per connection). */
const CONN = Symbol('connection');
type ConnSocket = WebSocket & { [CONN]: Connection };

/** Until `ws` takes the socket over, a reset during the handshake only destroys it (shared: no closure per connection). */
function destroyOnError(this: Duplex): void {
  this.destroy();
}


/** ws error codes → the close the gateway reports in $disconnect. */
function causeOfSocketError(code: string | undefined): { code: number; reason: string } {
  if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') return CLOSE.tooBig;
  if (code === 'WS_ERR_INVALID_UTF8') return CLOSE.badUtf8;
  return CLOSE.protocol;
}

/**
 * Owns every connection of this node from handshake to $disconnect: runs the authorizer and
 * $connect during the upgrade, routes messages to integrations, enforces idle and lifetime
 * limits, and guarantees exactly one $disconnect per accepted connection, whoever closed it.
 */
export class ConnectionLifecycle {
  /** The sockets held by this node, by connection id. */
  readonly table = new Map<string, Connection>();
  private readonly pending = new Set<Promise<unknown>>();
  /** Message invocations awaiting an answer: timed out by the sweeper, not by a timer each. */
  private readonly inFlight = new Set<InFlight>();
  private readonly sweeper: NodeJS.Timeout;
  private shuttingDown = false;
  private readonly idleMs: number;
  private readonly maxMs: number;
  private readonly slowMs: number;
  /** Bytes waiting in all send buffers of this node, against `limits.sendBufferTotalBytes`. */
  readonly budget: SendBudget;
  // One listener of each kind for all sockets; `this` is the socket, which carries its connection.
  private readonly socketListeners: {
    message: (this: WebSocket, data: Buffer, isBinary: boolean) => void;
    error: (this: WebSocket, err: Error & { code?: string }) => void;
    close: (this: WebSocket, code: number, reason: Buffer) => void;
    ping: (this: WebSocket) => void;
  };

  constructor(private readonly d: LifecycleDeps) {
    this.idleMs = d.limits.idleTimeoutSeconds * 1000;
    this.maxMs = d.limits.maxConnectionSeconds * 1000;
    this.slowMs = d.limits.slowConsumerSeconds * 1000;
    this.budget = new SendBudget(d.limits.sendBufferTotalBytes, d.counters);
    // One sweep over all connections and in-flight calls, instead of a timer per connection reset
    // on every message and a timer per call. Its period bounds how late a limit can fire.
    const shortest = Math.min(this.idleMs, this.maxMs, this.slowMs, d.routes.shortestTimeoutMs());
    const every = Math.max(10, Math.min(1000, shortest / 10));
    this.sweeper = setInterval(() => this.sweep(), every);
    this.sweeper.unref();
    const self = this;
    this.socketListeners = {
      message(data, isBinary) {
        self.onMessage((this as ConnSocket)[CONN], data, isBinary);
      },
      error(err) {
        const conn = (this as ConnSocket)[CONN];
        conn.closeCause ??= causeOfSocketError(err.code);
        // A client breaking the protocol is bad input: logged, rate-limited (clients can reconnect and repeat it).
        self.d.logLimiter.log('info', `protocol-error:${err.code}`, { connectionId: conn.id, code: err.code, err: err.message }, 'connection closed: protocol error');
      },
      close(code, reason) {
        self.onClose((this as ConnSocket)[CONN], code, reason);
      },
      ping() {
        (this as ConnSocket)[CONN].lastActiveAt = Date.now();
      },
    };
  }

  /** Handles a WebSocket upgrade for this stage: authorizer, $connect, then accept or reject. */
  async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, rawPath: string, rawQuery: string): Promise<void> {
    const { transport, limits } = this.d;
    socket.on('error', destroyOnError); // a reset during the handshake is the client's business, not a crash
    if (this.shuttingDown) return transport.reject(socket, 503);
    if (limits.maxConnections > 0 && this.table.size >= limits.maxConnections) {
      this.d.logLimiter.log('warn', 'max-connections', { limit: limits.maxConnections }, 'connection refused: maxConnections reached');
      return transport.reject(socket, 429, '{"message":"Too Many Requests"}');
    }
    const now = Date.now();
    const sourceIp = normalizeIp(req.socket.remoteAddress);
    const userAgent = req.headers['user-agent'];
    const conn = new Connection(
      newConnectionId(),
      this.d.api.stage,
      now,
      userAgent === undefined ? { sourceIp } : { sourceIp, userAgent },
      this.d.domainName ?? req.headers.host ?? 'localhost',
      this.d.nodeId,
      limits.sendBufferBytes,
      this.budget,
    );
    const hs = handshakeInfo(req, rawQuery, sourceIp, false);

    if (this.d.authorize) {
      let outcome: AuthorizeOutcome;
      try {
        outcome = await this.d.authorize(conn, hs, req, rawPath, rawQuery);
      } catch (err) {
        this.d.logLimiter.log('error', 'authorizer-failed', { err, connectionId: conn.id }, 'authorizer failed');
        outcome = { ok: false, status: 500, message: 'Internal server error' };
      }
      if (!outcome.ok) return transport.reject(socket, outcome.status, JSON.stringify({ message: outcome.message }));
      conn.principalId = outcome.principalId;
      conn.authorizer = outcome.authorizer;
    }

    let result: ProxyResult | undefined;
    const route = this.d.routes.connect;
    if (route?.integration) {
      try {
        result = toProxyResult(await route.integration.invoke(connectEvent(conn, this.d.api, hs, now), route.timeoutMs, route.functionName));
      } catch (err) {
        const timedOut = err instanceof IntegrationTimeout;
        this.d.logLimiter.log('warn', timedOut ? 'connect-timeout' : 'connect-failed', { err, connectionId: conn.id, route: '$connect' }, timedOut ? '$connect timed out' : '$connect integration failed');
        // AWS: a failing $connect Lambda gives 502; a timeout is a gateway timeout.
        return transport.reject(socket, timedOut ? 504 : 502, JSON.stringify({ message: timedOut ? 'Endpoint request timed out' : 'Internal server error' }));
      }
      if (result.statusCode < 200 || result.statusCode > 299) {
        this.d.logLimiter.log('debug', `connect-refused:${result.statusCode}`, { connectionId: conn.id, status: result.statusCode }, '$connect refused the connection');
        return transport.reject(socket, result.statusCode, result.body, result.headers);
      }
    }

    if (this.shuttingDown) {
      transport.reject(socket, 503);
      return this.dispatchDisconnect(conn, CLOSE.shutdown.code, CLOSE.shutdown.reason);
    }
    const ws = await transport.accept(req, socket, head, result?.headers);
    socket.removeListener('error', destroyOnError); // ws handles socket errors from here on
    if (ws === null) {
      // $connect accepted it (and may have stored it), so its $disconnect must run too.
      return this.dispatchDisconnect(conn, 1006, ABNORMAL_REASON);
    }
    this.open(conn, ws);
    if (result?.switchboard !== undefined) this.directives(conn, result.switchboard, '$connect');
    // A route response on $connect sends the body once the socket is open.
    if (route?.routeResponse && result?.body !== undefined) this.reply(conn, result);
  }

  private open(conn: Connection, ws: WebSocket): void {
    conn.socket = ws;
    conn.state = 'open';
    this.table.set(conn.id, conn);
    void this.d.registry.add(conn);
    (ws as ConnSocket)[CONN] = conn;
    const l = this.socketListeners;
    ws.on('message', l.message);
    ws.on('error', l.error);
    ws.on('close', l.close);
    if (this.d.limits.pingCountsAsActivity) ws.on('ping', l.ping);
  }

  /** The hot path: frame in → route → integration → frame out. No logging, no awaits. */
  private onMessage(conn: Connection, data: Buffer, isBinary: boolean): void {
    const now = Date.now();
    conn.lastActiveAt = now;
    let route: Route | undefined;
    let body: string;
    if (isBinary) {
      if (this.d.limits.binaryFrames === 'reject') {
        conn.close(CLOSE.binary.code, CLOSE.binary.reason);
        return;
      }
      body = data.toString('base64');
      route = this.d.routes.fallback; // a binary frame cannot be evaluated as JSON
    } else {
      body = data.toString();
      route = this.d.routes.select(body);
    }
    if (route === undefined || route.integration === null) {
      conn.send(errorFrame('Forbidden', conn.id, newRequestId()), false);
      return;
    }
    const event = messageEvent(conn, this.d.api, route.key, body, isBinary, now);
    let raw: unknown;
    try {
      raw = route.integration.start(event, route.timeoutMs, route.functionName);
    } catch (err) {
      this.onFailure(conn, route, event, err);
      return;
    }
    if (!isThenable(raw)) {
      this.onResult(conn, route, event, raw);
      return;
    }
    const call = new InFlight(conn, route, event, now + route.timeoutMs);
    this.inFlight.add(call);
    raw.then(
      (v) => {
        if (this.settle(call)) this.onResult(conn, call.route, event, v);
      },
      (err: unknown) => {
        if (this.settle(call)) this.onFailure(conn, call.route, event, err);
      },
    );
  }

  /** Marks a call answered (or timed out); false when it already was, so it is answered once. */
  private settle(call: InFlight): boolean {
    if (call.settled) return false;
    call.settled = true;
    this.inFlight.delete(call);
    return true;
  }

  private onResult(conn: Connection, route: Route, event: MessageEvent, raw: unknown): void {
    let result: ProxyResult;
    try {
      result = toProxyResult(raw);
    } catch (err) {
      this.onFailure(conn, route, event, err);
      return;
    }
    if (result.switchboard !== undefined) this.directives(conn, result.switchboard, route.key);
    if (route.routeResponse && result.body !== undefined) this.reply(conn, result);
  }

  /** Answers a failed or timed-out call with AWS's error frame; logged once per route and cause per window (a client can repeat it at will). */
  private onFailure(conn: Connection, route: Route, event: MessageEvent, err: unknown): void {
    const timedOut = err instanceof IntegrationTimeout;
    this.d.counters.inc('integrationFailed', timedOut ? 'timeout' : 'error');
    this.d.logLimiter.log('warn', `${timedOut ? 'integration-timeout' : 'integration-failed'}:${route.key}`, { err, connectionId: conn.id, route: route.key, requestId: event.requestContext.requestId }, timedOut ? 'integration timed out' : 'integration failed');
    const outcome = conn.send(errorFrame(timedOut ? 'Endpoint request timed out' : 'Internal server error', conn.id, event.requestContext.requestId), false);
    if (outcome !== 'ok') this.undelivered(conn, outcome, 'error-frame-dropped', 'error frame not delivered');
  }

  /** Sends a route response to the caller; a full buffer or a closed socket is counted and logged, not hidden. */
  private reply(conn: Connection, result: ProxyResult): void {
    const outcome = result.isBase64Encoded ? conn.send(Buffer.from(result.body!, 'base64'), true) : conn.send(result.body!, false);
    if (outcome !== 'ok') this.undelivered(conn, outcome, 'reply-dropped', 'route response not delivered');
  }

  /** A frame the gateway owed a client was dropped (buffer full, or the client left): a counter, and a line per connection per window. */
  private undelivered(conn: Connection, outcome: 'full' | 'gone', key: string, msg: string): void {
    this.d.counters.inc('undelivered', outcome);
    this.d.logLimiter.log('warn', `${key}:${conn.id}`, { connectionId: conn.id, outcome }, msg);
  }

  private directives(conn: Connection, directives: unknown, routeKey: string): void {
    if (!this.d.applyDirectives) {
      this.d.logLimiter.log('warn', `directives-ignored:${routeKey}`, { connectionId: conn.id, route: routeKey }, 'ignored "switchboard" directives in a handler answer: not supported by this gateway');
      return;
    }
    try {
      this.d.applyDirectives(conn, directives, routeKey);
    } catch (err) {
      this.d.logLimiter.log('warn', `directives-invalid:${routeKey}`, { err, connectionId: conn.id, route: routeKey }, 'invalid "switchboard" directives in a handler answer');
    }
  }

  private onClose(conn: Connection, code: number, reasonBuf: Buffer): void {
    if (conn.state === 'closed') return;
    let reason: string;
    if (conn.closeCause) {
      code = conn.closeCause.code;
      reason = conn.closeCause.reason;
    } else if (code === 1005) reason = NO_STATUS_REASON;
    else if (code === 1006) reason = ABNORMAL_REASON;
    else reason = reasonBuf.toString();
    this.table.delete(conn.id);
    conn.releaseBuffer();
    void this.d.registry.remove(conn.id);
    this.dispatchDisconnect(conn, code, reason);
  }

  /** Runs $disconnect once for an accepted connection; its answer is ignored, its failure logged. */
  private dispatchDisconnect(conn: Connection, code: number, reason: string): void {
    if (conn.state === 'closed') return;
    conn.state = 'closed';
    const route = this.d.routes.disconnect;
    if (!route?.integration) return;
    const p = route.integration
      .invoke(disconnectEvent(conn, this.d.api, code, reason), route.timeoutMs, route.functionName)
      .catch((err: unknown) => this.d.logLimiter.log('warn', 'disconnect-failed', { err, connectionId: conn.id }, '$disconnect integration failed'))
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  /**
   * Closes connections past the idle timeout or the maximum duration (AWS: 1001 "Going away"),
   * and slow consumers (1008); re-samples every send buffer into the node's budget on the way.
   */
  private sweep(): void {
    const now = Date.now();
    for (const call of this.inFlight) {
      if (now >= call.deadline && this.settle(call)) this.onFailure(call.conn, call.route, call.event, new IntegrationTimeout(call.route.timeoutMs));
    }
    let buffered = 0;
    for (const conn of this.table.values()) {
      const slow = conn.sampleBuffer(now, this.slowMs);
      buffered += conn.buffered;
      if (conn.state !== 'open') continue;
      if (slow) {
        // Its close frame queues behind the backlog (a client that catches up reads why); close() terminates it if it never does.
        if (conn.close(CLOSE.slowConsumer.code, CLOSE.slowConsumer.reason)) {
          this.d.counters.inc('closed', 'slowConsumer');
          this.d.logLimiter.log('warn', 'slow-consumer', { connectionId: conn.id, buffered: conn.buffered, limit: this.d.limits.slowConsumerSeconds }, 'connection closed: slow consumer (send buffer full for limits.slowConsumerSeconds)');
        }
        continue;
      }
      if (now - conn.connectedAt >= this.maxMs) conn.close(CLOSE.maxDuration.code, CLOSE.maxDuration.reason);
      else if (now - conn.lastActiveAt >= this.idleMs) conn.close(CLOSE.idle.code, CLOSE.idle.reason);
    }
    this.budget.total = buffered; // the exact sum, so no drift outlives a sweep
  }

  /**
   * Drains: refuses new handshakes, closes every connection with 1001 "Going away", waits for
   * the close handshakes (terminating stragglers after `graceMs`) and for $disconnect handlers.
   */
  async shutdown(graceMs = 3000): Promise<void> {
    this.shuttingDown = true;
    clearInterval(this.sweeper);
    for (const conn of this.table.values()) conn.close(CLOSE.shutdown.code, CLOSE.shutdown.reason);
    const deadline = Date.now() + graceMs;
    while (this.table.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    for (const conn of this.table.values()) conn.terminate(CLOSE.shutdown.code, CLOSE.shutdown.reason);
    while (this.table.size > 0 && Date.now() < deadline + 1000) await new Promise((r) => setTimeout(r, 10));
    await Promise.allSettled([...this.pending]);
  }
}

/** `::ffff:127.0.0.1` → `127.0.0.1`, as AWS reports IPv4 clients. */
function normalizeIp(ip: string | undefined): string {
  if (!ip) return '';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}
