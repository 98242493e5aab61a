import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Connection } from '../connection/connection.js';
import { newRequestId } from '../connection/ids.js';
import { clfTime } from './time.js';

/**
 * AWS-shaped events (Lambda proxy format for WebSocket APIs), built in one place so every
 * integration sees the same shape. Key order follows AWS's captures: JSON order is not
 * semantic, but it costs nothing and keeps snapshot tests of migrated handlers stable.
 */

/** The fixed facts about this API that appear in every event. */
export interface ApiInfo {
  apiId: string;
  stage: string;
  region: string;
  accountId: string;
}

export interface RequestContext {
  routeKey: string;
  authorizer?: Record<string, unknown>;
  messageId?: string;
  disconnectStatusCode?: number;
  eventType: 'CONNECT' | 'MESSAGE' | 'DISCONNECT';
  extendedRequestId: string;
  requestTime: string;
  messageDirection: 'IN';
  disconnectReason?: string;
  stage: string;
  connectedAt: number;
  requestTimeEpoch: number;
  identity: { sourceIp: string; userAgent?: string };
  requestId: string;
  domainName: string;
  connectionId: string;
  apiId: string;
}

export interface ConnectEvent {
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
  queryStringParameters?: Record<string, string>;
  multiValueQueryStringParameters?: Record<string, string[]>;
  requestContext: RequestContext;
  isBase64Encoded: false;
}

export interface MessageEvent {
  requestContext: RequestContext;
  body: string;
  isBase64Encoded: boolean;
}

export interface DisconnectEvent {
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
  requestContext: RequestContext;
  isBase64Encoded: false;
}

/** The event a REQUEST authorizer receives on $connect. */
export interface AuthorizerEvent {
  type: 'REQUEST';
  methodArn: string;
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
  queryStringParameters: Record<string, string>;
  multiValueQueryStringParameters: Record<string, string[]>;
  stageVariables: Record<string, string>;
  requestContext: RequestContext;
}

export type GatewayEvent = ConnectEvent | MessageEvent | DisconnectEvent;

/**
 * The parsed parts of an upgrade request that $connect and authorizer events carry. The maps have
 * no prototype: their keys are the client's choice (`constructor`, `__proto__`, `toString`…).
 */
export interface HandshakeInfo {
  /** Every header with the client's casing, single-valued (last value wins, as REST v1). */
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
  query?: Record<string, string>;
  multiValueQuery?: Record<string, string[]>;
}

const HOP_BY_HOP = new Set(['connection', 'upgrade']);
/** Headers the gateway sets itself (lower case): what a client sends under these names is replaced or extended. */
const XFF = 'x-forwarded-for';
const XFP = 'x-forwarded-proto';
const XFPORT = 'x-forwarded-port';
const TRACE = 'x-amzn-trace-id';

/** A map for keys a client chose: no prototype, so no name is special. */
function dict<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/** `Root=1-{8 hex digits of epoch seconds}-{24 hex digits}`, as AWS writes X-Amzn-Trace-Id. */
export function traceId(nowMs = Date.now()): string {
  return `Root=1-${Math.floor(nowMs / 1000).toString(16).padStart(8, '0')}-${randomBytes(12).toString('hex')}`;
}

/**
 * Reads headers (with the client's casing) and the query string of an upgrade request, and adds
 * what API Gateway adds in front of the integration: X-Amzn-Trace-Id, X-Forwarded-For with the
 * peer's address appended to whatever the client sent, and X-Forwarded-Proto / X-Forwarded-Port
 * of what the gateway itself serves. When the peer is a trusted proxy (`trustProxy`), the
 * X-Forwarded-Proto / X-Forwarded-Port it sent are kept.
 */
export function handshakeInfo(req: IncomingMessage, rawQuery: string, peerIp: string, secure: boolean, trustedPeer = false): HandshakeInfo {
  const headers = dict<string>();
  const multiValueHeaders = dict<string[]>();
  const raw = req.rawHeaders;
  const forwardedFor: string[] = [];
  let trace = false;
  let proto = false;
  let port = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const lower = name.toLowerCase();
    if (lower === XFF) {
      forwardedFor.push(value);
      continue;
    }
    if (lower === XFP || lower === XFPORT) {
      if (!trustedPeer) continue;
      if (lower === XFP) proto = true;
      else port = true;
    } else if (lower === TRACE) trace = true;
    headers[name] = value;
    (multiValueHeaders[name] ??= []).push(value);
  }
  const add = (k: string, v: string) => {
    headers[k] = v;
    multiValueHeaders[k] = [v];
  };
  if (!trace) add('X-Amzn-Trace-Id', traceId());
  add('X-Forwarded-For', forwardedFor.length === 0 ? peerIp : `${forwardedFor.join(', ')}, ${peerIp}`);
  if (!port) add('X-Forwarded-Port', String(req.socket.localPort ?? ''));
  if (!proto) add('X-Forwarded-Proto', secure ? 'https' : 'http');
  const info: HandshakeInfo = { headers, multiValueHeaders };
  if (rawQuery !== '') {
    const query = dict<string>();
    const multiValueQuery = dict<string[]>();
    for (const [k, v] of new URLSearchParams(rawQuery)) {
      query[k] = v;
      (multiValueQuery[k] ??= []).push(v);
    }
    info.query = query;
    info.multiValueQuery = multiValueQuery;
  }
  return info;
}

/**
 * A map as an ordinary object for an event, as Lambda's JSON.parse would give it: every key an
 * own property, `__proto__` included (plain assignment would set the prototype instead).
 */
