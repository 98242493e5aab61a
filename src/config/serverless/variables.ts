import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../load.js';
import { parseServerlessYaml } from './yaml.js';

/**
 * Resolves Serverless Framework variables (`${source:address, fallback, …}`) in a parsed
 * serverless.yml, offline. Supported sources: `self`, `sls`, `opt`, `env` (with .env files),
 * `file(…)` (YAML/JSON, whole or `:path`), `param`, `strToBool(…)`, `aws:region` and
 * `aws:accountId` (the local values). Sources that need AWS or a network (`ssm`, `cf`, `s3`,
 * other `aws:` keys, `output`, secret stores) are errors that say where the variable is and
 * how to give it a value offline, unless a fallback applies first.
 *
 * Follows the Framework's parser: fallbacks split at commas outside `(…)` and `${…}`; a quoted
 * fallback is a literal; a reference with neither `:` nor `(…)` (`${TableName}` in `Fn::Sub`),
 * `${AWS::Region}` and `${!Literal}` stay as written (they are CloudFormation's). A value that is
 * exactly one reference keeps the referenced type; references inside longer text become text.
 * Fallbacks are tried lazily, left to right: `${ssm:/x, 'local'}` never asks for SSM.
 */

/** What variables resolve against. */
export interface VariableContext {
  /** Folder of serverless.yml; `file(…)` paths are relative to it. */
  serviceDir: string;
  /** File name used in messages. */
  file: string;
  /** CLI options (`${opt:…}`): `stage`, `region` and any others given. */
  options: Record<string, string>;
  /** `--param key=value` values; they win over `params` / `stages.*.params` in the file. */
  params: Record<string, string>;
  /** Environment for `${env:…}` (process environment over .env values). */
  env: NodeJS.ProcessEnv;
  /** `${aws:accountId}` offline. */
  accountId: string;
}

/** How deep references may nest or chain before it is treated as runaway recursion. */
export const MAX_DEPTH = 64;

/** Sources that need AWS or another network service; resolved only through a fallback or an override. */
const REMOTE: Record<string, string> = {
  ssm: 'AWS Systems Manager Parameter Store',
  cf: 'a CloudFormation stack output',
  s3: 'an S3 object',
  output: 'another service\'s deployed outputs',
  aws: 'AWS',
  terraform: 'Terraform state',
  vault: 'HashiCorp Vault',
  doppler: 'Doppler',
  secretsmanager: 'AWS Secrets Manager',
};

/** A path in the configuration, as the user writes it (`functions.connect.environment.TABLE`). */
export function keyPath(p: readonly (string | number)[]): string {
  return p.length === 0 ? '(top level)' : p.map(String).join('.');
}

interface Placeholder {
  start: number;
  end: number; // index after the closing brace
  body: string;
}

/** Top-level `${…}` spans of a string (nested ones stay inside their parent's body). */
export function findPlaceholders(s: string): Placeholder[] {
  const found: Placeholder[] = [];
  let depth = 0;
  let start = -1;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '$' && s[i + 1] === '{') {
      if (depth === 0) start = i;
      depth++;
      i++;
    } else if (s[i] === '}' && depth > 0) {
      depth--;
      if (depth === 0) found.push({ start, end: i + 1, body: s.slice(start + 2, i) });
    }
  }
  return found;
}

/** Indices of `chars` outside `(…)` and `${…}`. */
function splitOutside(s: string, sep: string): string[] {
  const parts: string[] = [];
  let paren = 0;
  let brace = 0;
  let quote: string | undefined;
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      continue;
    }
    if ((c === "'" || c === '"') && paren === 0 && brace === 0 && s.slice(from, i).trim() === '') quote = c;
    else if (c === '$' && s[i + 1] === '{') {
      brace++;
      i++;
    } else if (c === '}' && brace > 0) brace--;
    else if (c === '(') paren++;
    else if (c === ')') paren--;
    else if (c === sep && paren === 0 && brace === 0) {
      parts.push(s.slice(from, i));
      from = i + 1;
    }
  }
  parts.push(s.slice(from));
  return parts;
}

/** True when the Framework would treat `${body}` as a variable (else it is left as text). */
function isVariable(body: string): boolean {
  const first = splitOutside(body, ',')[0]!.trim();
  if (first.startsWith('!') || /^AWS::/.test(first)) return false;
  return body.indexOf(':') > -1 || (body.includes('(') && body.includes(')'));
}

const SOURCE = /^([^:()]+)(?:\(([\s\S]*)\))?(?::([\s\S]*))?$/;
const NOT_FOUND = Symbol('not found');
/** A reference to a source that needs AWS or a network: no value offline. */
class RemoteSource {
  constructor(
    readonly what: string,
    readonly text: string,
  ) {}
}
type Found = unknown | typeof NOT_FOUND;

