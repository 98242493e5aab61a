import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PROBE_EXTENSIONS } from '../../integrations/handler.js';
import { fromLambdaHandler } from '../handler-string.js';
import { ConfigError, validateConfig } from '../load.js';
import type { ConfigInput } from '../schema.js';
import { checkReferences, Evaluator, intrinsicName, NO_VALUE, TemplateError, type Symbols } from './intrinsics.js';
import { parseTemplate } from './parse.js';

/** How to read a template. */
export interface TemplateImportOptions {
  /** Path of the template: SAM / CloudFormation YAML or JSON, or a CDK `cdk.out/<Stack>.template.json`. */
  template: string;
  /**
   * Parameter values over the parameters' `Default`s (`--parameter K=V`). `AWS::StackName`,
   * `AWS::Region` and `AWS::AccountId` may be given here too.
   */
  parameters?: Record<string, string>;
  /** Logical id of the WebSocket API to run when the template defines several. */
  api?: string;
  /**
   * Configuration keys written over what the template gives (a Switchboard config, as written):
   * top-level keys replace, `routes` and `routeSettings` merge per key. `stage` picks the Stage
   * resource of that name; `region`, `accountId` and `apiId` are what the pseudo parameters and
   * `Ref` of the API evaluate to. A route given an integration here replaces the template's,
   * including one the template has that Switchboard cannot run.
   */
  overrides?: ConfigInput | Record<string, unknown>;
}

/** A template turned into a configuration. */
export interface ImportedTemplate {
  /** The configuration (as written, not yet validated by the caller: `createGateway` validates it). */
  config: ConfigInput;
  /** The template's folder: code paths in it are relative to it. */
  baseDir: string;
  /** What was read but has no effect locally (worth a line on the console). */
  warnings: string[];
}

const TOP_LEVEL = new Set(['AWSTemplateFormatVersion', 'Description', 'Metadata', 'Parameters', 'Rules', 'Mappings', 'Conditions', 'Transform', 'Resources', 'Outputs', 'Globals', 'Hooks']);
const TRANSFORMS = new Set(['AWS::Serverless-2016-10-31', 'AWS::LanguageExtensions']);
const API = 'AWS::ApiGatewayV2::Api';
const ROUTE = 'AWS::ApiGatewayV2::Route';
const INTEGRATION = 'AWS::ApiGatewayV2::Integration';
const AUTHORIZER = 'AWS::ApiGatewayV2::Authorizer';
const STAGE = 'AWS::ApiGatewayV2::Stage';
const ROUTE_RESPONSE = 'AWS::ApiGatewayV2::RouteResponse';
const INTEGRATION_RESPONSE = 'AWS::ApiGatewayV2::IntegrationResponse';
const SAM_FUNCTION = 'AWS::Serverless::Function';
const LAMBDA_FUNCTION = 'AWS::Lambda::Function';
/** Lambda's default function timeout, in seconds. */
const LAMBDA_DEFAULT_TIMEOUT = 3;
/** AWS's WebSocket integration timeout ceiling (and default), and the fixed authorizer timeout. */
const INTEGRATION_TIMEOUT_MS = 29_000;
const AUTHORIZER_TIMEOUT_MS = 10_000;
const LAMBDA_URI = /^arn:[^:]+:apigateway:[^:]*:lambda:path\/[^/]+\/functions\/(.+)\/invocations$/;
const INTEGRATION_KEYS = ['handler', 'http', 'httpProxy', 'lambda', 'mock'] as const;

type Json = Record<string, unknown>;
interface Resource {
  Type: string;
  Properties: Json;
  Condition?: string;
  Metadata?: Json;
}
interface FunctionInfo {
  handler: string;
  /** The code folder (CodeUri, asset folder): the function's package root; none for inline code. */
  codeRoot: string | undefined;
  environment: Record<string, string> | undefined;
  timeoutSeconds: number;
  name: string;
}
type RouteInput = NonNullable<ConfigInput['routes']>[string];

const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);
const own = (o: Json, k: string): unknown => (Object.hasOwn(o, k) ? o[k] : undefined);

/**
 * Reads a SAM / CloudFormation / CDK template and builds the Switchboard configuration that runs
 * its WebSocket API: the Api's route selection expression, each Route with its Integration
 * (AWS_PROXY to a Node.js function of the template → `handler`, HTTP_PROXY → `httpProxy`,
 * MOCK → `mock`), two-way routes, the $connect REQUEST authorizer, the Stage's name and
 * throttling, and per function its environment and timeout. Intrinsic functions are evaluated
 * offline against the template's own parameters and resources. What it cannot run (VTL
 * integrations, functions outside the template, non-Node runtimes, missing code) is refused with
 * one line per problem naming the resource and the key; nothing is dropped silently.
 */
