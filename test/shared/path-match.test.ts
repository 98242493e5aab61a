import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matchPath, type PathMatchOptions, type PathProblem } from '../../src/shared/path-match.js';

class Refused extends Error {
  constructor(readonly problem: PathProblem) {
    super(problem.kind);
  }
}
const strict: PathMatchOptions = { encodedLiterals: false, emptyCapture: 'no-match', invalid: (p) => new Refused(p) };
const lenient: PathMatchOptions = { encodedLiterals: true, emptyCapture: 'invalid', invalid: (p) => new Refused(p) };
const CONN = ['@connections', ':connectionId'];

describe('matchPath', () => {
  it('answers the percent-decoded captures of a matching path', () => {
    assert.deepEqual(matchPath(CONN, ['@connections', 'abc%3D'], strict), { connectionId: 'abc=' });
  });

  it('answers null for another length or another literal', () => {
    assert.equal(matchPath(CONN, ['@connections'], strict), null);
    assert.equal(matchPath(CONN, ['@connections', 'a', 'b'], strict), null);
    assert.equal(matchPath(CONN, ['connections', 'a'], strict), null);
  });

  it('matches a percent-encoded literal only with encodedLiterals', () => {
    assert.equal(matchPath(CONN, ['%40connections', 'a'], strict), null);
    assert.deepEqual(matchPath(CONN, ['%40connections', 'a'], lenient), { connectionId: 'a' });
    assert.equal(matchPath(CONN, ['%4', 'a'], lenient), null); // a literal that does not decode is no match, not an error
  });

  it('throws the listener’s error for a capture with malformed percent-encoding', () => {
    for (const opts of [strict, lenient]) {
      assert.throws(() => matchPath(CONN, ['@connections', '%E0%A4%A'], opts), (e: unknown) => e instanceof Refused && e.problem.kind === 'malformed' && e.problem.segment === '%E0%A4%A');
    }
  });

  it('treats an empty capture as no match or as invalid, as configured', () => {
    assert.equal(matchPath(CONN, ['@connections', ''], strict), null);
    assert.throws(() => matchPath(CONN, ['@connections', ''], lenient), (e: unknown) => e instanceof Refused && e.problem.kind === 'empty' && e.problem.name === 'connectionId');
  });
});
