import { ConfigError } from '../load.js';

/** A template problem; the message names the file, the resource (or section) and the key. */
export class TemplateError extends ConfigError {
  override name = 'TemplateError';
}

/** `AWS::NoValue`: the property (or list item) it stands in is removed. */
export const NO_VALUE: unique symbol = Symbol('AWS::NoValue');

/** Intrinsic functions this evaluator knows (anything else named `Fn::…` is an error). */
export const INTRINSICS = new Set([
  'Ref', 'Fn::GetAtt', 'Fn::Sub', 'Fn::Join', 'Fn::Select', 'Fn::Split', 'Fn::If', 'Fn::Equals', 'Fn::And', 'Fn::Or', 'Fn::Not',
  'Fn::FindInMap', 'Fn::Base64', 'Fn::GetAZs', 'Fn::ImportValue', 'Fn::Cidr', 'Fn::Transform', 'Fn::Length', 'Fn::ToJsonString',
]);

/** What intrinsics are evaluated against: the template's own symbols. */
export interface Symbols {
  /** A parameter or pseudo parameter's value, or undefined when there is no such name. `where` is the referring key. */
  parameter(name: string, where: string): unknown;
  /** `Ref` of a resource (undefined: no such resource). */
  resourceRef(logicalId: string, where: string): string | undefined;
  /** `Fn::GetAtt` of a resource (undefined: no such resource). */
  resourceAtt(logicalId: string, attribute: string, where: string): string | undefined;
  /** A named condition's truth. */
  condition(name: string, where: string): boolean;
  /** `Mappings` section. */
  mappings: Record<string, unknown>;
  region: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The intrinsic an object is (its one key), if it is one. */
export function intrinsicName(v: unknown): string | undefined {
  if (!isObject(v)) return undefined;
  const keys = Object.keys(v);
  if (keys.length !== 1) return undefined;
  const k = keys[0]!;
  return k === 'Ref' || k.startsWith('Fn::') ? k : undefined;
}

/** `${X}`, `${X.Attr}` and the `${!Literal}` escape of Fn::Sub. */
const SUB_VAR = /\$\{([^}]*)\}/g;

/**
 * Evaluates CloudFormation intrinsic functions offline. `where` is the key being evaluated
 * (`Resources.Fn.Properties.Environment`), so every error names the resource and the key.
 */
export class Evaluator {
  /**
   * `onFail` replaces the default error (a TemplateError naming `file` and the key): importers
   * of other formats (serverless.yml) report in their own terms.
   */
  constructor(
    private readonly symbols: Symbols,
    private readonly file: string,
    private readonly onFail?: (where: string, why: string) => never,
  ) {}

  fail(where: string, why: string): never {
    if (this.onFail) return this.onFail(where, why);
    throw new TemplateError(`${this.file}: ${where}: ${why}`);
  }

