// AWS-shaped events, checked field by field against the shapes of AWS's captures
// (shared/spec/aws-events): names, order, copies, the error frame byte for byte.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { Connection } from '../../src/connection/connection.js';
import { authorizerEvent, connectEvent, disconnectEvent, errorFrame, handshakeInfo, messageEvent, routeArn, type ApiInfo } from '../../src/events/events.js';
import { clfTime } from '../../src/events/time.js';

const API: ApiInfo = { apiId: 'abc123', stage: 'prod', region: 'eu-west-1', accountId: '123456789012' };
const T = Date.UTC(2026, 10, 4, 9, 5, 7, 250); // 04/Nov/2026:09:05:07

function conn(identity: { sourceIp: string; userAgent?: string } = { sourceIp: '203.0.113.7', userAgent: 'test-agent' }): Connection {
  return new Connection('Conn1234567890abcd', 'prod', T - 1000, identity, 'ws.example.com', 'local', 1024);
}

const req = (rawHeaders: string[], localPort = 8080) => ({ rawHeaders, socket: { localPort } }) as unknown as IncomingMessage;

describe('clfTime', () => {
  it('formats UTC in AWS\'s CLF form, zero-padded, and follows the second', () => {
    assert.equal(clfTime(T), '04/Nov/2026:09:05:07 +0000');
    assert.equal(clfTime(T + 10), '04/Nov/2026:09:05:07 +0000');
    assert.equal(clfTime(Date.UTC(2026, 11, 31, 23, 59, 59)), '31/Dec/2026:23:59:59 +0000');
    assert.equal(clfTime(Date.UTC(2027, 0, 1, 0, 0, 0)), '01/Jan/2027:00:00:00 +0000');
    assert.equal(clfTime(Date.UTC(2026, 4, 10, 10, 10, 10)), '10/May/2026:10:10:10 +0000');
    const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
    for (let m = 0; m < 12; m++) assert.equal(clfTime(Date.UTC(2025, m, 9, 9, 9, 9)), `09/${months[m]}/2025:09:09:09 +0000`);
  });
});

