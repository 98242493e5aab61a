import assert from 'node:assert/strict';
import { createServer, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { ApiError, badRequest, forbidden, gone, limitExceeded, payloadTooLarge, sendEmpty, sendError, sendJson } from '../../src/management/errors.js';

/** Runs `write` as a real HTTP response and returns what a client receives. */
async function served(write: (res: ServerResponse) => void): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const server = createServer((_req, res) => write(res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    return await new Promise((resolve, reject) => {
      request({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, agent: false }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      })
        .on('error', reject)
        .end();
    });
  } finally {
    server.close();
  }
}

describe('management errors in AWS shape', () => {
  it('the named errors carry AWS\'s status, type and message', () => {
    const cases: Array<[ApiError, number, string, string, boolean]> = [
      [gone(), 410, 'GoneException', '', true],
      [badRequest('bad'), 400, 'BadRequestException', 'bad', false],
      [forbidden(), 403, 'ForbiddenException', 'Forbidden', false],
      [forbidden('no'), 403, 'ForbiddenException', 'no', false],
      [payloadTooLarge(1024), 413, 'PayloadTooLargeException', 'Request payload is larger than the maximum of 1024 bytes', false],
      [limitExceeded('Rate exceeded'), 429, 'LimitExceededException', 'Rate exceeded', false],
    ];
    for (const [e, status, type, message, bodyless] of cases) {
      assert.ok(e instanceof Error);
      assert.deepEqual([e.status, e.errorType, e.message, e.bodyless], [status, type, message, bodyless]);
    }
  });

  it('sendError: status, x-amzn-ErrorType, x-amzn-RequestId, JSON {"message"}; 410 with an empty body', async () => {
    const r = await served((res) => sendError(res, badRequest('Invalid "x"'), 'req-1'));
    assert.equal(r.status, 400);
    assert.equal(r.headers['x-amzn-errortype'], 'BadRequestException');
    assert.equal(r.headers['x-amzn-requestid'], 'req-1');
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers['content-length'], String(Buffer.byteLength(r.body)));
    assert.deepEqual(JSON.parse(r.body), { message: 'Invalid "x"' });
    const g = await served((res) => sendError(res, gone(), 'req-2'));
    assert.equal(g.status, 410);
    assert.equal(g.body, '');
    assert.equal(g.headers['content-length'], '0');
    assert.equal(g.headers['x-amzn-errortype'], 'GoneException');
    const u = await served((res) => sendError(res, badRequest('é'), 'r'));
    assert.equal(u.headers['content-length'], String(Buffer.byteLength('{"message":"é"}')));
  });

  it('sendJson and sendEmpty: request id, JSON with its length; 200 empty with a length of 0, 204 without a body or type', async () => {
    const j = await served((res) => sendJson(res, 200, { closed: 3 }, 'req-3'));
    assert.deepEqual([j.status, j.body, j.headers['content-type'], j.headers['content-length'], j.headers['x-amzn-requestid']], [200, '{"closed":3}', 'application/json', '12', 'req-3']);
    assert.equal(j.headers['x-amzn-errortype'], undefined);
    const e200 = await served((res) => sendEmpty(res, 200, 'req-4'));
    assert.deepEqual([e200.status, e200.body, e200.headers['content-type'], e200.headers['content-length'], e200.headers['x-amzn-requestid']], [200, '', 'application/json', '0', 'req-4']);
    const e204 = await served((res) => sendEmpty(res, 204, 'req-5'));
    assert.deepEqual([e204.status, e204.body, e204.headers['content-type'], e204.headers['x-amzn-requestid']], [204, '', undefined, 'req-5']);
  });
});