  /** Evaluates a value; `AWS::NoValue` at the top gives NO_VALUE. */
  eval(v: unknown, where: string): unknown {
    if (Array.isArray(v)) {
      const out: unknown[] = [];
      v.forEach((item, i) => {
        const r = this.eval(item, `${where}[${i}]`);
        if (r !== NO_VALUE) out.push(r);
      });
      return out;
    }
    if (!isObject(v)) return v;
    const fn = intrinsicName(v);
    if (fn !== undefined) return this.call(fn, v[fn], `${where}.${fn}`);
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0]!.startsWith('Fn::')) this.fail(`${where}.${keys[0]}`, `unknown intrinsic function ${keys[0]}`);
    const out: Record<string, unknown> = Object.create(null);
    for (const k of keys) {
      const r = this.eval(v[k], `${where}.${k}`);
      if (r !== NO_VALUE) out[k] = r;
    }
    return out;
  }

  /** Evaluates to a string (numbers and booleans as CloudFormation writes them). */
  string(v: unknown, where: string): string {
    const r = this.eval(v, where);
    if (typeof r === 'string') return r;
    if (typeof r === 'number' || typeof r === 'boolean') return String(r);
    return this.fail(where, `expected a string, got ${describe(r)}`);
  }

  private list(v: unknown, where: string): unknown[] {
    const r = this.eval(v, where);
    if (!Array.isArray(r)) this.fail(where, `expected a list, got ${describe(r)}`);
    return r;
  }

  private args(v: unknown, n: number | [number, number], where: string, fn: string): unknown[] {
    const [min, max] = typeof n === 'number' ? [n, n] : n;
    if (!Array.isArray(v) || v.length < min || v.length > max) this.fail(where, `${fn} takes a list of ${min === max ? min : `${min} to ${max}`} arguments`);
    return v;
  }

  /** A condition expression: a condition name reference, or a condition function. */
  truth(v: unknown, where: string): boolean {
    if (isObject(v) && Object.keys(v).length === 1 && typeof v.Condition === 'string') return this.symbols.condition(v.Condition, `${where}.Condition`);
    const r = this.eval(v, where);
    if (typeof r === 'boolean') return r;
    if (r === 'true' || r === 'false') return r === 'true';
    return this.fail(where, `expected a condition (Fn::Equals, Fn::And, Fn::Or, Fn::Not or {Condition: Name}), got ${describe(r)}`);
  }

  private call(fn: string, arg: unknown, where: string): unknown {
    switch (fn) {
      case 'Ref': {
        if (typeof arg !== 'string') return this.fail(where, 'Ref takes a name');
        return this.ref(arg, where);
      }
      case 'Fn::GetAtt': {
        let parts: unknown[];
        if (typeof arg === 'string') {
          const dot = arg.indexOf('.');
          parts = dot === -1 ? [arg] : [arg.slice(0, dot), arg.slice(dot + 1)];
        } else parts = this.args(arg, 2, where, fn);
        if (parts.length !== 2) this.fail(where, 'Fn::GetAtt takes [LogicalId, Attribute] (or "LogicalId.Attribute")');
        const id = parts[0];
        if (typeof id !== 'string') return this.fail(where, 'Fn::GetAtt: the logical id must be a literal name');
        const attr = this.string(parts[1], `${where}[1]`);
        const r = this.symbols.resourceAtt(id, attr, where);
        if (r === undefined) this.fail(where, `Fn::GetAtt refers to "${id}", which is not a resource of this template`);
        return r;
      }
      case 'Fn::Sub': {
        let text: unknown;
        let vars: Record<string, unknown> = {};
        if (Array.isArray(arg)) {
          this.args(arg, 2, where, fn);
          text = arg[0];
          if (!isObject(arg[1])) this.fail(`${where}[1]`, 'Fn::Sub variables must be a mapping');
          vars = arg[1];
        } else text = arg;
        if (typeof text !== 'string') return this.fail(where, 'Fn::Sub takes a string or [string, {variables}]');
        return text.replace(SUB_VAR, (m, name: string) => {
          if (name.startsWith('!')) return `\${${name.slice(1)}}`;
          const n = name.trim();
          if (Object.hasOwn(vars, n)) return this.string(vars[n], `${where}[1].${n}`);
          const dot = n.indexOf('.');
          if (dot !== -1 && this.symbols.parameter(n, where) === undefined) {
            const r = this.symbols.resourceAtt(n.slice(0, dot), n.slice(dot + 1), where);
            if (r === undefined) this.fail(where, `Fn::Sub variable \${${n}}: "${n.slice(0, dot)}" is not a resource of this template`);
            return r;
          }
          const r = this.ref(n, where);
          if (typeof r === 'string' || typeof r === 'number') return String(r);
          return this.fail(where, `Fn::Sub variable \${${n}} is ${describe(r)}, not a string`);
        });
      }
      case 'Fn::Join': {
        const [sep, items] = this.args(arg, 2, where, fn);
        if (typeof sep !== 'string') this.fail(`${where}[0]`, 'Fn::Join: the delimiter must be a literal string');
        return this.list(items, `${where}[1]`).map((x, i) => {
          if (typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean') return String(x);
          return this.fail(`${where}[1][${i}]`, `Fn::Join items must be strings, got ${describe(x)}`);
        }).join(sep as string);
      }
      case 'Fn::Select': {
        const [i, items] = this.args(arg, 2, where, fn);
        const index = Number(this.eval(i, `${where}[0]`));
        const list = this.list(items, `${where}[1]`);
        if (!Number.isInteger(index) || index < 0 || index >= list.length) this.fail(where, `Fn::Select index ${String(index)} is outside the list (${list.length} items)`);
        return list[index];
      }
      case 'Fn::Split': {
        const [sep, s] = this.args(arg, 2, where, fn);
        if (typeof sep !== 'string' || sep === '') this.fail(`${where}[0]`, 'Fn::Split: the delimiter must be a literal, non-empty string');
        return this.string(s, `${where}[1]`).split(sep as string);
      }
      case 'Fn::If': {
        const [cond, a, b] = this.args(arg, 3, where, fn);
        if (typeof cond !== 'string') this.fail(`${where}[0]`, 'Fn::If takes a condition name first');
        return this.symbols.condition(cond as string, `${where}[0]`) ? this.eval(a, `${where}[1]`) : this.eval(b, `${where}[2]`);
      }
      case 'Fn::Equals': {
        const [a, b] = this.args(arg, 2, where, fn);
        return canonical(this.eval(a, `${where}[0]`)) === canonical(this.eval(b, `${where}[1]`));
      }
      case 'Fn::And':
      case 'Fn::Or': {
        const items = this.args(arg, [1, 10], where, fn);
        const values = items.map((x, i) => this.truth(x, `${where}[${i}]`));
        return fn === 'Fn::And' ? values.every(Boolean) : values.some(Boolean);
      }
      case 'Fn::Not': {
        const [x] = this.args(arg, 1, where, fn);
        return !this.truth(x, `${where}[0]`);
      }
      case 'Fn::FindInMap': {
        const [m, k1, k2] = this.args(arg, [3, 4], where, fn);
        const map = this.string(m, `${where}[0]`);
        const top = this.string(k1, `${where}[1]`);
        const second = this.string(k2, `${where}[2]`);
        const level1 = Object.hasOwn(this.symbols.mappings, map) ? this.symbols.mappings[map] : undefined;
        if (!isObject(level1)) return this.fail(where, `Fn::FindInMap: no mapping "${map}" in Mappings`);
        const level2 = Object.hasOwn(level1, top) ? level1[top] : undefined;
        const value = isObject(level2) && Object.hasOwn(level2, second) ? level2[second] : undefined;
        if (value === undefined) {
          // AWS::LanguageExtensions: a fourth argument {DefaultValue: x}.
          const dflt = (arg as unknown[])[3];
          if (isObject(dflt) && Object.hasOwn(dflt, 'DefaultValue')) return this.eval(dflt.DefaultValue, `${where}[3].DefaultValue`);
          return this.fail(where, `Fn::FindInMap: Mappings.${map} has no ${top}.${second}`);
        }
        return value;
      }
      case 'Fn::Base64':
        return Buffer.from(this.string(arg, where), 'utf8').toString('base64');
      case 'Fn::GetAZs': {
        const region = this.string(arg, where) || this.symbols.region;
        return ['a', 'b', 'c'].map((z) => `${region}${z}`);
      }
      case 'Fn::Length':
        return this.list(arg, where).length;
      case 'Fn::ToJsonString':
        return JSON.stringify(this.eval(arg, where));
      case 'Fn::ImportValue':
        return this.fail(where, 'Fn::ImportValue reads another deployed stack\'s exports, which a local run cannot; make it a Parameter and pass --parameter NAME=VALUE');
      case 'Fn::Cidr':
        return this.fail(where, 'Fn::Cidr is not evaluated offline (networking has no meaning for a local gateway); remove it from what the WebSocket API uses');
      case 'Fn::Transform':
        return this.fail(where, 'Fn::Transform runs a CloudFormation macro, which a local run cannot');
      default:
        return this.fail(where, `unknown intrinsic function ${fn}`);
    }
  }

  private ref(name: string, where: string): unknown {
    if (name === 'AWS::NoValue') return NO_VALUE;
    const p = this.symbols.parameter(name, where);
    if (p !== undefined) return p;
    const r = this.symbols.resourceRef(name, where);
    if (r !== undefined) return r;
    return this.fail(where, `Ref to "${name}", which is neither a parameter, a pseudo parameter nor a resource of this template`);
  }
}

