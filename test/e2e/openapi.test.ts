import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import SwaggerParser from '@apidevtools/swagger-parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { parse as parseYaml } from 'yaml';
import type { Gateway } from '../../src/index.js';
import { TestClient } from '../helpers/client.js';
import { ROOT, startGateway } from '../helpers/gateway.js';
import { call, unsigned, type RawResponse } from '../helpers/signed.js';

// docs/openapi.yaml is checked, not trusted: linted by a real validator, its examples checked
// against its own schemas and against the server, and live answers (success and error)
// validated against the schemas it declares for them.

const DOC_PATH = path.join(ROOT, 'docs', 'openapi.yaml');
const ID = /^[A-Za-z0-9][A-Za-z0-9_-]{17}$/; // what newConnectionId issues

function newAjv(): Ajv2020 {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  // The document's own keyword for the close reason: a limit in UTF-8 bytes, as the server counts.
  ajv.addKeyword({ keyword: 'x-maxBytes', type: 'string', schemaType: 'number', validate: (max: number, data: string) => Buffer.byteLength(data) <= max });
  return ajv;
}

describe('docs/openapi.yaml', () => {
  let doc: any;
  before(async () => {
    doc = await SwaggerParser.dereference(parseYaml(readFileSync(DOC_PATH, 'utf8')));
  });

  it('is a valid OpenAPI document (@apidevtools/swagger-parser validate)', async () => {
    // validate() rejects a document that is not valid OpenAPI (3.1 here), and any $ref it cannot resolve.
    await SwaggerParser.validate(parseYaml(readFileSync(DOC_PATH, 'utf8')));
    assert.equal(doc.openapi, '3.1.0');
    assert.equal(Object.keys(doc.paths).length, 9);
  });

  it('its examples are valid against their own schemas, with ids and a nextToken the server issues', () => {
    const ajv = newAjv();
    let checked = 0;
    const walk = (node: any, where: string): void => {
      if (node === null || typeof node !== 'object') return;
      if (node.schema && 'example' in node && node.example !== undefined) {
        const schema = node.schema;
        const value = schema.type === 'integer' || (schema.oneOf && typeof node.example === 'number') ? Number(node.example) : node.example;
        assert.ok(ajv.validate(schema, value), `${where}: example ${JSON.stringify(node.example)}: ${ajv.errorsText()}`);
        checked++;
      }
      for (const [k, v] of Object.entries(node)) walk(v, `${where}/${k}`);
    };
    walk(doc, '#');
    assert.ok(checked >= 10, `checked ${checked} examples`);
    const text = readFileSync(DOC_PATH, 'utf8');
    for (const m of text.matchAll(/(?:connectionId: |example: |connections\/)([A-Za-z0-9_-]{14,24})\b/g)) assert.match(m[1]!, ID, `example id ${m[1]} is not what the server issues (18 characters)`);
    assert.ok(/Jq3mX0v7c2kT9aPbQw/.test(text));
  });

  it('declares every status a management call can answer on each operation: 400 (bad percent-encoding anywhere), 403, 429, 500', () => {
    for (const [p, item] of Object.entries<any>(doc.paths)) {
      for (const method of ['get', 'put', 'post', 'delete']) {
        const op = item[method];
        if (!op) continue;
        for (const status of ['400', '403', '429', '500']) assert.ok(op.responses[status], `${method.toUpperCase()} ${p} does not document ${status}`);
        if (op.requestBody) {
          assert.ok(op.responses['413'], `${method.toUpperCase()} ${p} does not document 413`);
          assert.equal(op.requestBody.required, false, `${method.toUpperCase()} ${p}: an empty body is accepted, so it is not required`);
        }
      }
    }
    for (const name of ['NotFound', 'MethodNotAllowed', 'InternalServerError']) assert.ok(doc.components.responses[name], name);
  });
});

/** Finds the documented response for a call: the operation by method and path template, then the status. */
function documented(doc: any, method: string, relPath: string, status: number): { response: any; where: string } {
  const segments = relPath.split('?')[0]!.split('/').filter(Boolean);
  let pathItem: any;
  let template = '';
  for (const [p, item] of Object.entries<any>(doc.paths)) {
    const parts = p.split('/').filter(Boolean);
    if (parts.length === segments.length && parts.every((x, i) => x.startsWith('{') || x === segments[i])) {
      pathItem = item;
      template = p;
    }
  }
  if (pathItem === undefined) {
    assert.equal(status, 404, `${method} ${relPath}: no documented path, so only 404 may answer`);
    return { response: doc.components.responses.NotFound, where: '#/components/responses/NotFound' };
  }
  const op = pathItem[method.toLowerCase()];
  if (op === undefined) {
    assert.equal(status, 405, `${method} ${template} is not documented, so only 405 may answer`);
    return { response: doc.components.responses.MethodNotAllowed, where: '#/components/responses/MethodNotAllowed' };
  }
  const response = op.responses[String(status)] ?? op.responses.default;
  assert.ok(response, `${method} ${template} answered ${status}, which the document does not declare for it`);
  return { response, where: `${method} ${template} ${status}` };
}

