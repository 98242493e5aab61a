import type { IncomingMessage, ServerResponse } from 'node:http';
import { isUtf8 } from 'node:buffer';
import type { Logger } from 'pino';
import type { SigV4Verifier } from '../auth/sigv4.js';
import type { Bus } from '../bus/bus.js';
import { newRequestId } from '../connection/ids.js';
import type { Counters } from '../observability/counters.js';
import type { LogLimiter } from '../observability/log-limiter.js';
import { discardBody, readBody, type BodyRules } from '../shared/request-body.js';
import { matchPath, type PathMatchOptions } from '../shared/path-match.js';
import type { Reply } from '../shared/reply.js';
import type { Metrics } from '../observability/metrics.js';
import type { AccessLog } from '../observability/access-log.js';
import type { ConnectionRecord } from '../registry/registry.js';
import { closeParams } from './close-params.js';
import { ApiError, badRequest, busFailure, gone, limitExceeded, payloadTooLarge, sendEmpty, sendError, sendJson } from './errors.js';
import type { TokenBucket } from '../shared/token-bucket.js';

/** One management call, parsed and authenticated. */
export interface ManagementCall {
  method: string;
  /** Path parameters, percent-decoded. */
  params: Record<string, string>;
  query: URLSearchParams;
  body: Buffer;
  requestId: string;
  res: Reply;
  /** The access key that signed the call (undefined with `auth: none`). */
  accessKeyId: string | undefined;
}

/** A management route: a method and a pattern of path segments after the stage (`:name` captures). */
export interface ManagementRoute {
  method: string;
  pattern: string[];
  /** Its name in metrics and access logs (AWS's operation name); default `METHOD /pattern`. */
  operation?: string;
  handle(call: ManagementCall): void | Promise<void>;
}

export interface ManagementDeps {
  stage: string;
  /** Largest payload accepted (AWS: 128 KB), 413 beyond. */
  messageBytes: number;
  /** Time a request has to deliver its whole body once its head is in (`limits.requestBodyTimeoutMs`); default 10 s. */
  requestBodyTimeoutMs?: number | undefined;
  /** Carries each operation to the connection's node. */
  bus: Bus;
  logger: Logger;
  /** null: `auth: none` (local development only). */
  verifier: SigV4Verifier | null;
  rateLimiter?: TokenBucket | undefined;
  /** Switchboard's own operations, added beside AWS's. */
  extensions?: ManagementRoute[] | undefined;
  /** Where refusals are counted. */
  counters: Counters;
  /** Rate-limited logging for what a caller can repeat. */
  logLimiter: LogLimiter;
  /** Calls by operation and status; default: not measured. */
  metrics?: Metrics | undefined;
  /** One access-log line per call; default: none. */
  accessLog?: AccessLog | undefined;
}

/** What a call's metrics and access-log line need, filled in as it is served. */
interface CallTrace {
  operation: string;
  connectionId: string | undefined;
  /** Signed by an accepted key (or `auth: none`): only such calls get an access-log line, so unauthenticated callers cannot turn requests into lines (their refusals are counted and rate-limited). */
  authenticated: boolean;
}

/** GetConnection's timestamps: ISO-8601 strings with milliseconds (epoch numbers break SDK v3). */
function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** The GetConnection answer for a record (camelCase on the wire; the SDKs map it to ConnectedAt, Identity…). */
export function connectionInfo(rec: ConnectionRecord): { connectedAt: string; identity: { sourceIp: string; userAgent: string | null }; lastActiveAt: string } {
  return { connectedAt: iso(rec.connectedAt), identity: { sourceIp: rec.identity.sourceIp, userAgent: rec.identity.userAgent ?? null }, lastActiveAt: iso(rec.lastActiveAt) };
}

/**
 * The Connection Management API: AWS's `POST/GET/DELETE /{stage}/@connections/{id}`,
 * SigV4-verified, with AWS's error shapes, plus whatever extension routes are given. It
 * talks to the bus (and its extensions to the registry), never to sockets.
 */
export class ManagementApi {
  private readonly routes: ManagementRoute[];
  /** How bodies are read: size limit, deadline, and what a missed deadline costs. */
  private readonly bodyRules: BodyRules;

  constructor(private readonly d: ManagementDeps) {
    const timeoutMs = d.requestBodyTimeoutMs ?? 10_000;
    this.bodyRules = {
      limit: d.messageBytes,
      timeoutMs,
      timedOut: (req) => {
        d.counters.inc('rejected', 'limits.requestBodyTimeoutMs');
        d.logLimiter.log('info', 'management-body-timeout', { reason: 'limits.requestBodyTimeoutMs', timeoutMs, method: req.method, sourceIp: req.socket.remoteAddress }, 'management request body not complete in time: connection closed');
      },
      tooLarge: () => payloadTooLarge(d.messageBytes),
      incomplete: () => badRequest('The request body was not complete when the connection closed'),
      timeout: () => new ApiError(408, 'RequestTimeoutException', `The request body was not complete within ${timeoutMs} ms`),
    };
    this.routes = [
      ...connectionRoutes(d.bus),
      ...(d.extensions ?? []),
    ];
  }