describe('handshakeInfo', () => {
  // How client-sent X-Forwarded-* headers are treated depends on trustProxy (tested with it), not pinned here.
  it('keeps the client\'s casing, last value wins, every value in multiValueHeaders; adds what API Gateway adds', () => {
    const hs = handshakeInfo(req(['Host', 'h', 'X-Thing', 'a', 'X-Thing', 'b', 'Connection', 'Upgrade']), 'a=1&b=2&a=3', '198.51.100.1', false);
    assert.equal(hs.headers['X-Thing'], 'b');
    assert.deepEqual(hs.multiValueHeaders['X-Thing'], ['a', 'b']);
    assert.equal(hs.headers.Connection, 'Upgrade');
    assert.equal(hs.headers['X-Forwarded-For'], '198.51.100.1');
    assert.deepEqual(hs.multiValueHeaders['X-Forwarded-For'], ['198.51.100.1']);
    assert.equal(hs.headers['X-Forwarded-Port'], '8080');
    assert.equal(hs.headers['X-Forwarded-Proto'], 'http');
    assert.match(hs.headers['X-Amzn-Trace-Id']!, /^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
    assert.deepEqual({ ...hs.query }, { a: '3', b: '2' }); // prototype-free maps: compared by their own keys
    assert.deepEqual({ ...hs.multiValueQuery }, { a: ['1', '3'], b: ['2'] });
    const secure = handshakeInfo(req(['Host', 'h']), '', '1.2.3.4', true);
    assert.equal(secure.headers['X-Forwarded-Proto'], 'https');
    assert.equal(handshakeInfo(req(['Host', 'h']), '', '1.2.3.4', false).headers['X-Forwarded-Proto'], 'http');
    assert.equal(secure.query, undefined);
    assert.equal(secure.multiValueQuery, undefined);
    assert.equal(handshakeInfo({ rawHeaders: [], socket: {} } as unknown as IncomingMessage, '', 'x', false).headers['X-Forwarded-Port'], '');
  });
});

describe('events', () => {
  const hs = handshakeInfo(req(['Host', 'ws.example.com', 'Connection', 'Upgrade', 'upgrade', 'websocket', 'Sec-WebSocket-Key', 'k']), 'token=t', '203.0.113.7', false);

  it('$connect: headers without Connection/Upgrade, the query, and AWS\'s requestContext in AWS\'s key order', () => {
    const c = conn();
    const ev = connectEvent(c, API, hs, T);
    assert.equal(ev.headers.Connection, undefined);
    assert.equal(ev.headers.upgrade, undefined);
    assert.equal(ev.multiValueHeaders.Connection, undefined);
    assert.equal(ev.headers['Sec-WebSocket-Key'], 'k');
    assert.deepEqual(ev.multiValueHeaders['Sec-WebSocket-Key'], ['k']);
    assert.deepEqual(ev.queryStringParameters, { token: 't' });
    assert.deepEqual(ev.multiValueQueryStringParameters, { token: ['t'] });
    assert.equal(ev.isBase64Encoded, false);
    const rc = ev.requestContext;
    assert.deepEqual(Object.keys(rc), ['routeKey', 'eventType', 'extendedRequestId', 'requestTime', 'messageDirection', 'stage', 'connectedAt', 'requestTimeEpoch', 'identity', 'requestId', 'domainName', 'connectionId', 'apiId']);
    assert.deepEqual([rc.routeKey, rc.eventType, rc.messageDirection, rc.stage, rc.connectedAt, rc.requestTimeEpoch, rc.domainName, rc.connectionId, rc.apiId], ['$connect', 'CONNECT', 'IN', 'prod', T - 1000, T, 'ws.example.com', 'Conn1234567890abcd', 'abc123']);
    assert.equal(rc.requestTime, '04/Nov/2026:09:05:07 +0000');
    assert.equal(rc.extendedRequestId, rc.requestId);
    assert.deepEqual(rc.identity, { sourceIp: '203.0.113.7', userAgent: 'test-agent' });
    const noQuery = connectEvent(c, API, handshakeInfo(req(['Host', 'h']), '', 'x', false), T);
    assert.equal('queryStringParameters' in noQuery, false);
    assert.equal('multiValueQueryStringParameters' in noQuery, false);
  });

  it('MESSAGE: body, base64 flag, a messageId after routeKey, and copies of identity and authorizer', () => {
    const c = conn({ sourceIp: '203.0.113.7' });
    c.authorizer = { principalId: 'alice', role: 'admin' };
    const ev = messageEvent(c, API, 'echo', 'aGk=', true, T);
    assert.equal(ev.body, 'aGk=');
    assert.equal(ev.isBase64Encoded, true);
    const rc = ev.requestContext;
    assert.deepEqual(Object.keys(rc).slice(0, 3), ['routeKey', 'messageId', 'eventType']);
    assert.equal(rc.routeKey, 'echo');
    assert.equal(rc.eventType, 'MESSAGE');
    assert.equal(rc.messageDirection, 'IN');
    assert.equal(rc.stage, 'prod');
    assert.match(rc.messageId!, /^[A-Za-z0-9_-]{16}$/);
    assert.notEqual(rc.messageId, rc.requestId);
    assert.deepEqual(rc.identity, { sourceIp: '203.0.113.7' });
    assert.equal('userAgent' in rc.identity, false);
    assert.deepEqual(rc.authorizer, { principalId: 'alice', role: 'admin' });
    rc.identity.sourceIp = 'changed';
    rc.authorizer!.role = 'changed';
    assert.equal(c.identity.sourceIp, '203.0.113.7', 'a handler changing its event changes nothing of the connection');
    assert.equal(c.authorizer.role, 'admin');
    assert.equal('authorizer' in messageEvent(conn(), API, 'echo', 'x', false, T).requestContext, false);
    const two = [messageEvent(c, API, 'a', '', false, T), messageEvent(c, API, 'a', '', false, T)];
    assert.notEqual(two[0]!.requestContext.requestId, two[1]!.requestContext.requestId);
  });

  it('$disconnect: AWS\'s synthetic headers, the close code and reason in AWS\'s places', () => {
    const ev = disconnectEvent(conn(), API, 4001, 'bye', T);
    assert.deepEqual(ev.headers, { Host: 'ws.example.com', 'x-api-key': '', 'X-Forwarded-For': '', 'x-restapi': '' });
    assert.deepEqual(ev.multiValueHeaders, { Host: ['ws.example.com'], 'x-api-key': [''], 'X-Forwarded-For': [''], 'x-restapi': [''] });
    const keys = Object.keys(ev.requestContext);
    assert.deepEqual(keys.slice(0, 3), ['routeKey', 'disconnectStatusCode', 'eventType']);
    // AWS's capture places the reason right after messageDirection.
    assert.equal(keys[keys.indexOf('messageDirection') + 1], 'disconnectReason');
    assert.equal(ev.requestContext.routeKey, '$disconnect');
    assert.equal(ev.requestContext.eventType, 'DISCONNECT');
    assert.equal(ev.requestContext.disconnectStatusCode, 4001);
    assert.equal(ev.requestContext.disconnectReason, 'bye');
    assert.equal(ev.isBase64Encoded, false);
  });

  it('authorizer event: REQUEST, the $connect ARN, every handshake header (Connection too), the query', () => {
    const ev = authorizerEvent(conn(), API, hs, T);
    assert.equal(ev.type, 'REQUEST');
    assert.equal(ev.methodArn, 'arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/$connect');
    assert.equal(ev.headers.Connection, 'Upgrade');
    assert.deepEqual(ev.stageVariables, {});
    assert.deepEqual(ev.queryStringParameters, { token: 't' });
    assert.deepEqual(ev.multiValueQueryStringParameters, { token: ['t'] });
    assert.equal(ev.requestContext.routeKey, '$connect');
    assert.equal(ev.requestContext.eventType, 'CONNECT');
    // Unlike $connect's, AWS's authorizer event carries empty query maps when there is no query string.
    const noQuery = authorizerEvent(conn(), API, handshakeInfo(req(['Host', 'h']), '', 'x', false), T);
    assert.deepEqual(noQuery.queryStringParameters, {});
    assert.deepEqual(noQuery.multiValueQueryStringParameters, {});
  });

  it('routeArn and the error frame, byte for byte', () => {
    assert.equal(routeArn(API, 'echo'), 'arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/echo');
    assert.equal(errorFrame('Forbidden', 'c1', 'r1'), '{"message": "Forbidden", "connectionId":"c1", "requestId":"r1"}');
    assert.equal(errorFrame('say "hi"', 'c', 'r'), '{"message": "say \\"hi\\"", "connectionId":"c", "requestId":"r"}');
  });
});