function canonical(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v);
}

function describe(v: unknown): string {
  if (v === NO_VALUE) return 'AWS::NoValue';
  if (Array.isArray(v)) return 'a list';
  if (v === null || v === undefined) return 'nothing';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

/**
 * Checks the whole of a section the way CloudFormation validates a template before anything runs:
 * every `Fn::…` is a known intrinsic and every literal `Ref` / `Fn::GetAtt` / `Fn::Sub` variable
 * names something that exists. `known(name)` says whether a name is a parameter, pseudo parameter
 * or resource. Problems go to `problems`.
 */
export function checkReferences(v: unknown, where: string, known: (name: string) => boolean, problems: string[], file: string): void {
  if (Array.isArray(v)) {
    v.forEach((x, i) => checkReferences(x, `${where}[${i}]`, known, problems, file));
    return;
  }
  if (!isObject(v)) return;
  const keys = Object.keys(v);
  if (keys.length === 1) {
    const k = keys[0]!;
    const arg = v[k];
    const at = `${where}.${k}`;
    if (k.startsWith('Fn::') && !INTRINSICS.has(k)) {
      problems.push(`${file}: ${at}: unknown intrinsic function ${k}`);
      return;
    }
    if (k === 'Ref' && typeof arg === 'string') {
      if (arg !== 'AWS::NoValue' && !known(arg)) problems.push(`${file}: ${at}: Ref to "${arg}", which is neither a parameter, a pseudo parameter nor a resource of this template`);
      return;
    }
    if (k === 'Fn::GetAtt') {
      const id = typeof arg === 'string' ? arg.split('.')[0] : Array.isArray(arg) ? arg[0] : undefined;
      if (typeof id === 'string' && !known(id)) problems.push(`${file}: ${at}: Fn::GetAtt refers to "${id}", which is not a resource of this template`);
      if (Array.isArray(arg)) checkReferences(arg.slice(1), at, known, problems, file);
      return;
    }
    if (k === 'Fn::Sub') {
      const text = Array.isArray(arg) ? arg[0] : arg;
      const vars = Array.isArray(arg) && isObject(arg[1]) ? new Set(Object.keys(arg[1])) : new Set<string>();
      if (typeof text === 'string') {
        for (const m of text.matchAll(SUB_VAR)) {
          const name = m[1]!.trim();
          if (name.startsWith('!') || vars.has(name)) continue;
          const id = known(name) ? name : name.split('.')[0]!;
          if (!known(id)) problems.push(`${file}: ${at}: Fn::Sub variable \${${name}} names nothing in this template (not a parameter, pseudo parameter, resource or variable)`);
        }
      }
      if (Array.isArray(arg) && isObject(arg[1])) checkReferences(arg[1], `${at}[1]`, known, problems, file);
      return;
    }
  }
  for (const k of keys) checkReferences(v[k], `${where}.${k}`, known, problems, file);
}