  /**
   * Serves one request whose path is `/{stage}/@…`. `segments` are the raw (still encoded)
   * path segments after the stage, empty ones already dropped.
   */
  handle(req: IncomingMessage, res: ServerResponse, rawPath: string, rawQuery: string, segments: string[]): void {
    const requestId = newRequestId();
    const metrics = this.d.metrics?.enabled ? this.d.metrics : undefined;
    const logging = this.d.accessLog?.writing === true;
    const trace: CallTrace | undefined = metrics !== undefined || logging ? { operation: 'unknown', connectionId: undefined, authenticated: false } : undefined;
    if (logging) this.observe(req, res, requestId, trace!);
    const started = metrics !== undefined && !logging ? Date.now() : 0;
    const served = this.serve(req, res, rawPath, rawQuery, segments, requestId, trace).catch((err: unknown) => answerFailure(err, res, { requestId, method: req.method, path: rawPath, api: 'management', counters: this.d.counters, logLimiter: this.d.logLimiter }));
    if (metrics !== undefined && !logging) {
      // Metrics alone: counted once the call is answered (every path writes its answer before it
      // settles), which costs less per call than a listener on the response; a caller whose
      // socket is gone by then left before its answer (status 0).
      const t = trace!;
      void served.then(() => metrics.management(t.operation, res.headersSent && !req.socket.destroyed ? res.statusCode : 0, Date.now() - started));
    }
  }

  /** Counts the call and writes its access-log line once its answer is out (or its socket gone). */
  private observe(req: IncomingMessage, res: ServerResponse, requestId: string, trace: CallTrace): void {
    // Whole milliseconds, one clock for both (the access log's responseLatency is in ms).
    const requestTimeEpoch = Date.now();
    // 'close' comes once per response: after 'finish' when the answer went out, alone when the
    // caller left first. One listener, never removed (the response object ends with the call).
    const done = () => {
      const ms = Date.now() - requestTimeEpoch;
      const status = res.headersSent ? res.statusCode : 0; // 0: the caller left before an answer
      this.d.metrics?.management(trace.operation, status, ms);
      if (trace.authenticated) this.d.accessLog?.management({ requestId, ip: req.socket.remoteAddress, httpMethod: req.method ?? '', operation: trace.operation, status, responseLatency: Math.round(ms), connectionId: trace.connectionId, requestTimeEpoch });
    };
    res.on('close', done);
  }

  private async serve(req: IncomingMessage, res: ServerResponse, rawPath: string, rawQuery: string, segments: string[], requestId: string, trace?: CallTrace): Promise<void> {
    const method = req.method ?? 'GET';
    // Judge the head before reading a byte of body: a caller with no valid key, scope or date
    // gets its 403 at once and its body is never buffered. Only the signature waits for the body.
    // What the head established is kept for the signature check, so headers and query are parsed once.
    const verifier = this.d.verifier;
    const head = verifier?.begin({ rawPath, rawQuery, headers: req.headers });
    if (head !== undefined && 'ok' in head) {
      discardBody(req, this.bodyRules);
      throw new ApiError(head.status, head.errorType, head.message);
    }
    const body = await readBody(req, res, this.bodyRules);
    let accessKeyId: string | undefined;
    if (verifier && head !== undefined) {
      let v = verifier.finish(head, { method, rawPath, rawQuery, headers: req.headers, body });
      if (v instanceof Promise) v = await v; // the presigned form; the header form answers at once
      if (!v.ok) throw new ApiError(v.status, v.errorType, v.message);
      accessKeyId = v.accessKeyId;
    }
    if (trace !== undefined) trace.authenticated = true;
    if (this.d.rateLimiter && !this.d.rateLimiter.take()) throw limitExceeded('Rate exceeded');

    let methodMatched = false;
    for (const route of this.routes) {
      const params = matchPath(route.pattern, segments, PATHS);
      if (params === null) continue;
      if (route.method !== method) {
        methodMatched = true;
        continue;
      }
      if (trace !== undefined) {
        trace.operation = route.operation ?? `${route.method} /${route.pattern.join('/')}`;
        trace.connectionId = params.connectionId;
      }
      await route.handle({ method, params, query: parseQuery(rawQuery), body, requestId, res, accessKeyId });
      return;
    }
    const path = `${this.d.stage}/${segments.join('/')}`;
    throw new ApiError(methodMatched ? 405 : 404, methodMatched ? 'MethodNotAllowedException' : 'NotFoundException', `No method found matching route ${path} for http method ${method}.`);
  }
}