function plain<T>(m: Record<string, T>, skip?: (name: string) => boolean): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k in m) {
    if (skip !== undefined && skip(k)) continue;
    if (k === '__proto__') Object.defineProperty(out, k, { value: m[k], enumerable: true, writable: true, configurable: true });
    else out[k] = m[k]!;
  }
  return out;
}

const isHopByHop = (name: string) => HOP_BY_HOP.has(name.toLowerCase());

function context(
  conn: Connection,
  api: ApiInfo,
  routeKey: string,
  eventType: RequestContext['eventType'],
  now: number,
  messageId: string | undefined,
): RequestContext {
  const requestId = newRequestId();
  const requestTime = clfTime(now);
  // Copies: a handler may change its event (Lambda hands each one a fresh copy), and must not
  // change what GetConnection reports or what the next event (or another connection sharing a
  // cached authorizer result) sees.
  const identity = { ...conn.identity };
  // Two literals rather than a `delete`: keeps one stable object shape per event type.
  const rc: RequestContext =
    messageId === undefined
      ? { routeKey, eventType, extendedRequestId: requestId, requestTime, messageDirection: 'IN', stage: api.stage, connectedAt: conn.connectedAt, requestTimeEpoch: now, identity, requestId, domainName: conn.domainName, connectionId: conn.id, apiId: api.apiId }
      : { routeKey, messageId, eventType, extendedRequestId: requestId, requestTime, messageDirection: 'IN', stage: api.stage, connectedAt: conn.connectedAt, requestTimeEpoch: now, identity, requestId, domainName: conn.domainName, connectionId: conn.id, apiId: api.apiId };
  if (conn.authorizer !== undefined) rc.authorizer = { ...conn.authorizer };
  return rc;
}

/** The $connect event. Headers and query string appear only here (and in the authorizer's event). */
export function connectEvent(conn: Connection, api: ApiInfo, hs: HandshakeInfo, now = Date.now()): ConnectEvent {
  const ev: ConnectEvent = {
    headers: plain(hs.headers, isHopByHop),
    multiValueHeaders: plain(hs.multiValueHeaders, isHopByHop),
    requestContext: context(conn, api, '$connect', 'CONNECT', now, undefined),
    isBase64Encoded: false,
  };
  // AWS omits both query fields when the URL has no query string (spec §2.2).
  if (hs.query) {
    ev.queryStringParameters = plain(hs.query);
    ev.multiValueQueryStringParameters = plain(hs.multiValueQuery!);
  }
  return ev;
}

/** A message event: `body` is the text, or base64 of a binary frame with `isBase64Encoded: true`. */
export function messageEvent(conn: Connection, api: ApiInfo, routeKey: string, body: string, isBase64Encoded: boolean, now: number): MessageEvent {
  return { requestContext: context(conn, api, routeKey, 'MESSAGE', now, newRequestId()), body, isBase64Encoded };
}

/** The $disconnect event, with AWS's fixed synthetic headers. */
export function disconnectEvent(conn: Connection, api: ApiInfo, code: number, reason: string, now = Date.now()): DisconnectEvent {
  const rc = context(conn, api, '$disconnect', 'DISCONNECT', now, undefined);
  // AWS's order: disconnectStatusCode right after routeKey, disconnectReason after messageDirection.
  const { routeKey, eventType, extendedRequestId, requestTime, messageDirection, ...rest } = rc;
  const requestContext = { routeKey, disconnectStatusCode: code, eventType, extendedRequestId, requestTime, messageDirection, disconnectReason: reason, ...rest } as RequestContext;
  return {
    headers: { Host: conn.domainName, 'x-api-key': '', 'X-Forwarded-For': '', 'x-restapi': '' },
    multiValueHeaders: { Host: [conn.domainName], 'x-api-key': [''], 'X-Forwarded-For': [''], 'x-restapi': [''] },
    requestContext,
    isBase64Encoded: false,
  };
}

/** `arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{routeKey}` */
export function routeArn(api: ApiInfo, routeKey: string): string {
  return `arn:aws:execute-api:${api.region}:${api.accountId}:${api.apiId}/${api.stage}/${routeKey}`;
}

/**
 * The REQUEST authorizer's event: every handshake header (including Connection and Upgrade), the
 * query string and the $connect context. Unlike $connect, AWS always sends both query fields,
 * `{}` without a query string (capture: spec/aws-events/authorizer.json).
 */
export function authorizerEvent(conn: Connection, api: ApiInfo, hs: HandshakeInfo, now = Date.now()): AuthorizerEvent {
  return {
    type: 'REQUEST',
    methodArn: routeArn(api, '$connect'),
    headers: plain(hs.headers),
    multiValueHeaders: plain(hs.multiValueHeaders),
    queryStringParameters: hs.query ? plain(hs.query) : {},
    multiValueQueryStringParameters: hs.multiValueQuery ? plain(hs.multiValueQuery) : {},
    stageVariables: {},
    requestContext: context(conn, api, '$connect', 'CONNECT', now, undefined),
  };
}

/**
 * The error frame AWS sends on message routes, byte for byte (note AWS's uneven spacing):
 * `{"message": "Forbidden", "connectionId":"…", "requestId":"…"}`.
 */
export function errorFrame(message: string, connectionId: string, requestId: string): string {
  return `{"message": ${JSON.stringify(message)}, "connectionId":${JSON.stringify(connectionId)}, "requestId":${JSON.stringify(requestId)}}`;
}
