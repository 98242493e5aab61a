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
  queryStringParameters?: Record<string, string>;
  multiValueQueryStringParameters?: Record<string, string[]>;
  stageVariables: Record<string, string>;
  requestContext: RequestContext;
}

export type GatewayEvent = ConnectEvent | MessageEvent | DisconnectEvent;

/** The parsed parts of an upgrade request that $connect and authorizer events carry. */
export interface HandshakeInfo {
  /** Every header with the client's casing, single-valued (last value wins, as REST v1). */
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
  query?: Record<string, string>;
  multiValueQuery?: Record<string, string[]>;
}

const HOP_BY_HOP = new Set(['connection', 'upgrade']);

/** Reads headers (with the client's casing) and the query string of an upgrade request. */
export function handshakeInfo(req: IncomingMessage, rawQuery: string, sourceIp: string, secure: boolean): HandshakeInfo {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    headers[name] = value;
    (multiValueHeaders[name] ??= []).push(value);
  }
  // What API Gateway adds in front of the integration.
  const forwarded: Record<string, string> = {
    'X-Amzn-Trace-Id': `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${newRequestId()}${newRequestId().slice(8)}`,
    'X-Forwarded-For': sourceIp,
    'X-Forwarded-Port': String(req.socket.localPort ?? ''),
    'X-Forwarded-Proto': secure ? 'https' : 'http',
  };
  for (const [k, v] of Object.entries(forwarded)) {
    if (headers[k] === undefined) {
      headers[k] = v;
      multiValueHeaders[k] = [v];
    }
  }
  const info: HandshakeInfo = { headers, multiValueHeaders };
  if (rawQuery !== '') {
    const query: Record<string, string> = {};
    const multiValueQuery: Record<string, string[]> = {};
    for (const [k, v] of new URLSearchParams(rawQuery)) {
      query[k] = v;
      (multiValueQuery[k] ??= []).push(v);
    }
    info.query = query;
    info.multiValueQuery = multiValueQuery;
  }
  return info;
}

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
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (const name in hs.headers) {
    if (HOP_BY_HOP.has(name.toLowerCase())) continue;
    headers[name] = hs.headers[name]!;
    multiValueHeaders[name] = hs.multiValueHeaders[name]!;
  }
  const ev: ConnectEvent = { headers, multiValueHeaders, requestContext: context(conn, api, '$connect', 'CONNECT', now, undefined), isBase64Encoded: false };
  if (hs.query) {
    ev.queryStringParameters = hs.query;
    ev.multiValueQueryStringParameters = hs.multiValueQuery!;
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
  // AWS places the close fields right after routeKey; rebuild to keep that order.
  const { routeKey, ...rest } = rc;
  const requestContext = { routeKey, disconnectStatusCode: code, ...rest, disconnectReason: reason } as RequestContext;
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

/** The REQUEST authorizer's event: every handshake header (including Connection and Upgrade), the query string and the $connect context. */
export function authorizerEvent(conn: Connection, api: ApiInfo, hs: HandshakeInfo, now = Date.now()): AuthorizerEvent {
  const ev: AuthorizerEvent = {
    type: 'REQUEST',
    methodArn: routeArn(api, '$connect'),
    headers: hs.headers,
    multiValueHeaders: hs.multiValueHeaders,
    stageVariables: {},
    requestContext: context(conn, api, '$connect', 'CONNECT', now, undefined),
  };
  if (hs.query) {
    ev.queryStringParameters = hs.query;
    ev.multiValueQueryStringParameters = hs.multiValueQuery!;
  }
  return ev;
}

/**
 * The error frame AWS sends on message routes, byte for byte (note AWS's uneven spacing):
 * `{"message": "Forbidden", "connectionId":"…", "requestId":"…"}`.
 */
export function errorFrame(message: string, connectionId: string, requestId: string): string {
  return `{"message": ${JSON.stringify(message)}, "connectionId":${JSON.stringify(connectionId)}, "requestId":${JSON.stringify(requestId)}}`;
}