/**
 * AWS's three calls on one connection, bound to the bus, which carries each to the connection's
 * owner (a direct call when that is this node): `POST` (PostToConnection: the raw body goes out as
 * a text frame when it is UTF-8, else binary), `GET` (GetConnection, from the owner: exact
 * `lastActiveAt`) and `DELETE` (DeleteConnection: AWS's 1000 "Connection Closed Normally", or the
 * `code`/`reason` asked for). Shared by the SigV4 API and the admin API.
 */
export function connectionRoutes(bus: Bus): ManagementRoute[] {
  return [
    {
      method: 'POST',
      pattern: ['@connections', ':connectionId'],
      operation: 'PostToConnection',
      handle: async (c) => {
        const outcome = await bus.send(c.params.connectionId!, c.body, !isUtf8(c.body));
        if (outcome === 'gone') throw gone();
        if (outcome === 'full') throw limitExceeded('The client-side send buffer is full; retry later');
        sendEmpty(c.res, 200, c.requestId);
      },
    },
    {
      method: 'GET',
      pattern: ['@connections', ':connectionId'],
      operation: 'GetConnection',
      handle: async (c) => {
        const rec = await bus.info(c.params.connectionId!);
        if (rec === undefined) throw gone();
        sendJson(c.res, 200, connectionInfo(rec), c.requestId);
      },
    },
    {
      method: 'DELETE',
      pattern: ['@connections', ':connectionId'],
      operation: 'DeleteConnection',
      handle: async (c) => {
        const close = closeParams(c.query);
        if (!(await bus.disconnect(c.params.connectionId!, close.code, close.reason))) throw gone();
        sendEmpty(c.res, 204, c.requestId);
      },
    },
  ];
}

/** Where a failed call is answered, counted and logged. */
export interface FailureContext {
  requestId: string;
  method: string | undefined;
  path: string;
  /** Names the counters (`managementRefused`/`adminRefused`, `internalErrors[management|admin]`) and log keys. */
  api: 'management' | 'admin';
  counters: Counters;
  logLimiter: LogLimiter;
}

/**
 * Answers a call that threw: an ApiError as AWS answers it (status, `x-amzn-ErrorType`,
 * `{"message"}`), anything else a 500. Callers can repeat a refusal at will, so each is counted
 * and logged once per status and window; 410 is an ordinary answer and neither.
 */
export function answerFailure(err: unknown, res: Reply, f: FailureContext): void {
  const mapped = busFailure(err);
  if (mapped !== undefined) {
    f.logLimiter.log('warn', `${f.api}-bus:${mapped.status}`, { requestId: f.requestId, method: f.method, path: f.path, err }, `${f.api} call could not be completed by the bus`);
    err = mapped;
  }
  if (err instanceof ApiError) {
    if (err.status >= 400 && err.status !== 410) {
      f.counters.inc(`${f.api}Refused`, err.status);
      f.logLimiter.log('info', `${f.api}-refused:${err.status}`, { requestId: f.requestId, method: f.method, path: f.path, status: err.status, error: err.errorType, reason: err.message }, `${f.api} call refused`);
    }
    if (!res.headersSent) sendError(res, err, f.requestId);
    return;
  }
  f.counters.inc('internalErrors', f.api);
  f.logLimiter.log('error', `${f.api}-failed`, { err, requestId: f.requestId, method: f.method, path: f.path }, `${f.api} call failed`);
  if (!res.headersSent) sendError(res, new ApiError(500, 'InternalServerErrorException', 'Internal server error'), f.requestId);
  else res.destroy();
}

/** Management paths: `%40connections` is `@connections` (SDKs encode the `@`); a bad or empty capture is a 400. */
const PATHS: PathMatchOptions = {
  encodedLiterals: true,
  emptyCapture: 'invalid',
  invalid: (p) => badRequest(p.kind === 'malformed' ? `Malformed percent-encoding in path segment "${p.segment}"` : `Empty ${p.name}`),
};

/**
 * The query string of a management call. Refuses (400) a value that is not valid percent-encoded
 * UTF-8 instead of letting URLSearchParams turn it into U+FFFD (a close reason would reach the
 * client mangled).
 */
function parseQuery(rawQuery: string): URLSearchParams {
  if (rawQuery === '') return new URLSearchParams();
  for (const pair of rawQuery.split('&')) {
    try {
      decodeURIComponent(pair.replace(/\+/g, ' '));
    } catch {
      throw badRequest(`Malformed query string: "${pair.slice(0, 64)}" is not valid percent-encoded UTF-8`);
    }
  }
  return new URLSearchParams(rawQuery);
}
