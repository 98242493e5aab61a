/**
 * Route selection expressions, in API Gateway's grammar:
 *   `$request.body.action`                               → the `action` field of the JSON body
 *   `${request.body.service}/${request.body.action}`     → variables mixed with literals
 *   `action`, `$default`                                 → literals
 * A path that finds nothing yields "" (as on AWS), so the route is `$default`. A path that finds
 * something other than a string (number, boolean, null, array, object) routes to `$default` too,
 * as on AWS: such a value is never turned into route-key text (which would mean walking a value
 * the client chose, of any depth). A body that is not a JSON object cannot be evaluated and the
 * caller falls back to `$default`. Only the body's own properties count (`$request.body.constructor`
 * on `{}` is missing, not a function). Nothing here recurses: JSON.parse is iterative in V8 and
 * copes with nesting far deeper than any message limit allows (checked at depth 1,000,000).
 */

/** Evaluates against a message body; `undefined` when the body cannot be evaluated (not a JSON object, or a non-string value). */
export type CompiledExpression = (body: string) => string | undefined;

type Segment = string | number;
type Part = { literal: string } | { path: Segment[] };

const BARE = /^\$request\.body((?:\.[^.[\]${}\s]+|\[\d+\])+)$/;
const BRACED = /\$\{request\.body((?:\.[^.[\]${}\s]+|\[\d+\])+)\}/g;

/** Thrown for an expression outside the supported grammar; the config loader reports it with its key. */
export class ExpressionError extends Error {}

function parsePath(text: string): Segment[] {
  const out: Segment[] = [];
  for (const m of text.matchAll(/\.([^.[\]]+)|\[(\d+)\]/g)) out.push(m[1] !== undefined ? m[1] : Number(m[2]));
  return out;
}

const hasOwn = Object.prototype.hasOwnProperty;

/** The value at `path` (own properties only), or undefined when the path finds nothing. */
function lookup(root: unknown, path: Segment[]): unknown {
  let v: unknown = root;
  for (let i = 0; i < path.length; i++) {
    if (v === null || typeof v !== 'object' || !hasOwn.call(v, path[i]!)) return undefined;
    v = (v as Record<string | number, unknown>)[path[i]!];
  }
  return v;
}

/** Parses only JSON objects: anything else cannot be evaluated and goes to $default. */
function parseObject(body: string): object | undefined {
  let i = 0;
  while (i < body.length && (body.charCodeAt(i) === 32 || body.charCodeAt(i) === 9 || body.charCodeAt(i) === 10 || body.charCodeAt(i) === 13)) i++;
  if (body.charCodeAt(i) !== 123 /* { */) return undefined;
  try {
    return JSON.parse(body) as object;
  } catch {
    return undefined;
  }
}

/** Compiles an expression once, at configuration time. */
export function compileSelectionExpression(expr: string): CompiledExpression {
  const bare = BARE.exec(expr);
  if (bare) {
    const path = parsePath(bare[1]!);
    // The common case (`$request.body.action`) gets a closure with no per-message loop over parts.
    if (path.length === 1) {
      const key = path[0]!;
      return (body) => {
        const obj = parseObject(body);
        if (obj === undefined) return undefined;
        if (!hasOwn.call(obj, key)) return '';
        const v = (obj as Record<string | number, unknown>)[key];
        return typeof v === 'string' ? v : undefined;
      };
    }
    return (body) => {
      const obj = parseObject(body);
      if (obj === undefined) return undefined;
      const v = lookup(obj, path);
      return v === undefined ? '' : typeof v === 'string' ? v : undefined;
    };
  }
  if (expr.startsWith('$request') || expr.includes('${') === false && expr.startsWith('$') && expr !== '$default') {
    throw new ExpressionError(`unsupported route selection expression "${expr}" (expected $request.body.PATH, \${request.body.PATH} parts, or a literal)`);
  }
  const parts: Part[] = [];
  let last = 0;
  for (const m of expr.matchAll(BRACED)) {
    if (m.index! > last) parts.push({ literal: expr.slice(last, m.index) });
    parts.push({ path: parsePath(m[1]!) });
    last = m.index! + m[0].length;
  }
  if (last < expr.length) parts.push({ literal: expr.slice(last) });
  const rest = parts.filter((p) => 'literal' in p).map((p) => (p as { literal: string }).literal).join('');
  if (rest.includes('${')) throw new ExpressionError(`unsupported variable in route selection expression "${expr}" (only request.body paths are supported)`);
  if (parts.every((p) => 'literal' in p)) return () => expr;
  return (body) => {
    const obj = parseObject(body);
    if (obj === undefined) return undefined;
    let out = '';
    for (const p of parts) {
      if ('literal' in p) out += p.literal;
      else {
        const v = lookup(obj, p.path);
        if (typeof v === 'string') out += v;
        else if (v !== undefined) return undefined; // a non-string value: $default, as on AWS
      }
    }
    return out;
  };
}
