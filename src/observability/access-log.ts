import type { Connection } from '../connection/connection.js';
import type { ApiInfo } from '../events/events.js';
import { clfTime as requestTime } from '../events/time.js';
import type { Logger } from './logger.js';

/** `logging.accessLog`. */
export interface AccessLogOptions {
  enabled: boolean;
  /** A line per connection when it opens too (the close line always has everything). */
  open: boolean;
  /** An AWS-style template of `$context.name` variables; absent: the JSON object. */
  format?: string | undefined;
}

/** One management call, as its access-log line reports it. */
export interface ManagementAccess {
  requestId: string;
  ip: string | undefined;
  httpMethod: string;
  /** PostToConnection, GetConnection, DeleteConnection, or an extension's `METHOD /path` pattern. */
  operation: string;
  status: number;
  /** Milliseconds from the request's head to the answer. */
  responseLatency: number;
  /** The connection the call was about, when it names one. */
  connectionId: string | undefined;
  /** Epoch ms when the request arrived. */
  requestTimeEpoch: number;
}

type Fields = Record<string, string | number | Record<string, number> | undefined>;

const VARIABLE = /\$context\.([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)/g;

/**
 * Access logs: one line per connection when it ends (eventType DISCONNECT: close code and
 * reason, duration, messages and bytes in and out, messages per route), optionally one when it
 * opens (eventType CONNECT), and one per management call. Fields carry the names of AWS's
 * `$context` access-log variables where one exists (`requestId`, `ip`, `requestTime`,
 * `requestTimeEpoch`, `connectionId`, `connectedAt`, `eventType`, `routeKey`, `status`,
 * `stage`, `apiId`, `identity.sourceIp`, `identity.userAgent`, `disconnectStatusCode`,
 * `disconnectReason`, `responseLatency`); Switchboard's own are `durationMs`, `messagesIn`,
 * `messagesOut`, `bytesIn`, `bytesOut`, `routes`, `operation`, `httpMethod`. Never a message
 * body, a header, a token or a signature. Written at `info` through the gateway's logger with
 * `log: "access"`; with `format`, the line's `msg` is the template with its variables filled
 * in (`-` for a variable without a value).
 */
export class AccessLog {
  readonly enabled: boolean;
  private readonly logOpen: boolean;
  private readonly format: string | undefined;
  private readonly log: Logger;

  constructor(
    logger: Logger,
    opts: AccessLogOptions,
    private readonly api: ApiInfo,
  ) {
    this.enabled = opts.enabled;
    this.logOpen = opts.enabled && opts.open;
    this.format = opts.format;
    this.log = logger.child({ log: 'access' });
  }

  /**
   * True when a line written now would go out: enabled, and the logger at `info` or below. The
   * per-call paths ask this before building anything (a line below the logger's level is dropped
   * by the logger anyway).
   */
  get writing(): boolean {
    return this.enabled && this.log.isLevelEnabled('info');
  }

  /** A connection opened (only with `logging.accessLog.open`). */
  opened(conn: Connection): void {
    if (!this.logOpen || !this.writing) return;
    const now = Date.now();
    this.write({
      eventType: 'CONNECT',
      routeKey: '$connect',
      connectionId: conn.id,
      ip: conn.identity.sourceIp,
      'identity.sourceIp': conn.identity.sourceIp,
      'identity.userAgent': conn.identity.userAgent,
      requestTime: requestTime(now),
      requestTimeEpoch: now,
      connectedAt: conn.connectedAt,
      status: 200,
    });
  }

  /** A connection ended with `code`/`reason` (the ones its $disconnect reports). */
  closed(conn: Connection, code: number, reason: string): void {
    if (!this.writing) return;
    const now = Date.now();
    let routes: Record<string, number> | undefined;
    if (conn.routeCounts !== undefined) {
      routes = Object.create(null) as Record<string, number>;
      for (const [k, v] of conn.routeCounts) routes[k] = v;
    }
    this.write({
      eventType: 'DISCONNECT',
      routeKey: '$disconnect',
      connectionId: conn.id,
      ip: conn.identity.sourceIp,
      'identity.sourceIp': conn.identity.sourceIp,
      'identity.userAgent': conn.identity.userAgent,
      requestTime: requestTime(now),
      requestTimeEpoch: now,
      connectedAt: conn.connectedAt,
      disconnectStatusCode: code,
      disconnectReason: reason,
      durationMs: now - conn.connectedAt,
      messagesIn: conn.messagesIn,
      messagesOut: conn.messagesOut,
      bytesIn: conn.bytesIn,
      bytesOut: conn.bytesOut,
      routes,
    });
  }

  /** A management call was answered. */
  management(a: ManagementAccess): void {
    if (!this.writing) return;
    this.write({
      eventType: 'MANAGEMENT',
      requestId: a.requestId,
      ip: a.ip,
      'identity.sourceIp': a.ip,
      requestTime: requestTime(a.requestTimeEpoch),
      requestTimeEpoch: a.requestTimeEpoch,
      httpMethod: a.httpMethod,
      operation: a.operation,
      status: a.status,
      responseLatency: a.responseLatency,
      connectionId: a.connectionId,
    });
  }

  private write(f: Fields): void {
    f.apiId = this.api.apiId;
    f.stage = this.api.stage;
    if (this.format === undefined) this.log.info(f);
    else this.log.info(render(this.format, f));
  }
}

/** Fills `$context.name` variables of an AWS-style access-log format. */
export function render(format: string, f: Fields): string {
  return format.replace(VARIABLE, (whole, name: string) => {
    // `$context.status.` at a sentence end: the trailing dot is not part of the name.
    let key = name;
    let tail = '';
    while (!(key in f) && key.includes('.')) {
      const i = key.lastIndexOf('.');
      tail = key.slice(i) + tail;
      key = key.slice(0, i);
    }
    const v = f[key];
    if (v === undefined) return `-${tail}`;
    return (typeof v === 'object' ? JSON.stringify(v) : String(v)) + tail;
  });
}