/** Validates a live answer against the document: status declared, error type header, body schema (or empty body). */
function conforms(doc: any, ajv: Ajv2020, method: string, relPath: string, res: RawResponse): void {
  const { response, where } = documented(doc, method, relPath, res.status);
  assert.ok(res.headers['x-amzn-requestid'], `${where}: x-amzn-RequestId`);
  const errorType = response.headers?.['x-amzn-ErrorType'];
  if (errorType?.schema) assert.ok(ajv.validate(errorType.schema, res.headers['x-amzn-errortype']), `${where}: x-amzn-ErrorType ${res.headers['x-amzn-errortype']}: ${ajv.errorsText()}`);
  else assert.equal(res.headers['x-amzn-errortype'], undefined, `${where}: an error type on a success answer`);
  const json = response.content?.['application/json'];
  if (json === undefined) {
    assert.equal(res.body, '', `${where}: the document declares no body`);
    return;
  }
  assert.match(String(res.headers['content-type']), /^application\/json/, where);
  assert.ok(ajv.validate(json.schema, res.json()), `${where}: ${res.body} does not match the schema: ${ajv.errorsText()}`);
}

/** What the document says about a call's query parameters (undefined: it says nothing about them). */
function queryValidPerDoc(doc: any, ajv: Ajv2020, method: string, relPath: string): boolean {
  const [p, q = ''] = relPath.split('?');
  const segments = p!.split('/').filter(Boolean);
  for (const [tp, item] of Object.entries<any>(doc.paths)) {
    const parts = tp.split('/').filter(Boolean);
    if (parts.length !== segments.length || !parts.every((x, i) => x.startsWith('{') || x === segments[i])) continue;
    const op = item[method.toLowerCase()];
    if (!op) return true;
    const params = [...(item.parameters ?? []), ...(op.parameters ?? [])].filter((x: any) => x.in === 'query');
    for (const [k, v] of new URLSearchParams(q)) {
      const spec = params.find((x: any) => x.name === k);
      if (!spec) continue;
      const value = spec.schema.type === 'integer' || spec.schema.oneOf ? (/^\d+$/.test(v) ? Number(v) : v) : v;
      if (!ajv.validate(spec.schema, value)) return false;
    }
  }
  return true;
}

