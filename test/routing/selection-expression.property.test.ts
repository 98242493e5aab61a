// Route selection on arbitrary input: it never throws, and it agrees with a plain reference
// lookup (own properties only; a string is the key, a missing path is "", anything else is
// "cannot evaluate" → $default).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { compileSelectionExpression } from '../../src/routing/selection-expression.js';

type Seg = string | number;
const MISSING = Symbol('missing');

/** The reference: JSON.parse, then a walk over own properties. */
function refParse(body: string): unknown {
  if (!/^[ \t\n\r]*\{/.test(body)) return MISSING;
  try {
    return JSON.parse(body);
  } catch {
    return MISSING;
  }
}

function refLookup(root: unknown, path: Seg[]): unknown {
  let v = root;
  for (const s of path) {
    if (v === null || typeof v !== 'object') return undefined;
    const d = Object.getOwnPropertyDescriptor(v, s);
    if (d === undefined) return undefined;
    v = d.value;
  }
  return v;
}

/** Expected selection result for `parts` (strings are literals, arrays are body paths). */
function reference(body: string, parts: Array<string | Seg[]>): string | undefined {
  const root = refParse(body);
  if (root === MISSING) return undefined;
  let out = '';
  for (const p of parts) {
    if (typeof p === 'string') {
      out += p;
      continue;
    }
    const v = refLookup(root, p);
    if (v === undefined) continue;
    if (typeof v !== 'string') return undefined;
    out += v;
  }
  return out;
}

const pathText = (p: Seg[]) => p.map((s) => (typeof s === 'number' ? `[${s}]` : `.${s}`)).join('');

const KEYS = ['action', 'a', 'b', 'items', 'constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty', 'length', '0'];
const key = fc.constantFrom(...KEYS);
const seg: fc.Arbitrary<Seg> = fc.oneof(key, fc.integer({ min: 0, max: 2 }));
const path = fc.tuple(key, fc.array(seg, { maxLength: 3 })).map(([first, rest]) => [first, ...rest] as Seg[]);

/** JSON text written by hand so that keys like __proto__ become own properties, as JSON.parse makes them. */
const jsonText: fc.Arbitrary<string> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.jsonValue({ maxDepth: 1 }).map((v) => JSON.stringify(v)),
    tie('object') as fc.Arbitrary<string>,
    fc.array(tie('value') as fc.Arbitrary<string>, { maxLength: 3 }).map((xs) => `[${xs.join(',')}]`),
  ),
  object: fc
    .array(fc.tuple(fc.oneof(key, fc.string()), tie('value') as fc.Arbitrary<string>), { maxLength: 4 })
    .map((es) => `{${es.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`),
})).object;

/** Bodies nested deeper than any recursion could survive, arrays or objects, under a key the path looks at. */
const deep = fc
  .tuple(fc.integer({ min: 1, max: 120_000 }), fc.constantFrom('array', 'object'), fc.constantFrom('action', 'a'))
  .map(([d, kind, k]) => (kind === 'array' ? `{"${k}":${'['.repeat(d)}${']'.repeat(d)}}` : `{"${k}":${'{"a":'.repeat(d)}"x"${'}'.repeat(d)}}`));

const body = fc.oneof(jsonText, fc.json(), fc.string(), deep, fc.jsonValue().map((v) => JSON.stringify({ action: v })));

function check(expr: string, parts: Array<string | Seg[]>) {
  const f = compileSelectionExpression(expr);
  return (b: string) => {
    let got: string | undefined;
    assert.doesNotThrow(() => (got = f(b)));
    assert.equal(got, reference(b, parts), `${expr} on ${b.length > 200 ? `${b.slice(0, 200)}…` : b}`);
  };
}

describe('route selection: property tests', () => {
  it('$request.body.KEY agrees with the reference on arbitrary bodies', () => {
    fc.assert(fc.property(key, body, (k, b) => check(`$request.body.${k}`, [[k]])(b)), { numRuns: 400 });
  });

  it('nested paths ($request.body.a.b[0]…) agree with the reference', () => {
    fc.assert(fc.property(path, body, (p, b) => check(`$request.body${pathText(p)}`, [p])(b)), { numRuns: 400 });
  });

  it('${…} templates mixed with literals agree with the reference', () => {
    const literal = fc.stringMatching(/^[a-z/:-]{0,3}$/);
    fc.assert(
      fc.property(literal, path, literal, path, body, (l1, p1, l2, p2, b) => {
        const expr = `${l1}\${request.body${pathText(p1)}}${l2}\${request.body${pathText(p2)}}`;
        check(expr, [l1, p1, l2, p2].filter((x) => x !== '') as Array<string | Seg[]>)(b);
      }),
      { numRuns: 400 },
    );
  });

  it('a value that is not a string never becomes a route key (arrays, objects, numbers, booleans, null)', () => {
    const f = compileSelectionExpression('$request.body.action');
    fc.assert(
      fc.property(fc.jsonValue().filter((v) => typeof v !== 'string'), (v) => {
        assert.equal(f(JSON.stringify({ action: v })), undefined);
      }),
    );
    assert.equal(f('{"action":"join"}'), 'join');
    assert.equal(f('{"other":1}'), '');
    assert.equal(f('{"action":[1,2]}'), undefined);
    assert.equal(f('{"action":{"a":1}}'), undefined);
    assert.equal(f('{"action":7}'), undefined);
    assert.equal(f('{}'.replace('}', '"constructor":1}')), '');
  });

  it('prototype names in paths are missing unless the body has them as its own keys', () => {
    for (const k of ['constructor', 'toString', 'valueOf', '__proto__', 'hasOwnProperty']) {
      const f = compileSelectionExpression(`$request.body.${k}`);
      assert.equal(f('{}'), '');
      assert.equal(f(`{${JSON.stringify(k)}:"mine"}`), 'mine');
      const g = compileSelectionExpression(`\${request.body.${k}}/x`);
      assert.equal(g('{}'), '/x');
    }
  });
});
