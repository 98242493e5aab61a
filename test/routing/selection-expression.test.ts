// Route selection, as API Gateway evaluates it. String values only: how non-string values
// (numbers, arrays, objects) select a route is being changed elsewhere and is not pinned here.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileSelectionExpression, ExpressionError } from '../../src/routing/selection-expression.js';

describe('compileSelectionExpression: $request.body.PATH', () => {
  const action = compileSelectionExpression('$request.body.action');

  it('reads a top-level string field of a JSON object', () => {
    assert.equal(action('{"action":"echo"}'), 'echo');
    assert.equal(action(' \t\r\n{"action":"echo"}'), 'echo', 'leading JSON whitespace is allowed');
  });

  it('a missing field is "" and a value that is not a string cannot be evaluated (both route to $default, as on AWS); nor can a body that is not a JSON object', () => {
    assert.equal(action('{"other":"x"}'), '');
    for (const v of ['null', '5', 'true', '[1]', '{"a":1}']) assert.equal(action(`{"action":${v}}`), undefined, v);
    for (const body of ['echo', '', '[{"action":"echo"}]', '"action"', '42', '{"action":', ' x{"action":"echo"}', 'null']) assert.equal(action(body), undefined, body);
  });

  it('nested paths and array indexes ($request.body.a.b, $request.body.list[1].k)', () => {
    const nested = compileSelectionExpression('$request.body.meta.action');
    assert.equal(nested('{"meta":{"action":"ping"}}'), 'ping');
    assert.equal(nested('{"meta":"ping"}'), '', 'a path through a string finds nothing');
    assert.equal(nested('{"meta":null}'), '');
    assert.equal(nested('{"action":"ping"}'), '');
    assert.equal(nested('not json'), undefined);
    const deep = compileSelectionExpression('$request.body.a.b.c');
    assert.equal(deep('{"a":{"b":{"c":"deep"}}}'), 'deep');
    assert.equal(deep('{"a":{"b":{}}}'), '');
    const indexed = compileSelectionExpression('$request.body.list[1].k');
    assert.equal(indexed('{"list":[{"k":"a"},{"k":"b"}]}'), 'b');
    assert.equal(indexed('{"list":[{"k":"a"}]}'), '');
  });
});

describe('compileSelectionExpression: ${request.body.PATH} parts and literals', () => {
  it('mixes variables with literals', () => {
    const e = compileSelectionExpression('${request.body.service}/${request.body.action}');
    assert.equal(e('{"service":"chat","action":"send"}'), 'chat/send');
    assert.equal(e('{"service":"chat"}'), 'chat/');
    assert.equal(e('plain text'), undefined);
    const wrapped = compileSelectionExpression('v1:${request.body.a.b}!');
    assert.equal(wrapped('{"a":{"b":"x"}}'), 'v1:x!');
  });

  it('a literal expression selects that key for every body', () => {
    assert.equal(compileSelectionExpression('fixed')('anything'), 'fixed');
    assert.equal(compileSelectionExpression('$default')('{"action":"x"}'), '$default');
  });

  it('refuses expressions outside the grammar with ExpressionError, naming the expression', () => {
    for (const bad of ['$request.header.x', '$request.body', '$request.body.', '$context.routeKey', '$stageVariables.x', '${request.header.x}', 'a${request.querystring.q}b', '$request.body.a..b']) {
      assert.throws(() => compileSelectionExpression(bad), (e: Error) => e instanceof ExpressionError && e.message.includes(`"${bad}"`), bad);
    }
  });
});
