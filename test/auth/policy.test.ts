import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluatePolicy } from '../../src/auth/policy.js';

const ARN = 'arn:aws:execute-api:us-east-1:000000000000:switchboard/dev/$connect';
const ACTION = 'execute-api:Invoke';
const doc = (...Statement: unknown[]) => ({ Version: '2012-10-17', Statement });
const st = (Effect: string, Resource: unknown = ARN, Action: unknown = ACTION) => ({ Effect, Action, Resource });

describe('evaluatePolicy (API Gateway rules for authorizer policies)', () => {
  it('allows on a matching Allow; a Statement may be a single object; Effect is case-insensitive', () => {
    assert.deepEqual(evaluatePolicy(doc(st('Allow')), ACTION, ARN), { effect: 'allow' });
    assert.deepEqual(evaluatePolicy({ Version: '2012-10-17', Statement: st('allow') }, ACTION, ARN), { effect: 'allow' });
  });

  it('an explicit Deny wins over an Allow, in either order', () => {
    assert.deepEqual(evaluatePolicy(doc(st('Allow', '*'), st('Deny')), ACTION, ARN), { effect: 'deny', explicit: true });
    assert.deepEqual(evaluatePolicy(doc(st('Deny'), st('Allow', '*')), ACTION, ARN), { effect: 'deny', explicit: true });
  });

  it('no matching Allow is a deny (other resource, other action)', () => {
    assert.deepEqual(evaluatePolicy(doc(st('Allow', ARN.replace('switchboard', 'other'))), ACTION, ARN), { effect: 'deny', explicit: false });
    assert.deepEqual(evaluatePolicy(doc(st('Allow', ARN, 'execute-api:ManageConnections')), ACTION, ARN), { effect: 'deny', explicit: false });
  });

  it('wildcards: * and ? in resources (case-sensitive) and actions (case-insensitive), lists of either', () => {
    assert.equal(evaluatePolicy(doc(st('Allow', 'arn:aws:execute-api:*:*:switchboard/*')), ACTION, ARN).effect, 'allow');
    assert.equal(evaluatePolicy(doc(st('Allow', 'arn:aws:execute-api:us-east-?:000000000000:switchboard/dev/$connect')), ACTION, ARN).effect, 'allow');
    assert.equal(evaluatePolicy(doc(st('Allow', ARN.toUpperCase())), ACTION, ARN).effect, 'deny');
    assert.equal(evaluatePolicy(doc(st('Allow', ARN, 'EXECUTE-API:*')), ACTION, ARN).effect, 'allow');
    assert.equal(evaluatePolicy(doc(st('Allow', ['arn:other', ARN], ['s3:*', ACTION])), ACTION, ARN).effect, 'allow');
    // Regex metacharacters in a resource are literal: '.' must not match any character.
    assert.equal(evaluatePolicy(doc(st('Allow', 'arn:aws:execute-api:us-east-1:000000000000:switchboard/dev/.connect')), ACTION, ARN).effect, 'deny');
  });

  it('malformed documents are reported with a reason, never read as allow or deny', () => {
    for (const bad of [null, 'Allow', [], {}, { Statement: [] }, doc(st('Maybe')), doc(null), doc(st('Allow', 42)), doc(st('Allow', ARN, [])), doc({ Effect: 'Allow', Resource: ARN })]) {
      const d = evaluatePolicy(bad, ACTION, ARN);
      assert.equal(d.effect, 'malformed', JSON.stringify(bad));
      assert.ok('reason' in d && d.reason.length > 0);
    }
  });
});