describe('docs/openapi.yaml against a live gateway', () => {
  const H = './handlers.ts';
  const routes = { $connect: { handler: `${H}#connectAs` }, whoami: { handler: `${H}#whoami`, routeResponse: true } };
  let doc: any;
  let ajv: Ajv2020;
  let open: Gateway; // management.auth none: reaches inputs no signer produces (%FF)
  let signed: Gateway;
  let limited: Gateway;
  const clients: TestClient[] = [];

  async function connect(gw: Gateway, query = ''): Promise<string> {
    const c = await TestClient.connect(`${gw.url}${query}`);
    clients.push(c);
    return JSON.parse((await c.request({ action: 'whoami' })).text).connectionId;
  }

  before(async () => {
    doc = await SwaggerParser.dereference(parseYaml(readFileSync(DOC_PATH, 'utf8')));
    ajv = newAjv();
    open = await startGateway({ routes, limits: { messageBytes: 1024 }, management: { auth: 'none' } });
    signed = await startGateway({ routes });
    limited = await startGateway({ routes, management: { rateLimit: { perSecond: 0.001, burst: 1 } } });
  });
  after(async () => {
    for (const c of clients) c.ws.terminate();
    await Promise.all([open?.close(), signed?.close(), limited?.close()]);
  });

  it('success answers of every operation match their schemas; documented-valid parameters are accepted', async () => {
    const a = await connect(open, '?user=alice&groups=room-1');
    const b = await connect(open, '?user=alice');
    const c = await connect(open);
    const d = await connect(open);
    assert.match(a, ID);
    const calls: Array<[string, string, string | undefined, number]> = [
      ['POST', `/@connections/${a}`, 'hello', 200],
      ['POST', `/@connections/${a}`, '', 200], // an empty body is accepted: requestBody is not required
      ['GET', `/@connections/${a}`, undefined, 200],
      ['GET', '/@connections', undefined, 200],
      ['GET', '/@connections?limit=1', undefined, 200],
      ['GET', '/@connections?nextToken=djE6NDI', undefined, 200], // the document's example token
      ['GET', '/@connections?principal=alice&group=room-1', undefined, 200],
      ['GET', '/@principals/alice/connections?limit=1', undefined, 200],
      ['POST', '/@principals/alice', 'to alice', 200],
      ['PUT', `/@groups/room-2/connections/${b}`, undefined, 204],
      ['GET', '/@groups/room-2/connections', undefined, 200],
      ['POST', `/@groups/room-2?exclude=${a}`, 'to room 2', 200],
      ['DELETE', `/@groups/room-2/connections/${b}`, undefined, 204],
      ['POST', '/@broadcast', 'to all', 200],
      ['GET', '/@nodes', undefined, 200],
      ['DELETE', '/@groups/nobody-here?code=4100&reason=room%20closed', undefined, 200],
      ['DELETE', '/@principals/nobody?code=4001', undefined, 200],
      ['DELETE', `/@connections/${c}?code=4001&reason=${'x'.repeat(123)}`, undefined, 204],
      ['DELETE', `/@connections/${d}?reason=${encodeURIComponent('é'.repeat(61))}`, undefined, 204], // 122 bytes
    ];
    let sawNextToken = false;
    for (const [method, p, body, status] of calls) {
      const res = await unsigned(open, method, p, body);
      assert.equal(res.status, status, `${method} ${p}: ${res.body}`);
      assert.ok(queryValidPerDoc(doc, ajv, method, p), `${method} ${p}: the document calls its parameters invalid, the server accepted them`);
      conforms(doc, ajv, method, p, res);
      if (p === '/@connections?limit=1') {
        const token = res.json().nextToken;
        sawNextToken = true;
        const next = await unsigned(open, 'GET', `/@connections?limit=1&nextToken=${token}`);
        assert.equal(next.status, 200);
        conforms(doc, ajv, 'GET', '/@connections', next);
      }
    }
    assert.ok(sawNextToken);
  });

  it('error answers (400, 403, 404, 405, 410, 413, 429) match the schemas declared for them', async () => {
    const a = await connect(open);
    const calls: Array<[string, string, string | undefined, number]> = [
      ['GET', '/@connections/AAAAAAAAAAAAAAAAAA', undefined, 410],
      ['POST', '/@connections/AAAAAAAAAAAAAAAAAA', 'x', 410],
      ['PUT', '/@groups/g/connections/AAAAAAAAAAAAAAAAAA', undefined, 410],
      ['POST', '/@connections/%FF', 'x', 400],
      ['GET', '/@connections/%FF', undefined, 400],
      ['POST', '/@broadcast?exclude=%FF', 'x', 400],
      ['POST', `/@principals/alice?exclude=%FF`, 'x', 400],
      ['DELETE', `/@connections/${a}?code=1006`, undefined, 400],
      ['DELETE', `/@connections/${a}?code=4001&code=4002`, undefined, 400],
      ['DELETE', `/@connections/${a}?reason=${encodeURIComponent('€'.repeat(42))}`, undefined, 400], // 42 characters, 126 bytes
      ['GET', '/@connections?limit=0', undefined, 400],
      ['GET', '/@connections?limit=1001', undefined, 400],
      ['GET', '/@connections?nextToken=bogus', undefined, 400],
      ['GET', '/@groups/bad!name/connections', undefined, 400],
      ['POST', `/@connections/${a}`, 'z'.repeat(2048), 413],
      ['POST', '/@broadcast', 'z'.repeat(2048), 413],
      ['GET', '/@nothing', undefined, 404],
      ['PUT', `/@connections/${a}`, undefined, 405],
      ['PATCH', '/@broadcast', undefined, 405],
    ];
    for (const [method, p, body, status] of calls) {
      const res = await unsigned(open, method, p, body);
      assert.equal(res.status, status, `${method} ${p}: ${res.body}`);
      conforms(doc, ajv, method, p, res);
      if (/reason=|code=|limit=/.test(p) && !/code=4001&code/.test(p)) assert.equal(queryValidPerDoc(doc, ajv, method, p), false, `${method} ${p}: refused by the server, so the document must call it invalid`);
    }
    const unsignedCall = await unsigned(signed, 'GET', '/@connections');
    assert.equal(unsignedCall.status, 403);
    conforms(doc, ajv, 'GET', '/@connections', unsignedCall);
    const first = await call(limited, 'GET', '/@connections');
    assert.equal(first.status, 200);
    const second = await call(limited, 'GET', '/@connections');
    assert.equal(second.status, 429);
    conforms(doc, ajv, 'GET', '/@connections', second);
  });
});