/** Resolves every variable of `root` in place and returns it. */
export function resolveVariables(root: Record<string, unknown>, ctx: VariableContext): Record<string, unknown> {
  return new Resolver(root, ctx).all();
}

/** `${sls:stage}` alone: --stage, else provider.stage (with only what it references resolved), else dev. */
export function resolveStage(root: Record<string, unknown>, ctx: VariableContext): string {
  return new Resolver(root, ctx).stage();
}

class Resolver {
  /** Paths being resolved (for cycle detection), in order. */
  private readonly active: string[] = [];
  private readonly instanceId = randomBytes(8).toString('hex');
  private stageValue: string | undefined;

  constructor(
    private readonly root: Record<string, unknown>,
    private readonly ctx: VariableContext,
  ) {}

  all(): Record<string, unknown> {
    this.deep(this.root, []);
    return this.root;
  }

  private fail(where: readonly (string | number)[], message: string): never {
    throw new ConfigError(`${this.ctx.file}: ${keyPath(where)}: ${message}`);
  }

  /** Resolves every string below `node` (which lives at `where`), in place. */
  private deep(node: unknown, where: (string | number)[]): unknown {
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) node[i] = this.deep(this.at([...where, i], node, i), [...where, i]);
      return node;
    }
    if (node !== null && typeof node === 'object') {
      const obj = node as Record<string, unknown>;
      for (const k of Object.keys(obj)) obj[k] = this.deep(this.at([...where, k], obj, k), [...where, k]);
      return node;
    }
    return node;
  }

  /** The value of `parent[key]` (at `where`) with its own variables resolved (not its children's), stored back. */
  private at(where: (string | number)[], parent: Record<string, unknown> | unknown[], key: string | number): unknown {
    const raw = (parent as Record<string | number, unknown>)[key];
    if (typeof raw !== 'string' || !raw.includes('${')) return raw;
    const id = keyPath(where);
    const cycle = this.active.indexOf(id);
    if (cycle !== -1) this.fail(where, `variables refer to each other in a cycle: ${[...this.active.slice(cycle), id].join(' -> ')}`);
    if (this.active.length >= MAX_DEPTH) this.fail(where, `variables nest or refer on more than ${MAX_DEPTH} levels (${this.active.slice(-3).join(' -> ')} …)`);
    this.active.push(id);
    try {
      const value = this.string(raw, where, 0);
      (parent as Record<string | number, unknown>)[key] = value;
      return value;
    } finally {
      this.active.pop();
    }
  }

  /** Resolves the references in one string. */
  private string(s: string, where: (string | number)[], depth: number): unknown {
    if (depth > MAX_DEPTH) this.fail(where, `variables nest more than ${MAX_DEPTH} levels deep`);
    const spans = findPlaceholders(s).filter((p) => isVariable(p.body));
    if (spans.length === 0) return s;
    if (spans.length === 1 && spans[0]!.start === 0 && spans[0]!.end === s.length) {
      const v = this.placeholder(spans[0]!.body, where, depth);
      // A value that is itself text with references (a file's content, a param) resolves in turn.
      return typeof v === 'string' && v.includes('${') && v !== s ? this.string(v, where, depth + 1) : v;
    }
    let out = '';
    let last = 0;
    for (const p of spans) {
      let v = this.placeholder(p.body, where, depth);
      if (typeof v === 'string' && v.includes('${')) v = this.string(v, where, depth + 1);
      if (v !== null && typeof v === 'object') this.fail(where, `\${${p.body}} is an object or list and cannot be part of a text value; reference it as the whole value`);
      out += s.slice(last, p.start) + String(v);
      last = p.end;
    }
    return out + s.slice(last);
  }

  /** `source:address, fallback, …`: the first that resolves to a value. */
  private placeholder(body: string, where: (string | number)[], depth: number): unknown {
    const fallbacks = splitOutside(body, ',').map((f) => f.trim());
    const v = this.tryPlaceholder(fallbacks, body, where, depth);
    if (!(v instanceof RemoteSource) && v !== NOT_FOUND) return v;
    const remote = v instanceof RemoteSource ? v : undefined;
    if (remote) this.fail(where, `\${${body}} needs ${remote.what}, which Switchboard does not call when it runs a project locally. Give it a local value: a fallback in the file (\${${remote.text}, 'local-value'}), or an override on the command line (--set ${keyPath(where)}=VALUE), or read it from the environment instead (\${env:NAME})`);
    const first = fallbacks[0]!;
    this.fail(where, `\${${body}}: ${this.whyMissing(first)}; give a fallback (\${${first}, 'value'}) or set a value`);
  }

  /** The first fallback with a value; else NOT_FOUND, or the first source that needs AWS (for the message). */
  private tryPlaceholder(fallbacks: string[], body: string, where: (string | number)[], depth: number): Found {
    let remote: RemoteSource | undefined;
    for (const f of fallbacks) {
      const v = this.fallback(f, body, where, depth);
      // A source that needs AWS has no value offline: the next fallback is the local one.
      if (v instanceof RemoteSource) remote ??= v;
      else if (v !== NOT_FOUND && v !== null && v !== undefined) return v;
    }
    return remote ?? NOT_FOUND;
  }

  private whyMissing(f: string): string {
    const m = SOURCE.exec(f);
    const source = m?.[1]?.trim();
    if (source === 'env') return `environment variable ${m![3]} is not set (nor in a .env file)`;
    if (source === 'opt') return `option --${m![3]} was not given`;
    if (source === 'param') return `parameter "${m![3]}" is not defined (params, stages.<stage>.params or --param ${m![3]}=VALUE)`;
    if (source === 'self') return `${m![3]} is not set in ${path.basename(this.ctx.file)}`;
    if (source === 'file') return `the file or the key in it does not exist`;
    return 'it resolves to no value';
  }

  /** One fallback: a literal, a nested `${…}`, or `source:address`. */
  private fallback(f: string, body: string, where: (string | number)[], depth: number): Found {
    if (f === '') return NOT_FOUND;
    if (/^'[\s\S]*'$/.test(f)) return f.slice(1, -1);
    if (/^"[\s\S]*"$/.test(f)) return JSON.parse(f) as string;
    if (/^-?\d+(\.\d+)?$/.test(f)) return Number(f);
    if (f === 'true' || f === 'false') return f === 'true';
    if (f === 'null') return NOT_FOUND;
    const whole = f.startsWith('${') ? findPlaceholders(f) : [];
    if (whole.length === 1 && whole[0]!.end === f.length && isVariable(whole[0]!.body)) {
      // A fallback written as a variable of its own (with fallbacks of its own): no value passes on to the next one.
      if (depth > MAX_DEPTH) this.fail(where, `variables nest more than ${MAX_DEPTH} levels deep`);
      const inner = whole[0]!.body;
      const v = this.tryPlaceholder(splitOutside(inner, ',').map((x) => x.trim()), inner, where, depth + 1);
      return typeof v === 'string' && v.includes('${') ? this.string(v, where, depth + 1) : v;
    }
    // Nested references in the address resolve first: ${file(./c.${sls:stage}.yml):key}.
    const text = f.includes('${') ? this.string(f, where, depth + 1) : f;
    if (typeof text !== 'string') this.fail(where, `\${${body}}: "${f}" did not resolve to a source and address`);
    const m = SOURCE.exec(text);
    if (!m) this.fail(where, `\${${body}}: "${text}" is not a variable (expected source:address, e.g. env:NAME, or a quoted literal)`);
    const source = m[1]!.trim();
    const params = m[2];
    const address = m[3];
    if (!text.includes(':') && params === undefined) this.fail(where, `\${${body}}: fallback ${text} is neither a quoted literal ('${text}') nor a variable (source:address)`);
    return this.source(source, params, address ?? '', body, where);
  }

  private source(source: string, params: string | undefined, address: string, body: string, where: (string | number)[]): Found {
    switch (source) {
      case 'self':
        return this.self(address, where);
      case 'sls':
        if (address === 'stage') return this.stage();
        if (address === 'instanceId') return this.instanceId;
        return this.fail(where, `\${${body}}: sls:${address} is not a variable (sls:stage, sls:instanceId)`);
      case 'opt':
        if (address === '') return { ...this.ctx.options };
        return Object.hasOwn(this.ctx.options, address) ? this.ctx.options[address] : NOT_FOUND;
      case 'env':
        if (address === '') return this.fail(where, `\${${body}}: env: needs a variable name`);
        return this.ctx.env[address] ?? NOT_FOUND;
      case 'param':
        return this.param(address, where);
      case 'strToBool': {
        const v = (params ?? address).trim().toLowerCase();
        if (v === 'true' || v === '1') return true;
        if (v === 'false' || v === '0') return false;
        return this.fail(where, `\${${body}}: strToBool expects true, false, 1 or 0, not "${params ?? address}"`);
      }
      case 'file':
        if (params === undefined) return this.fail(where, `\${${body}}: file needs a path: \${file(./config.yml):key}`);
        return this.file(params.trim(), address, body, where);
      case 'aws':
        if (address === 'region') return this.region();
        if (address === 'accountId') return this.ctx.accountId;
        break;
    }
    if (Object.hasOwn(REMOTE, source)) return new RemoteSource(REMOTE[source]!, `${source}${params !== undefined ? `(${params})` : ''}:${address}`);
    return this.fail(where, `\${${body}}: unknown variable source "${source}" (offline, Switchboard resolves self, sls, opt, env, file, param, strToBool, aws:region and aws:accountId)`);
  }

  /** `${sls:stage}`: --stage, else provider.stage, else dev. */
  stage(): string {
    if (this.stageValue !== undefined) return this.stageValue;
    if (this.ctx.options.stage) return (this.stageValue = this.ctx.options.stage);
    const v = this.self('provider.stage', ['provider', 'stage']);
    return (this.stageValue = v === NOT_FOUND || v === undefined || v === null ? 'dev' : String(v));
  }

  private region(): string {
    if (this.ctx.options.region) return this.ctx.options.region;
    const v = this.self('provider.region', ['provider', 'region']);
    return v === NOT_FOUND || v === undefined || v === null ? 'us-east-1' : String(v);
  }

  /** A property of the configuration, resolving what lies on the way (and the value itself). */
  private self(address: string, where: (string | number)[]): Found {
    const segments = address === '' ? [] : address.split('.');
    let node: unknown = this.root;
    const walked: (string | number)[] = [];
    for (const seg of segments) {
      if (node === null || typeof node !== 'object') return NOT_FOUND;
      const key: string | number = Array.isArray(node) && /^\d+$/.test(seg) ? Number(seg) : seg;
      if (!Object.hasOwn(node, key)) return NOT_FOUND;
      walked.push(key);
      node = this.at(walked.slice(), node as Record<string, unknown>, key);
    }
    if (segments.length > 0 && walked.length === segments.length) this.deep(node, walked);
    else if (segments.length === 0) this.fail(where, '${self:} (the whole file) cannot be used as a value');
    return node;
  }

  /** `${param:key}`: --param, then stages.<stage>.params, params.<stage>, stages.default.params, params.default. */
  private param(key: string, _where: (string | number)[]): Found {
    if (Object.hasOwn(this.ctx.params, key)) return this.ctx.params[key];
    const stage = this.stage();
    for (const p of [`stages.${stage}.params.${key}`, `params.${stage}.${key}`, `stages.default.params.${key}`, `params.default.${key}`]) {
      const v = this.self(p, p.split('.'));
      if (v !== NOT_FOUND && v !== undefined && v !== null) return v;
    }
    return NOT_FOUND;
  }

  /** `${file(path):a.b}`: YAML or JSON, relative to the service folder; a missing file has no value (so a fallback applies). */
  private file(rel: string, address: string, body: string, where: (string | number)[]): Found {
    const unquoted = rel.replace(/^(['"])(.*)\1$/, '$2');
    const abs = path.resolve(this.ctx.serviceDir, unquoted.replace(/^~(?=\/)/, process.env.HOME ?? '~'));
    if (!existsSync(abs)) return NOT_FOUND;
    const ext = path.extname(abs).toLowerCase();
    let data: unknown;
    const text = readFileSync(abs, 'utf8');
    if (ext === '.json') {
      try {
        data = JSON.parse(text);
      } catch (err) {
        this.fail(where, `\${${body}}: ${abs} is not valid JSON: ${(err as Error).message}`);
      }
    } else if (ext === '.yml' || ext === '.yaml') {
      try {
        data = parseServerlessYaml(text, abs);
      } catch (err) {
        this.fail(where, `\${${body}}: ${(err as Error).message}`);
      }
    } else if (['.js', '.cjs', '.mjs', '.ts', '.mts', '.cts'].includes(ext)) {
      this.fail(where, `\${${body}}: JavaScript/TypeScript files are not evaluated by Switchboard's importer; put the values in a .yml or .json file, or set them with --set ${keyPath(where)}=VALUE`);
    } else {
      return address === '' ? text : this.fail(where, `\${${body}}: only YAML and JSON files have keys`);
    }
    if (address === '') return data;
    let node = data;
    for (const seg of address.split('.')) {
      if (node === null || typeof node !== 'object' || !Object.hasOwn(node, seg)) return NOT_FOUND;
      node = (node as Record<string, unknown>)[seg];
    }
    // The file's own variables resolve where the value lands.
    return typeof node === 'object' && node !== null ? structuredClone(node) : node;
  }
}
