import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateConfig } from '../../src/config/load.js';
import { HttpPool } from '../../src/integrations/http.js';
import { buildRouteTable } from '../../src/routing/route-table.js';
import { FIXTURES } from '../helpers/gateway.js';

const H = './handlers.ts';
/** No route here is HTTP: the pool is never used, so it needs no closing. */
const POOL = new HttpPool({ connections: 1, queue: 0 });

describe('RouteTable', () => {
  it('selects by exact key, else $default; never a $-key from the body', async () => {
    const config = validateConfig({ routes: { $connect: { handler: `${H}#connect` }, $disconnect: { handler: `${H}#disconnect` }, echo: { handler: `${H}#echo` }, $default: { handler: `${H}#echo` } } });
    const t = await buildRouteTable(config, FIXTURES, POOL);
    assert.equal(t.select('{"action":"echo"}')?.key, 'echo');
    assert.equal(t.select('{"action":"nope"}')?.key, '$default');
    assert.equal(t.select('{"action":""}')?.key, '$default');
    assert.equal(t.select('not json')?.key, '$default');
    for (const k of ['$connect', '$disconnect', '$default']) assert.equal(t.select(JSON.stringify({ action: k }))?.key, '$default', k);
    assert.equal(t.connect?.key, '$connect');
    assert.equal(t.disconnect?.key, '$disconnect');
    assert.equal(t.fallback?.key, '$default');
    assert.equal(t.get('echo')?.key, 'echo');
    assert.equal(t.get('nope'), undefined);
  });

  it('without $default, an unmatched message has no route (AWS then answers "Forbidden")', async () => {
    const t = await buildRouteTable(validateConfig({ routes: { echo: { handler: `${H}#echo` } } }), FIXTURES, POOL);
    assert.equal(t.select('{"action":"nope"}'), undefined);
    assert.equal(t.select('{"action":"$connect"}'), undefined);
    assert.equal(t.connect, undefined);
    assert.equal(t.disconnect, undefined);
    assert.equal(t.fallback, undefined);
  });

  it('timeouts: a route\'s own timeoutMs, else limits.integrationTimeoutMs; the shortest counts message routes only', async () => {
    const config = validateConfig({
      limits: { integrationTimeoutMs: 5000 },
      routes: { $connect: { handler: `${H}#connect`, timeoutMs: 10 }, $disconnect: { handler: `${H}#disconnect`, timeoutMs: 20 }, a: { handler: `${H}#echo`, timeoutMs: 700 }, b: { handler: `${H}#echo` } },
    });
    const t = await buildRouteTable(config, FIXTURES, POOL);
    assert.equal(t.get('a')!.timeoutMs, 700);
    assert.equal(t.get('b')!.timeoutMs, 5000);
    assert.equal(t.shortestTimeoutMs(), 700);
    const none = await buildRouteTable(validateConfig({ routes: { $connect: { handler: `${H}#connect` } } }), FIXTURES, POOL);
    assert.equal(none.shortestTimeoutMs(), Infinity);
    const noIntegration = await buildRouteTable(validateConfig({ routes: { $connect: {}, b: { handler: `${H}#echo`, timeoutMs: 900 } } }), FIXTURES, POOL);
    assert.equal(noIntegration.shortestTimeoutMs(), 900);
  });

  it('route responses (either spelling) and function names (apiId-stage-key, unsafe characters replaced, or functionName)', async () => {
    const config = validateConfig({
      apiId: 'abc',
      stage: 'prod',
      routes: { $default: { handler: `${H}#echo`, routeResponse: true }, 'chat/send': { handler: `${H}#echo`, routeResponseSelectionExpression: '$default' }, quiet: { handler: `${H}#echo`, routeResponse: false }, named: { handler: `${H}#echo`, functionName: 'MyFn' }, plain: { handler: `${H}#echo` } },
    });
    const t = await buildRouteTable(config, FIXTURES, POOL);
    assert.equal(t.get('$default')!.routeResponse, true);
    assert.equal(t.get('chat/send')!.routeResponse, true);
    assert.equal(t.get('quiet')!.routeResponse, false);
    assert.equal(t.get('plain')!.routeResponse, false);
    assert.equal(t.get('$default')!.functionName, 'abc-prod-default');
    assert.equal(t.get('chat/send')!.functionName, 'abc-prod-chat_send');
    assert.equal(t.get('named')!.functionName, 'MyFn');
    assert.ok(t.get('plain')!.integration);
    assert.deepEqual(t.get('plain')!.config, { handler: `${H}#echo` });
  });

  it('a handler that cannot be loaded is a HandlerLoadError naming the route key; "$" is dropped only at the start of function names', async () => {
    await assert.rejects(buildRouteTable(validateConfig({ routes: { echo: { handler: './missing.ts#x' } } }), FIXTURES, POOL), (e: Error) => e.name === 'HandlerLoadError' && e.message.startsWith('routes.echo: '));
    const t = await buildRouteTable(validateConfig({ apiId: 'abc', routes: { 'a$b': { handler: `${H}#echo` } } }), FIXTURES, POOL);
    assert.equal(t.get('a$b')!.functionName, 'abc-dev-a_b');
  });

  it('a route without integration ($connect with only an authorizer) has integration null', async () => {
    const t = await buildRouteTable(validateConfig({ routes: { $connect: {} } }), FIXTURES, POOL);
    assert.equal(t.connect!.integration, null);
  });
});
