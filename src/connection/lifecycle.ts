import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import type { Config } from '../config/schema.js';
import type { TrustProxy } from '../events/forwarded.js';
import { connectEvent, disconnectEvent, errorFrame, handshakeInfo, messageEvent, type ApiInfo, type HandshakeInfo, type MessageEvent } from '../events/events.js';
import { IntegrationRefused, IntegrationTimeout, isThenable } from '../integrations/integration.js';
import { toProxyResult, type ProxyResult } from '../integrations/proxy-response.js';
import type { ConnectionRecord, Registry } from '../registry/registry.js';
import type { Hub } from './hub.js';
import type { Route, RouteTable } from '../routing/route-table.js';
import type { Counters } from '../observability/counters.js';
import type { LogLimiter } from '../observability/log-limiter.js';
import { NOOP_METRICS, type Metrics, type TrafficTotals } from '../observability/metrics.js';
import type { AccessLog } from '../observability/access-log.js';
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
  /** Where records are added before the 101 (and whose availability gates handshakes). */
  registry: Registry;
  /** This node's open connections and their indexes; it also removes records from the registry. */
  hub: Hub;
  /** Accept handshakes while the registry is unavailable (cluster `acceptWhileRegistryDown`); default false: 503. */
  acceptWhileRegistryDown?: boolean | undefined;
  logger: Logger;
  authorize?: Authorize | undefined;
  applyDirectives?: ApplyDirectives | undefined;
  /** Where refusals, throttles and faults are counted. */
  counters: Counters;
  /** Rate-limited logging for whatever a client or backend can make happen repeatedly. */
  logLimiter: LogLimiter;
  /** `trustProxy`: peers whose X-Forwarded-For names the client (`sourceIp`). */
  trustProxy?: TrustProxy | undefined;
  /** Metrics hooks; default (admin listener off): none, at no cost. */
  metrics?: Metrics | undefined;
  /** Access-log lines per connection; default: none. */
  accessLog?: AccessLog | undefined;
}

export { CLOSE } from './close-codes.js';

/** A message invocation in flight; the sweeper fails it with a timeout once past its deadline and cancels it. */
class InFlight {
  settled = false;
  constructor(
    readonly conn: Connection,
    readonly route: Route,
    readonly event: MessageEvent,
    readonly deadline: number,
    /** Aborted at the deadline; only for integrations that can be cancelled (HTTP). */
    readonly controller: AbortController | undefined,
  ) {}

  /** Milliseconds since it was called (its deadline less the route's timeout). */
  elapsed(): number {
    return Date.now() - (this.deadline - this.route.timeoutMs);
  }
}

/** Where a socket keeps its connection, so one set of listeners serves every socket (no closures per connection). */
const CONN = Symbol('connection');
type ConnSocket = WebSocket & { [CONN]: Connection };

/** Until `ws` takes the socket over, a reset during the handshake only destroys it (shared: no closure per connection). */
function destroyOnError(this: Duplex): void {
  this.destroy();
}