export async function importTemplate(opts: TemplateImportOptions): Promise<ImportedTemplate> {
  const abs = path.resolve(opts.template);
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read template ${abs}: ${(err as Error).message}`);
  }
  return new Importer(parseTemplate(text, opts.template), opts.template, path.dirname(abs), opts).run();
}

class Importer {
  private readonly problems: string[] = [];
  private readonly warnings: string[] = [];
  private readonly resources: Record<string, Resource> = Object.create(null);
  private readonly ev: Evaluator;
  private readonly overrides: Json;
  private readonly params = new Map<string, { value?: string; type: string; missing?: string }>();
  private readonly pseudo: Record<string, unknown>;
  private readonly region: string;
  private readonly apiId: string;
  private readonly conditions = new Map<string, boolean>();
  private readonly evaluating = new Set<string>();
  private readonly functions = new Map<string, FunctionInfo>();
  /** Function ARNs (and names) given out by GetAtt/Ref, back to their logical ids. */
  private readonly functionByArn = new Map<string, string>();
  private readonly names = new Map<string, string>();

  constructor(
    private readonly t: Json,
    private readonly file: string,
    private readonly dir: string,
    private readonly opts: TemplateImportOptions,
  ) {
    this.overrides = isObject(opts.overrides) ? opts.overrides : {};
    const given = opts.parameters ?? {};
    const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
    this.region = given['AWS::Region'] ?? str(this.overrides.region) ?? 'us-east-1';
    const accountId = given['AWS::AccountId'] ?? str(this.overrides.accountId) ?? '000000000000';
    this.apiId = str(this.overrides.apiId) ?? 'switchboard';
    const partition = this.region.startsWith('cn-') ? 'aws-cn' : this.region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';
    // CDK names its templates <Stack>.template.json; otherwise the project's folder stands for the stack.
    const base = path.basename(file);
    const stackName = given['AWS::StackName'] ?? (base.endsWith('.template.json') ? base.slice(0, -'.template.json'.length) : path.basename(dir)).replace(/[^A-Za-z0-9-]/g, '-');
    this.pseudo = {
      'AWS::Region': this.region,
      'AWS::AccountId': accountId,
      'AWS::StackName': stackName,
      'AWS::StackId': `arn:${partition}:cloudformation:${this.region}:${accountId}:stack/${stackName}/00000000-0000-0000-0000-000000000000`,
      'AWS::Partition': partition,
      'AWS::URLSuffix': partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com',
      'AWS::NotificationARNs': [],
    };
    const symbols: Symbols = {
      parameter: (name, where) => this.parameter(name, where),
      resourceRef: (id, where) => this.resourceRef(id, where),
      resourceAtt: (id, attr, where) => this.resourceAtt(id, attr, where),
      condition: (name, where) => this.condition(name, where),
      mappings: isObject(t.Mappings) ? t.Mappings : {},
      region: this.region,
    };
    this.ev = new Evaluator(symbols, file);
  }

  run(): ImportedTemplate {
    this.readSections();
    if (this.problems.length > 0) this.throwProblems();
    const apiId = this.chooseApi();
    const config: Json = { region: this.region, accountId: this.pseudo['AWS::AccountId'] };
    const api = this.resources[apiId]!;
    const rse = this.attempt(() => this.optionalString(api, apiId, 'RouteSelectionExpression'));
    if (rse !== undefined) config.routeSelectionExpression = rse;
    const routes = this.readRoutes(apiId);
    config.routes = routes;
    this.readStage(apiId, config, routes);
    if (this.problems.length > 0) this.throwProblems();
    const merged = mergeOverrides(config, this.overrides);
    // Schema problems are reported against the template (the route keys come from it).
    validateConfig(merged, this.file);
    return { config: merged as ConfigInput, baseDir: this.dir, warnings: this.warnings };
  }

  private throwProblems(): never {
    const lines = [...new Set(this.problems)];
    throw new TemplateError(lines.length === 1 ? lines[0]! : `${this.file}: cannot run this template:\n${lines.map((l) => `  ${l}`).join('\n')}`);
  }

  /** Runs a step; a TemplateError becomes a collected problem (so one run lists them all). */
  private attempt<T>(step: () => T): T | undefined {
    try {
      return step();
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      this.problems.push(err.message);
      return undefined;
    }
  }

  private fail(where: string, why: string): never {
    return this.ev.fail(where, why);
  }

  // ---- sections, parameters, conditions ----------------------------------------------------

  private readSections(): void {
    const f = this.file;
    for (const k of Object.keys(this.t)) if (!TOP_LEVEL.has(k)) this.problems.push(`${f}: ${k}: not a template section (expected ${[...TOP_LEVEL].join(', ')})`);
    const transforms = this.t.Transform === undefined ? [] : Array.isArray(this.t.Transform) ? this.t.Transform : [this.t.Transform];
    for (const tr of transforms) {
      if (typeof tr !== 'string' || !TRANSFORMS.has(tr)) this.problems.push(`${f}: Transform: ${typeof tr === 'string' ? tr : JSON.stringify(tr)} is a macro a local run cannot apply (supported: ${[...TRANSFORMS].join(', ')})`);
    }
    if (!isObject(this.t.Resources)) {
      this.problems.push(`${f}: Resources: missing (a template needs a Resources section)`);
      return;
    }
    for (const [id, r] of Object.entries(this.t.Resources)) {
      if (!isObject(r) || typeof r.Type !== 'string') {
        this.problems.push(`${f}: Resources.${id}.Type: missing (every resource needs a Type)`);
        continue;
      }
      if (r.Properties !== undefined && !isObject(r.Properties)) this.problems.push(`${f}: Resources.${id}.Properties: expected a mapping`);
      this.resources[id] = { Type: r.Type, Properties: isObject(r.Properties) ? r.Properties : {}, ...(typeof r.Condition === 'string' ? { Condition: r.Condition } : {}), ...(isObject(r.Metadata) ? { Metadata: r.Metadata } : {}) };
    }
    this.readParameters();
    // As CloudFormation validates before it creates anything: every intrinsic is known and
    // every reference names something, in every resource, whether or not it is used here.
    const known = (name: string) => this.params.has(name) || Object.hasOwn(this.pseudo, name) || this.isResource(name);
    for (const [id, r] of Object.entries(this.t.Resources)) {
      if (!isObject(r)) continue;
      checkReferences(r.Properties, `Resources.${id}.Properties`, known, this.problems, f);
      if (typeof r.Condition === 'string' && !(isObject(this.t.Conditions) && Object.hasOwn(this.t.Conditions, r.Condition))) {
        this.problems.push(`${f}: Resources.${id}.Condition: no condition "${r.Condition}" in Conditions`);
      }
    }
    if (isObject(this.t.Conditions)) checkReferences(this.t.Conditions, 'Conditions', known, this.problems, f);
    if (isObject(this.t.Outputs)) checkReferences(this.t.Outputs, 'Outputs', known, this.problems, f);
    if (isObject(this.t.Globals)) checkReferences(this.t.Globals, 'Globals', known, this.problems, f);
  }

  private readParameters(): void {
    const f = this.file;
    const decl = isObject(this.t.Parameters) ? this.t.Parameters : {};
    const given = this.opts.parameters ?? {};
    for (const name of Object.keys(given)) {
      if (!Object.hasOwn(decl, name) && !['AWS::StackName', 'AWS::Region', 'AWS::AccountId'].includes(name)) {
        this.problems.push(`${f}: --parameter ${name}: the template has no parameter "${name}" (it has: ${Object.keys(decl).join(', ') || 'none'})`);
      }
    }
    for (const [name, p] of Object.entries(decl)) {
      const where = `Parameters.${name}`;
      if (!isObject(p) || typeof p.Type !== 'string') {
        this.problems.push(`${f}: ${where}.Type: missing`);
        continue;
      }
      const type = p.Type;
      const fromCli = Object.hasOwn(given, name) ? given[name] : undefined;
      const raw = fromCli ?? (p.Default === undefined ? undefined : typeof p.Default === 'string' ? p.Default : Array.isArray(p.Default) ? p.Default.join(',') : String(p.Default));
      if (type.startsWith('AWS::SSM::Parameter::Value<') && fromCli === undefined) {
        // The value lives in SSM Parameter Store (Default names the SSM parameter): only an error if used.
        this.params.set(name, { type, missing: `${where} is read from SSM Parameter Store (${String(p.Default)}), which a local run cannot: pass --parameter ${name}=VALUE` });
        continue;
      }
      if (raw === undefined) {
        this.params.set(name, { type, missing: `${where} has no Default and no value was given: pass --parameter ${name}=VALUE` });
        continue;
      }
      const source = fromCli !== undefined ? `--parameter ${name}` : `${where}.Default`;
      const why = checkParameter(p, type, raw);
      if (why !== undefined) this.problems.push(`${f}: ${source}: "${raw}" ${why}`);
      this.params.set(name, { type, value: raw });
    }
  }

  private parameter(name: string, where: string): unknown {
    if (Object.hasOwn(this.pseudo, name)) return this.pseudo[name];
    const p = this.params.get(name);
    if (p === undefined) return undefined;
    if (p.missing !== undefined) this.fail(where, `Ref to parameter ${name}: ${p.missing}`);
    // List types evaluate to lists, everything else to a string (CloudFormation converts numbers where needed).
    if (p.type === 'CommaDelimitedList' || p.type.startsWith('List<')) return p.value!.split(',').map((s) => s.trim());
    return p.value;
  }

  private condition(name: string, where: string): boolean {
    const known = this.conditions.get(name);
    if (known !== undefined) return known;
    const decl = isObject(this.t.Conditions) && Object.hasOwn(this.t.Conditions, name) ? this.t.Conditions[name] : undefined;
    if (decl === undefined) this.fail(where, `no condition "${name}" in Conditions`);
    const key = `condition:${name}`;
    if (this.evaluating.has(key)) this.fail(`Conditions.${name}`, 'refers to itself');
    this.evaluating.add(key);
    try {
      const v = this.ev.truth(decl, `Conditions.${name}`);
      this.conditions.set(name, v);
      return v;
    } finally {
      this.evaluating.delete(key);
    }
  }

  // ---- resources as symbols -----------------------------------------------------------------

  /** A resource of the template, or one SAM creates for it (a function's `<Id>Role`). */
  private isResource(id: string): boolean {
    return Object.hasOwn(this.resources, id) || this.samRoleOf(id) !== undefined;
  }

  private samRoleOf(id: string): string | undefined {
    if (!id.endsWith('Role')) return undefined;
    const fn = id.slice(0, -4);
    return Object.hasOwn(this.resources, fn) && this.resources[fn]!.Type === SAM_FUNCTION ? fn : undefined;
  }

  /** The resource, which must exist and not be switched off by its Condition. */
  private live(id: string, where: string): Resource | undefined {
    if (!Object.hasOwn(this.resources, id)) return undefined;
    const r = this.resources[id]!;
    if (r.Condition !== undefined && !this.condition(r.Condition, `Resources.${id}.Condition`)) this.fail(where, `refers to ${id}, which is not created (its condition ${r.Condition} is false)`);
    return r;
  }

  /** A name property (`TableName`, `FunctionName`…) evaluated once, else the logical id. */
  private nameOf(id: string, r: Resource, prop: string, where: string): string {
    const cached = this.names.get(id);
    if (cached !== undefined) return cached;
    const key = `name:${id}`;
    if (this.evaluating.has(key)) this.fail(where, `${id}.${prop} refers to itself`);
    this.evaluating.add(key);
    try {
      const v = own(r.Properties, prop);
      const name = v === undefined ? id : this.ev.string(v, `Resources.${id}.Properties.${prop}`);
      this.names.set(id, name);
      return name;
    } finally {
      this.evaluating.delete(key);
    }
  }

  private resourceRef(id: string, where: string): string | undefined {
    if (this.samRoleOf(id) !== undefined) return id;
    const r = this.live(id, where);
    if (r === undefined) return undefined;
    switch (r.Type) {
      case API:
        return this.apiId;
      case STAGE:
        return this.nameOf(id, r, 'StageName', where);
      case SAM_FUNCTION:
      case LAMBDA_FUNCTION: {
        const name = this.nameOf(id, r, 'FunctionName', where);
        this.functionByArn.set(name, id);
        return name;
      }
      case 'AWS::DynamoDB::Table':
      case 'AWS::DynamoDB::GlobalTable':
      case 'AWS::Serverless::SimpleTable':
        return this.nameOf(id, r, 'TableName', where);
      case 'AWS::S3::Bucket':
        return this.nameOf(id, r, 'BucketName', where).toLowerCase();
      case 'AWS::IAM::Role':
        return this.nameOf(id, r, 'RoleName', where);
      case 'AWS::SQS::Queue':
        return `https://sqs.${this.region}.${String(this.pseudo['AWS::URLSuffix'])}/${String(this.pseudo['AWS::AccountId'])}/${this.nameOf(id, r, 'QueueName', where)}`;
      case 'AWS::SNS::Topic':
        return this.arn('sns', this.nameOf(id, r, 'TopicName', where));
      default:
        // Integrations, routes, authorizers, deployments…: their id is their logical id here, so a
        // Target of `integrations/<Ref>` leads back to the resource.
        return id;
    }
  }

  private arn(service: string, resource: string, region = this.region): string {
    return `arn:${String(this.pseudo['AWS::Partition'])}:${service}:${region}:${String(this.pseudo['AWS::AccountId'])}:${resource}`;
  }

  private resourceAtt(id: string, attr: string, where: string): string | undefined {
    const samFn = this.samRoleOf(id);
    if (samFn !== undefined) return attr === 'Arn' ? `arn:${String(this.pseudo['AWS::Partition'])}:iam::${String(this.pseudo['AWS::AccountId'])}:role/${id}` : `${id}.${attr}`;
    const r = this.live(id, where);
    if (r === undefined) return undefined;
    const name = () => this.resourceRef(id, where)!;
    switch (`${r.Type}.${attr}`) {
      case `${SAM_FUNCTION}.Arn`:
      case `${LAMBDA_FUNCTION}.Arn`: {
        const arn = this.arn('lambda', `function:${name()}`);
        this.functionByArn.set(arn, id);
        return arn;
      }
      case `${API}.ApiEndpoint`:
        return `wss://${this.apiId}.execute-api.${this.region}.${String(this.pseudo['AWS::URLSuffix'])}`;
      case `${API}.ApiId`:
        return this.apiId;
      case 'AWS::DynamoDB::Table.Arn':
      case 'AWS::DynamoDB::GlobalTable.Arn':
      case 'AWS::Serverless::SimpleTable.Arn':
        return this.arn('dynamodb', `table/${name()}`);
      case 'AWS::DynamoDB::Table.StreamArn':
      case 'AWS::DynamoDB::GlobalTable.StreamArn':
        return this.arn('dynamodb', `table/${name()}/stream/1970-01-01T00:00:00.000`);
      case 'AWS::IAM::Role.Arn':
        return `arn:${String(this.pseudo['AWS::Partition'])}:iam::${String(this.pseudo['AWS::AccountId'])}:role/${name()}`;
      case 'AWS::SQS::Queue.Arn':
        return this.arn('sqs', name().split('/').pop()!);
      case 'AWS::SQS::Queue.QueueUrl':
        return name();
      case 'AWS::SQS::Queue.QueueName':
        return name().split('/').pop()!;
      case 'AWS::SNS::Topic.TopicArn':
        return name();
      case 'AWS::S3::Bucket.Arn':
        return `arn:${String(this.pseudo['AWS::Partition'])}:s3:::${name()}`;
      default: {
        // A deterministic stand-in: nothing here can know a deployed resource's attributes.
        const service = r.Type.split('::')[1]?.toLowerCase() ?? 'unknown';
        const value = attr === 'Arn' ? this.arn(service, id) : `${id}.${attr}`;
        this.warnings.push(`${this.file}: ${where}: ${id}.${attr} (${r.Type}) has no local value; it stands as "${value}"`);
        return value;
      }
    }
  }

  // ---- the API, its routes and stage ------------------------------------------------------

  private ofType(type: string): string[] {
    return Object.keys(this.resources).filter((id) => this.resources[id]!.Type === type && this.attempt(() => this.isCreated(id)) === true);
  }

  private isCreated(id: string): boolean {
    const c = this.resources[id]!.Condition;
    return c === undefined || this.condition(c, `Resources.${id}.Condition`);
  }

  private chooseApi(): string {
    const apis = this.ofType(API).filter((id) => {
      const p = this.resources[id]!.Properties;
      return this.attempt(() => this.ev.string(own(p, 'ProtocolType'), `Resources.${id}.Properties.ProtocolType`)) === 'WEBSOCKET';
    });
    if (this.problems.length > 0) this.throwProblems();
    if (this.opts.api !== undefined) {
      if (!apis.includes(this.opts.api)) this.fail(`--api ${this.opts.api}`, `not a WebSocket API of this template (WebSocket APIs: ${apis.join(', ') || 'none'})`);
      return this.opts.api;
    }
    if (apis.length === 0) this.fail('Resources', `no ${API} with ProtocolType WEBSOCKET: nothing to run`);
    if (apis.length > 1) this.fail('Resources', `several WebSocket APIs (${apis.join(', ')}): pick one with --api LOGICAL_ID`);
    return apis[0]!;
  }

  /** Whether a resource's ApiId names the API (a Ref or GetAtt ApiId of it; a single API matches any literal). */
  private belongsTo(id: string, apiId: string): boolean {
    const v = own(this.resources[id]!.Properties, 'ApiId');
    const fn = intrinsicName(v);
    if (fn === 'Ref') return (v as Json).Ref === apiId;
    if (fn === 'Fn::GetAtt') {
      const a = (v as Json)['Fn::GetAtt'];
      return (typeof a === 'string' ? a.split('.')[0] : Array.isArray(a) ? a[0] : undefined) === apiId;
    }
    // A literal id (an API created elsewhere) or anything else: only unambiguous with one WebSocket API.
    return this.ofType(API).length === 1;
  }

  private optionalString(r: Resource, id: string, prop: string): string | undefined {
    const v = own(r.Properties, prop);
    if (v === undefined) return undefined;
    const s = this.ev.eval(v, `Resources.${id}.Properties.${prop}`);
    if (s === NO_VALUE) return undefined;
    return this.ev.string(s, `Resources.${id}.Properties.${prop}`);
  }

  private readRoutes(apiId: string): Record<string, RouteInput> {
    const routes: Record<string, RouteInput> = Object.create(null);
    const sourceOf = new Map<string, string>();
    const twoWay = new Set<string>();
    for (const id of this.ofType(ROUTE_RESPONSE)) {
      const r = this.resources[id]!;
      this.attempt(() => {
        if (!this.belongsTo(id, apiId)) return;
        const key = this.optionalString(r, id, 'RouteResponseKey');
        if (key !== '$default') this.fail(`Resources.${id}.Properties.RouteResponseKey`, `"${key}": WebSocket APIs only have the $default route response`);
        const routeId = this.optionalString(r, id, 'RouteId');
        if (routeId !== undefined) twoWay.add(routeId);
      });
    }
    const overrideRoutes = isObject(this.overrides.routes) ? this.overrides.routes : {};
    for (const id of this.ofType(ROUTE)) {
      if (!this.belongsTo(id, apiId)) continue;
      const r = this.resources[id]!;
      const at = (k: string) => `Resources.${id}.Properties.${k}`;
      this.attempt(() => {
        const key = this.optionalString(r, id, 'RouteKey');
        if (key === undefined) this.fail(at('RouteKey'), 'missing');
        const earlier = sourceOf.get(key);
        if (earlier !== undefined) this.fail(at('RouteKey'), `duplicate route "${key}": ${earlier} already defines it (AWS refuses a second route with the same key)`);
        sourceOf.set(key, id);
        const over = own(overrideRoutes, key);
        const replaced = isObject(over) && INTEGRATION_KEYS.some((k) => over[k] !== undefined);
        const route: RouteInput = {};
        const target = this.optionalString(r, id, 'Target');
        if (target !== undefined) {
          const m = /^integrations\/(.+)$/.exec(target);
          if (!m) this.fail(at('Target'), `"${target}" is not integrations/<IntegrationId>`);
          if (!replaced) Object.assign(route, this.integration(m[1]!, key, at('Target')));
        } else if (key !== '$connect' && key !== '$disconnect' && !replaced) {
          this.fail(at('Target'), `missing: route "${key}" has no integration (give it Target: integrations/<IntegrationId>)`);
        }
        const rrse = this.optionalString(r, id, 'RouteResponseSelectionExpression');
        if (rrse !== undefined && rrse !== '$default') this.fail(at('RouteResponseSelectionExpression'), `"${rrse}": WebSocket APIs only support $default`);
        if (rrse !== undefined || twoWay.has(id)) {
          if (key === '$disconnect') this.fail(at('RouteResponseSelectionExpression'), '$disconnect cannot have a route response');
          route.routeResponse = true;
        }
        const authType = this.optionalString(r, id, 'AuthorizationType') ?? 'NONE';
        if (authType !== 'NONE' && key !== '$connect') this.fail(at('AuthorizationType'), `${authType} on route "${key}": authorization applies to $connect only (as on AWS)`);
        if (authType === 'CUSTOM') {
          const authId = this.optionalString(r, id, 'AuthorizerId');
          if (authId === undefined) this.fail(at('AuthorizerId'), 'missing: AuthorizationType CUSTOM needs an AuthorizerId');
          route.authorizer = this.authorizer(authId, at('AuthorizerId'));
        } else if (authType === 'AWS_IAM') {
          route.authorizationType = 'AWS_IAM';
        } else if (authType !== 'NONE') {
          this.fail(at('AuthorizationType'), `"${authType}": WebSocket routes take NONE, AWS_IAM or CUSTOM`);
        }
        if (this.ev.eval(own(r.Properties, 'ApiKeyRequired') ?? false, at('ApiKeyRequired')) === true) {
          this.warnings.push(`${this.file}: ${at('ApiKeyRequired')}: API keys are not checked locally: route "${key}" is open without one`);
        }
        if (own(r.Properties, 'RequestParameters') !== undefined) this.warnings.push(`${this.file}: ${at('RequestParameters')}: required request parameters are not enforced locally`);
        if (own(r.Properties, 'RequestModels') !== undefined) this.warnings.push(`${this.file}: ${at('RequestModels')}: request models are not validated locally`);
        routes[key] = route;
      });
    }
    return routes;
  }

  /** The route fields for an integration resource. */
  private integration(integId: string, routeKey: string, from: string): RouteInput {
    const r = this.live(integId, from);
    if (r === undefined || r.Type !== INTEGRATION) this.fail(from, `integrations/${integId}: no ${INTEGRATION} "${integId}" in this template`);
    const at = (k: string) => `Resources.${integId}.Properties.${k}`;
    const type = this.optionalString(r, integId, 'IntegrationType');
    const timeoutIn = own(r.Properties, 'TimeoutInMillis');
    const integrationMs = timeoutIn === undefined ? INTEGRATION_TIMEOUT_MS : this.number(timeoutIn, at('TimeoutInMillis'), 50, INTEGRATION_TIMEOUT_MS);
    switch (type) {
      case 'AWS_PROXY': {
        const fnId = this.lambdaTarget(integId, 'IntegrationUri');
        const fn = this.fn(fnId, at('IntegrationUri'));
        return { handler: fn.handler, ...(fn.codeRoot ? { codeRoot: fn.codeRoot } : {}), functionName: fn.name, timeoutMs: Math.min(fn.timeoutSeconds * 1000, integrationMs), ...(fn.environment ? { environment: fn.environment } : {}) };
      }
      case 'HTTP_PROXY': {
        if ((this.optionalString(r, integId, 'ConnectionType') ?? 'INTERNET') !== 'INTERNET') this.fail(at('ConnectionType'), 'a VPC link cannot be reached from a local gateway; point IntegrationUri at a reachable URL');
        const method = this.optionalString(r, integId, 'IntegrationMethod');
        if (method !== undefined && method !== 'POST' && method !== 'ANY') this.fail(at('IntegrationMethod'), `"${method}": Switchboard's HTTP_PROXY integration always POSTs the message`);
        const uri = this.optionalString(r, integId, 'IntegrationUri');
        if (uri === undefined) this.fail(at('IntegrationUri'), 'missing: HTTP_PROXY needs a URL');
        if (!/^https?:\/\//.test(uri)) this.fail(at('IntegrationUri'), `"${uri}" is not an http(s) URL`);
        return { httpProxy: uri, timeoutMs: integrationMs };
      }
      case 'MOCK':
        return { mock: this.mock(integId, r) };
      case 'AWS':
      case 'HTTP':
        return this.fail(at('IntegrationType'), `"${type}" (a non-proxy integration with VTL mapping templates) cannot run in Switchboard: use AWS_PROXY to a Lambda function of the template or HTTP_PROXY, or give route "${routeKey}" an integration in --config`);
      default:
        return this.fail(at('IntegrationType'), `"${type}" is not an integration type of WebSocket APIs (AWS_PROXY, HTTP_PROXY, MOCK; AWS and HTTP are not supported here)`);
    }
  }

  /** A MOCK integration: its status from the request template, its body from a static $default integration response. */
  private mock(integId: string, r: Resource): { statusCode: number; body?: string } {
    const at = (k: string) => `Resources.${integId}.Properties.${k}`;
    let statusCode = 200;
    const templates = this.ev.eval(own(r.Properties, 'RequestTemplates') ?? {}, at('RequestTemplates'));
    if (isObject(templates)) {
      for (const [k, v] of Object.entries(templates)) {
        const m = typeof v === 'string' ? /^\s*\{\s*"statusCode"\s*:\s*(\d{3})\s*\}\s*$/.exec(v) : null;
        if (!m) this.fail(`${at('RequestTemplates')}.${k}`, 'only a static {"statusCode": NNN} mapping template can run locally (VTL is not evaluated)');
        statusCode = Number(m[1]);
      }
    }
    let body: string | undefined;
    for (const id of this.ofType(INTEGRATION_RESPONSE)) {
      const ir = this.resources[id]!;
      if (this.optionalString(ir, id, 'IntegrationId') !== integId) continue;
      const responses = this.ev.eval(own(ir.Properties, 'ResponseTemplates') ?? {}, `Resources.${id}.Properties.ResponseTemplates`);
      if (!isObject(responses)) continue;
      for (const [k, v] of Object.entries(responses)) {
        if (typeof v !== 'string' || /[$#]/.test(v)) this.fail(`Resources.${id}.Properties.ResponseTemplates.${k}`, 'only a static response template can run locally (VTL is not evaluated)');
        body = v;
      }
    }
    return body === undefined ? { statusCode } : { statusCode, body };
  }

  /** The function an integration or authorizer URI invokes; refused when it is not one of the template's. */
  private lambdaTarget(id: string, prop: string): string {
    const r = this.resources[id]!;
    const where = `Resources.${id}.Properties.${prop}`;
    const uri = this.optionalString(r, id, prop);
    if (uri === undefined) this.fail(where, 'missing: the Lambda function to invoke');
    const m = LAMBDA_URI.exec(uri);
    const arn = m ? m[1]! : uri; // a bare function ARN is accepted too
    const find = () => this.functionByArn.get(arn) ?? this.functionByArn.get(arn.replace(/(:function:[^:]+):[^:]+$/, '$1'));
    let byArn = find();
    if (byArn === undefined) {
      // A literal ARN (or name) of one of the template's functions: learn every function's ARN and look again.
      for (const fnId of [...this.ofType(SAM_FUNCTION), ...this.ofType(LAMBDA_FUNCTION)]) {
        try {
          this.resourceAtt(fnId, 'Arn', where);
        } catch (err) {
          if (!(err instanceof TemplateError)) throw err;
        }
      }
      byArn = find();
    }
    if (byArn !== undefined) return byArn;
    if (!m && !/^arn:[^:]+:lambda:/.test(uri)) this.fail(where, `"${uri}" is not a Lambda invocation URI (arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/FUNCTION_ARN/invocations)`);
    return this.fail(where, `"${arn}" is a Lambda function outside this template, which Switchboard cannot run in-process (only the template's own Node.js functions run); define the function in the template, or configure this route with lambda: {functionName} in --config`);
  }

  private authorizer(authId: string, from: string): NonNullable<RouteInput['authorizer']> {
    const r = this.live(authId, from);
    if (r === undefined || r.Type !== AUTHORIZER) this.fail(from, `"${authId}" is not an ${AUTHORIZER} of this template`);
    const at = (k: string) => `Resources.${authId}.Properties.${k}`;
    const type = this.optionalString(r, authId, 'AuthorizerType');
    if (type !== 'REQUEST') this.fail(at('AuthorizerType'), `"${type}": WebSocket APIs take REQUEST authorizers`);
    const fn = this.fn(this.lambdaTarget(authId, 'AuthorizerUri'), at('AuthorizerUri'));
    const raw = this.ev.eval(own(r.Properties, 'IdentitySource') ?? [], at('IdentitySource'));
    const sources = (typeof raw === 'string' ? raw.split(',') : Array.isArray(raw) ? raw : [raw]).map((s) => (typeof s === 'string' ? s.trim() : s));
    const identitySource: string[] = [];
    for (const s of sources) {
      if (typeof s !== 'string' || !/^route\.request\.(header|querystring)\.[^\s.]+$/.test(s)) {
        this.fail(at('IdentitySource'), `${JSON.stringify(s)}: Switchboard reads route.request.header.NAME and route.request.querystring.NAME (not stage variables or context)`);
      }
      identitySource.push(s);
    }
    // AWS gives an authorizer 10 s whatever the function's own timeout; the shorter wins.
    return { handler: fn.handler, ...(fn.codeRoot ? { codeRoot: fn.codeRoot } : {}), identitySource, timeoutMs: Math.min(fn.timeoutSeconds * 1000, AUTHORIZER_TIMEOUT_MS), ...(fn.environment ? { environment: fn.environment } : {}) };
  }

  private readStage(apiId: string, config: Json, routes: Record<string, RouteInput>): void {
    const stages = this.ofType(STAGE).filter((id) => this.belongsTo(id, apiId));
    const wanted = typeof this.overrides.stage === 'string' ? this.overrides.stage : undefined;
    let chosen: string | undefined;
    const nameOf = (id: string) => this.attempt(() => this.optionalString(this.resources[id]!, id, 'StageName'));
    chosen = wanted !== undefined ? stages.find((id) => nameOf(id) === wanted) : stages[0];
    if (chosen === undefined) return;
    if (wanted === undefined && stages.length > 1) this.warnings.push(`${this.file}: Resources: several stages (${stages.join(', ')}); running ${chosen} (pick another with stage: NAME in --config)`);
    const r = this.resources[chosen]!;
    const at = (k: string) => `Resources.${chosen}.Properties.${k}`;
    this.attempt(() => {
      const name = this.optionalString(r, chosen!, 'StageName');
      if (name !== undefined) config.stage = name;
      const dflt = this.throttling(own(r.Properties, 'DefaultRouteSettings'), at('DefaultRouteSettings'));
      if (dflt !== undefined) config.defaultRouteSettings = dflt;
      let per = this.ev.eval(own(r.Properties, 'RouteSettings') ?? {}, at('RouteSettings'));
      if (per === NO_VALUE) per = {};
      if (!isObject(per)) this.fail(at('RouteSettings'), 'expected a mapping of route keys to settings');
      const routeSettings: Json = {};
      for (const [key, s] of Object.entries(per)) {
        if (!Object.hasOwn(routes, key)) this.fail(`${at('RouteSettings')}.${key}`, `no route "${key}" in this API`);
        const t = this.throttling(s, `${at('RouteSettings')}.${key}`);
        if (t !== undefined) routeSettings[key] = t;
      }
      if (Object.keys(routeSettings).length > 0) config.routeSettings = routeSettings;
      if (own(r.Properties, 'StageVariables') !== undefined) this.warnings.push(`${this.file}: ${at('StageVariables')}: stage variables are not passed to handlers (events carry stageVariables: {})`);
    });
  }

  private throttling(v: unknown, where: string): { throttlingRateLimit?: number; throttlingBurstLimit?: number } | undefined {
    if (v === undefined) return undefined;
    const s = this.ev.eval(v, where);
    if (s === NO_VALUE) return undefined;
    if (!isObject(s)) this.fail(where, 'expected a mapping');
    const out: { throttlingRateLimit?: number; throttlingBurstLimit?: number } = {};
    if (s.ThrottlingRateLimit !== undefined) out.throttlingRateLimit = this.number(s.ThrottlingRateLimit, `${where}.ThrottlingRateLimit`, 0, Infinity);
    if (s.ThrottlingBurstLimit !== undefined) out.throttlingBurstLimit = Math.floor(this.number(s.ThrottlingBurstLimit, `${where}.ThrottlingBurstLimit`, 0, Infinity));
    return Object.keys(out).length > 0 ? out : undefined;
  }

  private number(v: unknown, where: string, min: number, max: number): number {
    const raw = this.ev.eval(v, where);
    const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
    if (!Number.isFinite(n) || n < min || n > max) this.fail(where, `expected a number${max === Infinity ? ` ≥ ${min}` : ` from ${min} to ${max}`}, got ${JSON.stringify(raw)}`);
    return n;
  }

  // ---- functions ----------------------------------------------------------------------------

  /** A Lambda function of the template, resolved to a handler reference Switchboard loads. */
  private fn(id: string, from: string): FunctionInfo {
    const cached = this.functions.get(id);
    if (cached) return cached;
    const r = this.live(id, from)!;
    const where = `Resources.${id}`;
    const at = (k: string) => `${where}.Properties.${k}`;
    let props = r.Properties;
    if (r.Type === SAM_FUNCTION) {
      const g = isObject(this.t.Globals) && isObject(this.t.Globals.Function) ? this.t.Globals.Function : {};
      props = mergeGlobals(g, props);
    } else if (r.Type !== LAMBDA_FUNCTION) this.fail(from, `${id} is a ${r.Type}, not a Lambda function`);
    const get = (k: string) => {
      const v = own(props, k);
      if (v === undefined) return undefined;
      const e = this.ev.eval(v, at(k));
      return e === NO_VALUE ? undefined : e;
    };
    const str = (k: string) => {
      const v = get(k);
      return v === undefined ? undefined : this.ev.string(v, at(k));
    };
    if (str('PackageType') === 'Image' || get('ImageUri') !== undefined || (isObject(get('Code')) && (get('Code') as Json).ImageUri !== undefined)) {
      this.fail(at('PackageType'), 'a container-image function cannot run in-process; Switchboard runs zip functions with a nodejs* Runtime');
    }
    const runtime = str('Runtime');
    if (runtime === undefined) this.fail(at('Runtime'), `missing (in the function${r.Type === SAM_FUNCTION ? ' and in Globals.Function' : ''}): Switchboard runs nodejs* functions`);
    if (!/^nodejs/.test(runtime)) this.fail(at('Runtime'), `"${runtime}" is not a Node.js runtime: Switchboard runs nodejs* functions in-process only`);
    const handler = str('Handler');
    if (handler === undefined) this.fail(at('Handler'), 'missing (a Lambda handler such as app.handler)');
    const ref = fromLambdaHandler(handler, `${this.file}: ${at('Handler')}`);
    const hash = ref.indexOf('#');
    const modulePath = ref.slice(0, hash);
    const exportPath = ref.slice(hash + 1);

    let file: string;
    let codeRoot: string | undefined;
    const inline = r.Type === SAM_FUNCTION ? get('InlineCode') : isObject(get('Code')) ? (get('Code') as Json).ZipFile : undefined;
    if (inline !== undefined) {
      const key = r.Type === SAM_FUNCTION ? 'InlineCode' : 'Code.ZipFile';
      if (typeof inline !== 'string') this.fail(at(key), 'expected the code as a string');
      // Lambda saves inline code as index.js: a handler in another module cannot be found there either.
      if (modulePath !== 'index') this.fail(at('Handler'), `"${handler}": inline code (${key}) is the module "index", so the handler must be index.EXPORT`);
      file = writeInline(inline, this.dir);
    } else {
      const { dir, key } = this.codeDir(id, r, get);
      file = this.findModule(id, dir, key, modulePath, handler, r);
      codeRoot = dir;
    }
    const vars = get('Environment');
    let environment: Record<string, string> | undefined;
    if (vars !== undefined) {
      if (!isObject(vars) || (vars.Variables !== undefined && !isObject(vars.Variables))) this.fail(at('Environment'), 'expected {Variables: {NAME: value}}');
      const v = (vars.Variables ?? {}) as Json;
      environment = {};
      for (const [k, x] of Object.entries(v)) {
        if (typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean') environment[k] = String(x);
        else this.fail(`${at('Environment')}.Variables.${k}`, 'expected a string value');
      }
    }
    const timeout = get('Timeout');
    const timeoutSeconds = timeout === undefined ? LAMBDA_DEFAULT_TIMEOUT : this.number(timeout, at('Timeout'), 1, 900);
    if (get('Layers') !== undefined) this.warnings.push(`${this.file}: ${at('Layers')}: layers are not loaded locally: modules they provide must be installed in the project`);
    const info: FunctionInfo = { handler: `${file}#${exportPath}`, codeRoot, environment, timeoutSeconds, name: this.resourceRef(id, from)!.slice(0, 140) };
    this.functions.set(id, info);
    return info;
  }

  /** Where a function's code is: SAM CodeUri, a packaged-style local Code path, or a CDK asset folder. */
  private codeDir(id: string, r: Resource, get: (k: string) => unknown): { dir: string; key: string } {
    const at = (k: string) => `Resources.${id}.Properties.${k}`;
    const deployed = (key: string) => this.fail(at(key), 'names a deployed artifact (S3), whose code is not here: give a local path (SAM CodeUri: ./dir), or run from cdk.out after cdk synth');
    if (r.Type === SAM_FUNCTION) {
      const uri = get('CodeUri');
      if (uri === undefined) this.fail(at('CodeUri'), 'missing (and not in Globals.Function): the folder with the function\'s code, or InlineCode');
      if (typeof uri !== 'string' || uri.startsWith('s3://')) return deployed('CodeUri');
      return { dir: path.resolve(this.dir, uri), key: 'CodeUri' };
    }
    const code = get('Code');
    // `aws cloudformation package` style: Code given as a local path.
    if (typeof code === 'string') return { dir: path.resolve(this.dir, code), key: 'Code' };
    const asset = r.Metadata?.['aws:asset:path'];
    if (typeof asset === 'string' && (r.Metadata?.['aws:asset:property'] ?? 'Code') === 'Code') {
      return { dir: path.resolve(this.dir, asset), key: `Code (Metadata aws:asset:path ${asset})` };
    }
    return deployed('Code');
  }

  private findModule(id: string, dir: string, key: string, modulePath: string, handler: string, r: Resource): string {
    const at = (k: string) => `Resources.${id}.Properties.${k}`;
    let st;
    try {
      st = statSync(dir);
    } catch {
      this.fail(at(key.split(' ')[0]!), `${dir} does not exist (${key} of ${id})`);
    }
    if (!st.isDirectory()) this.fail(at(key.split(' ')[0]!), `${dir} is not a folder (a .zip must be unpacked first)`);
    const candidates: string[] = [];
    // SAM's esbuild build: the handler's module is the entry point of the same name.
    const build = r.Metadata;
    const entries = build?.BuildMethod === 'esbuild' && isObject(build.BuildProperties) && Array.isArray(build.BuildProperties.EntryPoints) ? build.BuildProperties.EntryPoints : [];
    for (const e of entries) {
      if (typeof e === 'string' && path.basename(e).replace(/\.[^.]+$/, '') === path.basename(modulePath)) candidates.push(path.resolve(dir, e));
    }
    const base = path.resolve(dir, modulePath);
    // The same order the loader probes (Lambda's: as given, .js, .mjs, .cjs, then TypeScript sources).
    for (const ext of PROBE_EXTENSIONS) candidates.push(base + ext);
    for (const c of candidates) {
      try {
        if (statSync(c).isFile()) return c;
      } catch {
        // try the next one
      }
    }
    return this.fail(at('Handler'), `"${handler}": no module ${path.relative(this.dir, base) || '.'}{${PROBE_EXTENSIONS.join(',')}} in ${path.relative(this.dir, dir) || '.'}/ (${key})`);
  }
}

/** CloudFormation's checks of a parameter value; the reason it fails, or undefined. */
function checkParameter(p: Json, type: string, value: string): string | undefined {
  const list = type === 'CommaDelimitedList' || type.startsWith('List<');
  const items = list ? value.split(',').map((s) => s.trim()) : [value];
  for (const v of items) {
    if ((type === 'Number' || type === 'List<Number>') && (v.trim() === '' || !Number.isFinite(Number(v)))) return 'is not a number';
    if (Array.isArray(p.AllowedValues) && !p.AllowedValues.map(String).includes(v)) return `is not one of the AllowedValues (${p.AllowedValues.map(String).join(', ')})`;
    if (typeof p.AllowedPattern === 'string' && !new RegExp(`^(?:${p.AllowedPattern})$`).test(v)) return `does not match AllowedPattern ${p.AllowedPattern}`;
    if (typeof p.MinLength === 'number' && v.length < p.MinLength) return `is shorter than MinLength ${p.MinLength}`;
    if (typeof p.MaxLength === 'number' && v.length > p.MaxLength) return `is longer than MaxLength ${p.MaxLength}`;
    if (typeof p.MinValue === 'number' && Number(v) < p.MinValue) return `is below MinValue ${p.MinValue}`;
    if (typeof p.MaxValue === 'number' && Number(v) > p.MaxValue) return `is above MaxValue ${p.MaxValue}`;
  }
  return undefined;
}

/**
 * SAM's Globals rules: the function's own value wins; mappings merge (function keys win), lists
 * concatenate (Globals first), and an intrinsic counts as a single value.
 */
export function mergeGlobals(globals: Json, props: Json): Json {
  const out: Json = { ...globals };
  for (const [k, v] of Object.entries(props)) {
    const g = out[k];
    if (isObject(g) && isObject(v) && intrinsicName(g) === undefined && intrinsicName(v) === undefined) out[k] = mergeGlobals(g, v);
    else if (Array.isArray(g) && Array.isArray(v)) out[k] = [...g, ...v];
    else out[k] = v;
  }
  return out;
}

/** Overrides over the imported configuration: top-level keys replace; routes and routeSettings merge per key. */
export function mergeOverrides(imported: Json, overrides: Json): Json {
  const out: Json = { ...imported };
  for (const [k, v] of Object.entries(overrides)) {
    if ((k === 'routes' || k === 'routeSettings') && isObject(v) && isObject(out[k])) {
      const merged: Json = { ...(out[k] as Json) };
      for (const [key, entry] of Object.entries(v)) {
        const before = merged[key];
        if (k === 'routes' && isObject(before) && isObject(entry)) {
          // An integration given here replaces the template's.
          const base = INTEGRATION_KEYS.some((i) => entry[i] !== undefined) ? Object.fromEntries(Object.entries(before).filter(([x]) => !(INTEGRATION_KEYS as readonly string[]).includes(x) && x !== 'environment' && x !== 'functionName')) : before;
          merged[key] = { ...base, ...entry };
        } else merged[key] = entry;
      }
      out[k] = merged;
    } else out[k] = v;
  }
  return out;
}

/**
 * Inline code (SAM InlineCode, Lambda Code.ZipFile) saved as `index.js` (with a package.json that
 * sets no module type, as in Lambda's task root) in a folder named by its hash under
 * `<templateDir>/.switchboard/inline/`, so its `require`s resolve from the project's node_modules
 * (where Lambda provides the AWS SDK); the system's temp folder when the project is read-only.
 * The same code is written once and reused across runs.
 */
function writeInline(code: string, templateDir: string): string {
  const hash = createHash('sha256').update(code).digest('hex').slice(0, 24);
  for (const root of [path.join(templateDir, '.switchboard', 'inline'), path.join(tmpdir(), 'switchboard-inline')]) {
    const dir = path.join(root, hash);
    const file = path.join(dir, 'index.js');
    try {
      if (readFileSync(file, 'utf8') === code) return file;
    } catch {
      // not written yet
    }
    try {
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'package.json'), '{}\n');
      writeFileSync(file, code);
      return file;
    } catch {
      // not writable: the next place
    }
  }
  throw new TemplateError(`cannot write inline code to ${templateDir}/.switchboard or the temp folder`);
}