/** Could not call the integration or it did not answer (AWS ExecutionError), rather than an error answer (IntegrationError). */
function isExecutionError(err: unknown): boolean {
  if (err instanceof IntegrationTimeout || err instanceof IntegrationRefused) return true;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('E') || code.startsWith('UND_ERR'));
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
  /** The sockets held by this node, by connection id: the hub (one table for the lifecycle and the bus). */
  readonly table: Hub;
  private readonly pending = new Set<Promise<unknown>>();
  /** Message invocations awaiting an answer: timed out by the sweeper, not by a timer each. */
  private readonly inFlight = new Set<InFlight>();
  private readonly sweeper: NodeJS.Timeout;
  /** Sockets whose handshake (authorizer, $connect, accept) is running; each holds a connection slot. */
  private readonly handshakes = new Set<Duplex>();
  private shuttingDown = false;
  /** Set once the drain closes the clients: a connection opening later is closed at once. */
  private closingAll = false;
  private drained: Promise<void> | undefined;
  private readonly idleMs: number;
  private readonly maxMs: number;
  private readonly inflightMax: number;
  private readonly slowMs: number;
  /** Bytes waiting in all send buffers of this node, against `limits.sendBufferTotalBytes`. */
  readonly budget: SendBudget;
  private readonly m: Metrics;
  /** Metrics on: integration latency is measured, in whole milliseconds by `Date.now` (AWS reports IntegrationLatency in ms): a message's start is the clock read it already took, so a call costs one more read, when it answers. `performance.now` measured several times dearer per call in the server. */
  private readonly timed: boolean;
  /** Access logs on: messages are counted per route for the connection's line. */
  private readonly countRoutes: boolean;
  /** Traffic of the connections that have ended (open ones are summed at read time). */
  private readonly retired: TrafficTotals = { messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0 };
  // One listener of each kind for all sockets; `this` is the socket, which carries its connection.
  private readonly socketListeners: {
    message: (this: WebSocket, data: Buffer, isBinary: boolean) => void;
    error: (this: WebSocket, err: Error & { code?: string }) => void;
    close: (this: WebSocket, code: number, reason: Buffer) => void;
    ping: (this: WebSocket) => void;
  };

  constructor(private readonly d: LifecycleDeps) {
    this.table = d.hub;
    this.idleMs = d.limits.idleTimeoutSeconds * 1000;
    this.maxMs = d.limits.maxConnectionSeconds * 1000;
    this.inflightMax = d.limits.inflightPerConnection;
    this.slowMs = d.limits.slowConsumerSeconds * 1000;
    this.budget = new SendBudget(d.limits.sendBufferTotalBytes, d.counters);
    this.m = d.metrics ?? NOOP_METRICS;
    this.timed = this.m.enabled;
    // Messages per route only feed the access log's close line: not counted when it writes nothing.
    this.countRoutes = d.accessLog?.writing === true;
    // One sweep over all connections and in-flight calls, instead of a timer per connection reset
    // on every message and a timer per call. Its period bounds how late a limit can fire.
    const shortest = Math.min(this.idleMs, this.maxMs, this.slowMs, d.routes.shortestTimeoutMs());
    const every = Math.max(10, Math.min(1000, shortest / 10));
    this.sweeper = setInterval(() => this.sweep(), every);
    this.sweeper.unref();
    const self = this;
    this.socketListeners = {
      // Each listener is guarded: a throw here would otherwise be an uncaught exception that ends
      // the process (every client dropped, no $disconnect); it ends only this connection.
      message(data, isBinary) {
        const conn = (this as ConnSocket)[CONN];
        try {
          self.onMessage(conn, data, isBinary);
        } catch (err) {
          self.internalError(conn, err, 'message');
        }
      },
      error(err) {
        const conn = (this as ConnSocket)[CONN];
        try {
          conn.closeCause ??= causeOfSocketError(err.code);
          // A client breaking the protocol is bad input: logged, rate-limited (clients can reconnect and repeat it).
          self.d.logLimiter.log('info', `protocol-error:${err.code}`, { connectionId: conn.id, code: err.code, err: err.message }, 'connection closed: protocol error');
        } catch (e) {
          self.internalError(conn, e, 'error');
        }
      },
      close(code, reason) {
        const conn = (this as ConnSocket)[CONN];
        try {
          self.onClose(conn, code, reason);
        } catch (err) {
          self.internalError(conn, err, 'close');
        }
      },
      ping() {
        (this as ConnSocket)[CONN].lastActiveAt = Date.now();
      },
    };
  }

  /**
   * Handles a WebSocket upgrade for this stage: authorizer, $connect, then accept or reject.
   * A handshake holds a slot of `limits.maxConnections` from before its authorizer until it is
   * open or has failed, so slow $connects cannot open more than the limit.
   */
  async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, rawPath: string, rawQuery: string): Promise<void> {
    const { transport, limits, counters, logLimiter } = this.d;
    socket.on('error', destroyOnError); // a reset during the handshake is the client's business, not a crash
    if (this.shuttingDown) {
      counters.inc('handshakeRefused', 503);
      logLimiter.log('info', 'draining', {}, 'handshake refused (503): the gateway is draining');
      return transport.reject(socket, 503);
    }
    if (!this.d.acceptWhileRegistryDown && !this.d.registry.available()) {
      // A connection nobody else could find would be answered 410 elsewhere later: refused before $connect.
      counters.inc('handshakeRefused', 503);
      logLimiter.log('warn', 'registry-unavailable', {}, 'handshake refused (503): the registry is unavailable');
      return transport.reject(socket, 503, '{"message":"Service Unavailable"}');
    }
    if (limits.maxConnections > 0 && this.table.size + this.handshakes.size >= limits.maxConnections) {
      counters.inc('rejected', 'limits.maxConnections');
      logLimiter.log('warn', 'max-connections', { limit: limits.maxConnections, open: this.table.size, handshakes: this.handshakes.size }, 'handshake refused (429): limits.maxConnections reached (open connections and handshakes in progress)');
      this.m.clientError();
      return transport.reject(socket, 429, '{"message":"Too Many Requests"}');
    }
    // AWS applies route throttling to $connect too: a throttled handshake is refused with 429.
    const connectThrottle = this.d.routes.connect?.throttle;
    if (connectThrottle && !connectThrottle.take()) {
      this.d.counters.inc('rejected', 'routeSettings');
      this.m.clientError();
      this.d.logLimiter.log('warn', 'routeSettings:$connect', { route: '$connect', limit: 'routeSettings' }, 'handshake throttled (429): over the routeSettings of $connect');
      return transport.reject(socket, 429, '{"message":"Too Many Requests"}');
    }
    this.handshakes.add(socket);
    try {
      await this.upgrade(req, socket, head, rawPath, rawQuery);
    } finally {
      this.handshakes.delete(socket);
    }
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, rawPath: string, rawQuery: string): Promise<void> {
    const { transport, limits, logger } = this.d;
    const now = Date.now();
    const peerIp = normalizeIp(req.socket.remoteAddress);
    // Behind a trusted proxy the client is the right-most untrusted hop of X-Forwarded-For.
    const trusted = this.d.trustProxy?.trusts(peerIp) === true;
    const xff = req.headers['x-forwarded-for'];
    const sourceIp = trusted && xff !== undefined ? this.d.trustProxy!.clientAddress(peerIp, typeof xff === 'string' ? [xff] : xff) : peerIp;
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
    // X-Forwarded-Proto says https when the gateway itself serves TLS.
    const hs = handshakeInfo(req, rawQuery, peerIp, (req.socket as { encrypted?: boolean }).encrypted === true, trusted);

    if (this.d.authorize) {
      let outcome: AuthorizeOutcome;
      try {
        outcome = await this.d.authorize(conn, hs, req, rawPath, rawQuery);
      } catch (err) {
        this.d.logLimiter.log('error', 'authorizer-failed', { err, connectionId: conn.id }, 'authorizer failed');
        outcome = { ok: false, status: 500, message: 'Internal server error' };
      }
      this.m.authorizer(outcome.ok ? 'allow' : outcome.status === 401 ? 'unauthorized' : outcome.status === 403 ? 'forbidden' : 'error');
      if (!outcome.ok) {
        if (outcome.status < 500) this.m.clientError();
        return transport.reject(socket, outcome.status, JSON.stringify({ message: outcome.message }));
      }
      conn.principalId = outcome.principalId;
      conn.authorizer = outcome.authorizer;
      // Draining began during the authorizer: $connect is not started (so no $disconnect is owed).
      if (this.shuttingDown) return transport.reject(socket, 503);
    }

    let result: ProxyResult | undefined;
    const route = this.d.routes.connect;
    if (route?.integration) {
      this.m.connectInvoked();
      const started = this.timed ? Date.now() : 0;
      try {
        result = toProxyResult(await route.integration.invoke(connectEvent(conn, this.d.api, hs, now), route.timeoutMs, route.functionName));
        if (this.timed) this.m.latency(route, Date.now() - started);
      } catch (err) {
        if (this.timed) this.m.latency(route, Date.now() - started);
        if (isExecutionError(err)) this.m.executionError(route);
        else this.m.integrationError(route);
        const timedOut = err instanceof IntegrationTimeout;
        if (timedOut) this.d.counters.inc('integrationAborted', route.integration.kind);
        this.d.logLimiter.log('warn', timedOut ? 'connect-timeout' : 'connect-failed', { err, connectionId: conn.id, route: '$connect' }, timedOut ? '$connect timed out' : '$connect integration failed');
        // AWS: a failing $connect Lambda gives 502; a timeout is a gateway timeout.
        return transport.reject(socket, timedOut ? 504 : 502, JSON.stringify({ message: timedOut ? 'Endpoint request timed out' : 'Internal server error' }));
      }
      if (result.statusCode < 200) {
        // A 1xx is no refusal (a 101 would tell the client it was upgraded): malformed, 500 as on AWS.
        this.d.counters.inc('malformedAnswers', 'statusCode');
        this.d.logLimiter.log('warn', 'malformed:connect-status', { connectionId: conn.id, status: result.statusCode }, '$connect answered a 1xx status: handshake answered 500');
        return transport.reject(socket, 500, '{"message":"Internal server error"}');
      }
      if (result.statusCode > 299) {
        if (result.statusCode >= 400) this.m.integrationError(route);
        this.d.logLimiter.log('debug', `connect-refused:${result.statusCode}`, { connectionId: conn.id, status: result.statusCode }, '$connect refused the connection');
        return transport.reject(socket, result.statusCode, result.body, result.headers);
      }
    }

    // The answer's principal and groups go on the connection first, so its record and indexes are
    // complete in the registry before the client sees the 101 (and can be reached by any node).
    try {
      if (result?.switchboard !== undefined) this.directives(conn, result.switchboard, '$connect');
    } catch (err) {
      // Not a WebSocket yet: the handshake is answered 500; $connect accepted it, so its $disconnect runs.
      this.d.counters.inc('internalErrors', 'connect');
      this.d.logLimiter.log('error', 'internal:connect', { connectionId: conn.id, where: 'connect', err: describeError(err) }, 'internal error while applying the $connect answer: handshake answered 500');
      transport.reject(socket, 500, '{"message":"Internal server error"}');
      return this.dispatchDisconnect(conn, CLOSE.internalError.code, CLOSE.internalError.reason);
    }
    try {
      await this.d.registry.add(this.d.hub.snapshot(conn));
      conn.registered = true;
    } catch (err) {
      this.d.counters.inc('registryFailed', 'add');
      this.d.logLimiter.log('warn', 'registry-failed:add', { err, connectionId: conn.id }, 'registry add failed: handshake answered 503');
      transport.reject(socket, 503, '{"message":"Service Unavailable"}');
      // $connect accepted it, so its $disconnect runs too.
      return this.dispatchDisconnect(conn, 1006, ABNORMAL_REASON);
    }
    if (this.shuttingDown) {
      transport.reject(socket, 503);
      this.d.hub.unregister(conn);
      return this.dispatchDisconnect(conn, CLOSE.shutdown.code, CLOSE.shutdown.reason);
    }
    const ws = await transport.accept(req, socket, head, result?.headers);
    socket.removeListener('error', destroyOnError); // ws handles socket errors from here on
    if (ws === null) {
      // $connect accepted it (and may have stored it), so its $disconnect must run too.
      this.d.hub.unregister(conn);
      return this.dispatchDisconnect(conn, 1006, ABNORMAL_REASON);
    }
    this.open(conn, ws);
    // Opened after the drain closed everyone (its handshake outlived the grace): closed at once.
    if (this.closingAll) conn.close(CLOSE.shutdown.code, CLOSE.shutdown.reason);
    else if (this.shuttingDown) ws.pause(); // as every client is during the drain
    try {
      // A route response on $connect sends the body once the socket is open.
      if (route?.routeResponse && result?.body !== undefined) this.reply(conn, result, newRequestId());
    } catch (err) {
      // The socket is a WebSocket now: an HTTP 500 can no longer be the answer.
      this.internalError(conn, err, 'connect');
    }
  }

  /**
   * An unexpected fault during a handshake (before the socket became a WebSocket): answered 500,
   * counted (`internalErrors[handshake]`), logged rate-limited, and the socket destroyed soon
   * after so a client that never closes its side does not keep it.
   */
  upgradeFailed(socket: Duplex, err: unknown): void {
    try {
      this.d.counters.inc('internalErrors', 'handshake');
      this.d.logLimiter.log('error', 'internal:handshake', { err: describeError(err) }, 'internal error during a handshake: answered 500');
      this.d.transport.reject(socket, 500);
    } finally {
      if (!socket.destroyed) setTimeout(() => socket.destroy(), 1000).unref();
    }
  }

  private open(conn: Connection, ws: WebSocket): void {
    conn.socket = ws;
    conn.state = 'open';
    this.table.add(conn);
    (ws as ConnSocket)[CONN] = conn;
    const l = this.socketListeners;
    ws.on('message', l.message);
    ws.on('error', l.error);
    ws.on('close', l.close);
    if (this.d.limits.pingCountsAsActivity) ws.on('ping', l.ping);
    this.m.opened();
    this.d.accessLog?.opened(conn);
  }

  /** Messages and bytes in and out of this node so far: ended connections plus the open ones (read at scrape time, not counted twice). */
  traffic(): TrafficTotals {
    const t = { ...this.retired };
    for (const c of this.table.values()) {
      t.messagesIn += c.messagesIn;
      t.messagesOut += c.messagesOut;
      t.bytesIn += c.bytesIn;
      t.bytesOut += c.bytesOut;
    }
    return t;
  }

  /** The hot path: frame in → route → integration → frame out. No logging, no awaits. */
  private onMessage(conn: Connection, data: Buffer, isBinary: boolean): void {
    const now = Date.now();
    conn.lastActiveAt = now;
    conn.messagesIn++;
    conn.bytesIn += data.length;
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
    if (this.countRoutes && route !== undefined) countRoute(conn, route.key);
    if (route === undefined || route.integration === null) {
      this.m.clientError();
      this.errorFrame(conn, 'Forbidden', newRequestId());
      return;
    }
    // Refused, not queued: a client cannot hold more work than this, nor take a route's share.
    if (conn.inflight >= this.inflightMax) return this.tooManyRequests(conn, route, 'limits.inflightPerConnection');
    if (route.throttle !== null && !route.throttle.take(now)) return this.tooManyRequests(conn, route, 'routeSettings');
    const event = messageEvent(conn, this.d.api, route.key, body, isBinary, now);
    const controller = route.integration.abortable ? new AbortController() : undefined;
    this.m.invoked(route);
    let raw: unknown;
    try {
      raw = route.integration.start(event, route.timeoutMs, route.functionName, controller?.signal);
    } catch (err) {
      this.onFailure(conn, route, event, err);
      return;
    }
    if (!isThenable(raw)) {
      if (this.timed) this.m.latency(route, Date.now() - now);
      this.onResult(conn, route, event, raw);
      return;
    }
    const call = new InFlight(conn, route, event, now + route.timeoutMs, controller);
    this.inFlight.add(call);
    conn.inflight++;
    raw.then(
      (v) => {
        if (this.settle(call)) {
          if (this.timed) this.m.latency(call.route, call.elapsed());
          this.onResult(conn, call.route, event, v);
        }
      },
      (err: unknown) => {
        if (this.settle(call)) {
          if (this.timed) this.m.latency(call.route, call.elapsed());
          this.onFailure(conn, call.route, event, err);
        }
      },
    );
  }

  /** Marks a call answered (or timed out); false when it already was, so it is answered once. */
  private settle(call: InFlight): boolean {
    if (call.settled) return false;
    call.settled = true;
    this.inFlight.delete(call);
    call.conn.inflight--;
    return true;
  }

  /** AWS's answer to a throttled message: the error frame "Too Many Requests"; counted, and logged once per cause and connection (or route) per window. */
  private tooManyRequests(conn: Connection, route: Route, limit: 'limits.inflightPerConnection' | 'routeSettings'): void {
    this.d.counters.inc('rejected', limit);
    this.m.clientError();
    if (limit === 'routeSettings') {
      // One bucket per route over all clients: keyed by route, so a stage-wide burst is a few lines.
      this.d.logLimiter.log('warn', `routeSettings:${route.key}`, { route: route.key, connectionId: conn.id, limit }, 'message throttled (Too Many Requests): over the route\'s throttling settings');
    } else {
      this.d.logLimiter.log('warn', `${limit}:${conn.id}`, { connectionId: conn.id, route: route.key, limit, inflight: conn.inflight }, 'message refused (Too Many Requests): limits.inflightPerConnection reached');
    }
    this.errorFrame(conn, 'Too Many Requests', newRequestId());
  }

  /** Applies an integration's answer; a fault while doing so (a getter in the answer that throws…) ends only this connection. */
  private onResult(conn: Connection, route: Route, event: MessageEvent, raw: unknown): void {
    try {
      this.applyResult(conn, route, event, raw);
    } catch (err) {
      this.internalError(conn, err, 'answer');
    }
  }

  private applyResult(conn: Connection, route: Route, event: MessageEvent, raw: unknown): void {
    let result: ProxyResult;
    try {
      result = toProxyResult(raw);
    } catch (err) {
      this.onFailure(conn, route, event, err);
      return;
    }
    if (result.statusCode >= 400) this.m.integrationError(route);
    if (result.switchboard !== undefined) this.directives(conn, result.switchboard, route.key);
    if (route.routeResponse && result.body !== undefined) this.reply(conn, result, event.requestContext.requestId);
  }

  /** Answers a failed or timed-out call with AWS's error frame; logged once per route and cause per window (a client can repeat it at will). */
  private onFailure(conn: Connection, route: Route, event: MessageEvent, err: unknown): void {
    try {
      this.answerFailure(conn, route, event, err);
    } catch (e) {
      this.internalError(conn, e, 'failure');
    }
  }

  private answerFailure(conn: Connection, route: Route, event: MessageEvent, err: unknown): void {
    const timedOut = err instanceof IntegrationTimeout;
    this.d.counters.inc('integrationFailed', timedOut ? 'timeout' : 'error');
    if (isExecutionError(err)) this.m.executionError(route);
    else this.m.integrationError(route);
    // A client can make this happen for every message it sends: one line per cause and route per window.
    this.d.logLimiter.log('warn', `${timedOut ? 'integration-timeout' : 'integration-failed'}:${route.key}`, { err, connectionId: conn.id, route: route.key, requestId: event.requestContext.requestId }, timedOut ? 'integration timed out' : 'integration failed');
    this.errorFrame(conn, timedOut ? 'Endpoint request timed out' : 'Internal server error', event.requestContext.requestId);
  }

  /** Sends AWS's error frame; one that cannot be delivered is counted and logged, never dropped silently. */
  private errorFrame(conn: Connection, message: string, requestId: string): void {
    const outcome = conn.send(errorFrame(message, conn.id, requestId), false);
    if (outcome !== 'ok') this.undelivered(conn, outcome, 'error-frame-dropped', 'error frame not delivered');
  }

  /**
   * Sends a route response to the caller; a full buffer or a closed socket is counted and logged, not hidden.
   * A body over `limits.messageBytes` (which the client would refuse with 1009) gets the error
   * frame "Internal server error" instead, as AWS answers a failed integration.
   */
  private reply(conn: Connection, result: ProxyResult, requestId: string): void {
    const max = this.d.limits.messageBytes;
    const body = result.body!;
    let outcome;
    if (result.isBase64Encoded) {
      const bytes = Buffer.from(body, 'base64');
      outcome = bytes.length > max ? this.replyTooLarge(conn, bytes.length, requestId) : conn.send(bytes, true);
    } else {
      // A UTF-16 unit is 1 to 3 UTF-8 bytes: only bodies near the limit are measured.
      const over = body.length * 3 > max && (body.length > max || Buffer.byteLength(body) > max);
      outcome = over ? this.replyTooLarge(conn, Buffer.byteLength(body), requestId) : conn.send(body, false);
    }
    if (outcome !== 'ok') this.undelivered(conn, outcome, 'reply-dropped', 'route response not delivered');
  }

  private replyTooLarge(conn: Connection, bytes: number, requestId: string) {
    this.d.counters.inc('rejected', 'limits.messageBytes');
    this.d.logLimiter.log('warn', `limits.messageBytes:${conn.id}`, { connectionId: conn.id, bytes, limit: 'limits.messageBytes' }, 'route response over limits.messageBytes: sent the error frame instead');
    return conn.send(errorFrame('Internal server error', conn.id, requestId), false);
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
    this.table.delete(conn);
    conn.releaseBuffer();
    this.dispatchDisconnect(conn, code, reason);
  }

  /**
   * The last-resort guard for one connection: an unexpected fault while serving it (a listener,
   * an answer, directives) closes it with 1011, runs its $disconnect once, counts it
   * (`internalErrors[where]`) and logs the stack, rate-limited. Never throws.
   */
  private internalError(conn: Connection, err: unknown, where: string): void {
    const { code, reason } = CLOSE.internalError;
    try {
      this.d.counters.inc('internalErrors', where);
      this.d.logLimiter.log('error', `internal:${where}`, { connectionId: conn.id, where, err: describeError(err) }, `internal error while serving a connection (${where}): closed it with ${code}`);
      if (conn.state === 'open') conn.close(code, reason);
    } catch {
      try {
        conn.terminate(code, reason);
      } catch {
        // nothing more to try: the checks below still run $disconnect
      }
    }
    try {
      // Once the socket is closed no close listener runs again: finish here.
      if (conn.state !== 'closed' && (conn.socket === null || conn.socket.readyState === 3)) {
        this.table.delete(conn);
        conn.releaseBuffer();
        this.dispatchDisconnect(conn, conn.closeCause?.code ?? code, conn.closeCause?.reason ?? reason);
      }
    } catch (e) {
      this.d.logLimiter.log('error', 'internal:guard', { connectionId: conn.id, err: describeError(e) }, 'internal error while closing a faulty connection');
    }
  }

  /**
   * Runs $disconnect for a connection this node never held: its node died and this node claimed it
   * (cluster mode). The event is built from the record the dead node left (identity, authorizer,
   * domain name, connectedAt). Resolves when the handler has settled; a failure is logged, not retried.
   */
  async disconnectRecord(rec: ConnectionRecord, code: number, reason: string): Promise<void> {
    const route = this.d.routes.disconnect;
    if (!route?.integration) return;
    const subject = { id: rec.id, connectedAt: rec.connectedAt, identity: rec.identity, domainName: rec.domainName ?? '', authorizer: rec.authorizer } as unknown as Connection;
    this.m.disconnected(code);
    try {
      await route.integration.invoke(disconnectEvent(subject, this.d.api, code, reason), route.timeoutMs, route.functionName);
    } catch (err) {
      if (err instanceof IntegrationTimeout) this.d.counters.inc('integrationAborted', route.integration.kind);
      this.d.logLimiter.log('warn', 'disconnect-failed', { err, connectionId: rec.id }, '$disconnect integration failed');
    }
  }

  /** Runs $disconnect once for an accepted connection; its answer is ignored, its failure logged. */
  private dispatchDisconnect(conn: Connection, code: number, reason: string): void {
    if (conn.state === 'closed') return;
    conn.state = 'closed';
    if (conn.socket !== null) {
      // It was open (and has left the table just now): its traffic joins the ended connections'.
      const r = this.retired;
      r.messagesIn += conn.messagesIn;
      r.messagesOut += conn.messagesOut;
      r.bytesIn += conn.bytesIn;
      r.bytesOut += conn.bytesOut;
      this.m.disconnected(code);
      this.d.accessLog?.closed(conn, code, reason);
    }
    const route = this.d.routes.disconnect;
    if (!route?.integration || conn.noDisconnect) return;
    const p = route.integration
      .invoke(disconnectEvent(conn, this.d.api, code, reason), route.timeoutMs, route.functionName)
      .catch((err: unknown) => {
        if (err instanceof IntegrationTimeout) this.d.counters.inc('integrationAborted', route.integration!.kind);
        this.d.logLimiter.log('warn', 'disconnect-failed', { err, connectionId: conn.id }, '$disconnect integration failed');
      })
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
      if (now >= call.deadline && this.settle(call)) {
        // Cancel what can be cancelled (an HTTP request); an in-process handler runs on, its answer dropped.
        call.controller?.abort();
        if (this.timed) this.m.latency(call.route, call.elapsed());
        this.d.counters.inc('integrationAborted', call.route.integration!.kind);
        this.onFailure(call.conn, call.route, call.event, new IntegrationTimeout(call.route.timeoutMs));
      }
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
   * Drains (SIGTERM, `close()`): new handshakes get 503; clients are no longer read from, so no
   * new work starts; message handlers in flight and handshakes in progress (authorizer, $connect)
   * get up to `graceMs` to finish, and their route responses are delivered; then every client is
   * closed with 1001 "Going away" (terminated if it does not answer the close) and every
   * $disconnect, including those of handshakes whose $connect accepted them during the drain,
   * runs once before this resolves. Calling it again returns the same drain.
   */
  shutdown(graceMs = 25_000): Promise<void> {
    return (this.drained ??= this.drain(graceMs));
  }

  private async drain(graceMs: number): Promise<void> {
    const { logger, transport } = this.d;
    this.shuttingDown = true;
    const deadline = Date.now() + graceMs;
    logger.info({ connections: this.table.size, running: this.inFlight.size, handshakes: this.handshakes.size, graceSeconds: graceMs / 1000 }, 'draining: refusing new handshakes, letting running handlers finish');
    for (const conn of this.table.values()) if (conn.state === 'open') conn.socket?.pause();
    // The sweeper keeps running: calls past their own timeout are still answered with it.
    const busy = () => this.inFlight.size > 0 || this.handshakes.size > 0;
    while (busy() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (busy()) {
      logger.warn({ running: this.inFlight.size, handshakes: this.handshakes.size, graceSeconds: graceMs / 1000 }, 'drain: grace period over with handlers still running; closing anyway');
      for (const socket of this.handshakes) transport.reject(socket, 503);
    }
    clearInterval(this.sweeper);
    this.closingAll = true;
    for (const conn of this.table.values()) {
      conn.socket?.resume(); // the close handshake needs the client's close frame read
      conn.close(CLOSE.shutdown.code, CLOSE.shutdown.reason);
    }
    // Clients get at least a second to answer the close, however much of the grace is left.
    const closeBy = Math.max(deadline, Date.now() + 1000);
    while (this.table.size > 0 && Date.now() < closeBy) await new Promise((r) => setTimeout(r, 10));
    for (const conn of this.table.values()) conn.terminate(CLOSE.shutdown.code, CLOSE.shutdown.reason);
    while (this.table.size > 0 && Date.now() < closeBy + 1000) await new Promise((r) => setTimeout(r, 10));
    await Promise.allSettled([...this.pending]);
  }
}

/** One more message on `key` for the connection's access-log line (route keys are config-defined: the map stays small). */
function countRoute(conn: Connection, key: string): void {
  const counts = (conn.routeCounts ??= new Map());
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

/** A thrown value as log fields, whatever it is (a hostile object's getters may throw too). */
function describeError(err: unknown): { type?: string; message: string; stack?: string } {
  try {
    if (err instanceof Error) return { type: String(err.name), message: String(err.message), stack: String(err.stack) };
    return { message: String(err) };
  } catch {
    return { message: 'an error that cannot be described' };
  }
}

/** `::ffff:127.0.0.1` → `127.0.0.1`, as AWS reports IPv4 clients. */
function normalizeIp(ip: string | undefined): string {
  if (!ip) return '';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}
