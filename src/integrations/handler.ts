import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { currentEnv, runWithEnv, type FunctionEnv } from './function-env.js';
import { isThenable, withTimeout, type Integration } from './integration.js';
import { LambdaContext } from './lambda-context.js';

/** A Lambda-style handler: `(event, context)` returning a value or a promise (callback style also works). */
export type HandlerFunction = (event: any, context: any, callback?: (err: unknown, result?: unknown) => void) => unknown;

/** A handler reference that could not be loaded; the message says which file or export. */
export class HandlerLoadError extends Error {
  override name = 'HandlerLoadError';
}

const TS_FILE = /\.(c|m)?tsx?$/;

/**
 * What a module reference without a usable file is tried as, in order: Lambda's Node runtime
 * (and serverless-offline) try the path as given, then `.js` (CommonJS unless the nearest
 * package.json says `"type": "module"`, which Node's loader decides), `.mjs`, `.cjs`, then
 * TypeScript sources through tsx. `.mts`, `.cts` and `.tsx` come last: Lambda knows no
 * TypeScript, but a project run from its sources may use them.
 */
export const PROBE_EXTENSIONS = Object.freeze(['', '.js', '.mjs', '.cjs', '.ts', '.mts', '.cts', '.tsx']);

/**
 * Each module file is loaded once, so handlers exported from one file share its module state
 * (tsx's tsImport would otherwise give every call its own instance).
 */
const modules = new Map<string, Promise<Record<string, unknown>>>();

/**
 * The environment each module file was first imported in (the first function loaded from it):
 * a reload imports it in the same one, so values read at load time stay that function's.
 */
const loadEnvs = new Map<string, FunctionEnv | undefined>();
/** The package root each module file was loaded with (`codeRoot`), for reloads. */
const loadRoots = new Map<string, string | undefined>();

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The file a module reference names, probed as Lambda does; throws naming every path tried. */
export function resolveHandlerFile(spec: string, baseDir: string): string {
  const base = path.resolve(baseDir, spec);
  for (const ext of PROBE_EXTENSIONS) if (isFile(base + ext)) return base + ext;
  throw new HandlerLoadError(`cannot find handler module "${spec}": tried ${PROBE_EXTENSIONS.map((e) => base + e).join(', ')}`);
}

/** `"type"` of the nearest package.json at or above a folder (up to `root`, if given), cached. */
const packageTypes = new Map<string, string | undefined>();

function packageType(dir: string, root?: string): string | undefined {
  const key = root === undefined ? dir : `${dir}\0${root}`;
  if (packageTypes.has(key)) return packageTypes.get(key);
  let type: string | undefined;
  try {
    type = (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { type?: string }).type ?? 'commonjs';
  } catch (err) {
    const parent = path.dirname(dir);
    const enoent = (err as NodeJS.ErrnoException).code === 'ENOENT';
    // No package.json here (or an unreadable one, which Node would also pass over): look further
    // up, but not past the function's package root (where Lambda finds none: CommonJS).
    if (enoent && root !== undefined && dir === root) type = 'commonjs';
    else type = enoent && parent !== dir ? packageType(parent, root) : undefined;
  }
  packageTypes.set(key, type);
  return type;
}

/** Whether `file` is inside folder `root` (or is it). */
function inside(file: string, root: string): boolean {
  return file === root || file.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

/** `.cjs`, extensionless files, and `.js` unless the nearest package.json (up to `root`) says `"type": "module"`. */
function isCommonJs(file: string, root?: string): boolean {
  const ext = path.extname(file);
  if (ext === '.cjs' || ext === '') return true;
  return ext === '.js' && packageType(path.dirname(file), root !== undefined && inside(file, root) ? root : undefined) !== 'module';
}

/**
 * Package roots where `.js` is CommonJS although a package.json above them says `"type":
 * "module"`: a CDK asset folder or SAM CodeUri inside an ESM project, which Lambda runs from its
 * own root (/var/task) with no package.json. Node's loader would see the project's and refuse to
 * require such a file as CommonJS, so its `.js` loader is wrapped, for files under these roots only.
 */
const cjsRoots = new Set<string>();
let cjsLoaderWrapped = false;

function registerCjsRoot(root: string): void {
  cjsRoots.add(root);
  if (cjsLoaderWrapped) return;
  cjsLoaderWrapped = true;
  const Module = createRequire(import.meta.url)('node:module') as { _extensions: Record<string, (m: { _compile(code: string, file: string): unknown }, file: string) => unknown> };
  const original = Module._extensions['.js']!;
  Module._extensions['.js'] = function (this: unknown, module, filename) {
    for (const root of cjsRoots) {
      if (inside(filename, root) && isCommonJs(filename, root)) return module._compile(readFileSync(filename, 'utf8'), filename);
    }
    return original.call(this, module, filename);
  };
}

/** CommonJS as Lambda would load it; Node is made to agree when only a package.json above the root says otherwise. */
function isCommonJsIn(file: string, root: string | undefined): boolean {
  if (!isCommonJs(file, root)) return false;
  if (root !== undefined && path.extname(file) === '.js' && !isCommonJs(file)) registerCjsRoot(root);
  return true;
}

function importModule(file: string, root: string | undefined): Promise<Record<string, unknown>> {
  let mod = modules.get(file);
  if (mod === undefined) {
    if (!loadEnvs.has(file)) loadEnvs.set(file, currentEnv());
    if (!loadRoots.has(file)) loadRoots.set(file, root);
    if (TS_FILE.test(file)) {
      mod = import('tsx/esm/api').then(({ tsImport }) => tsImport(pathToFileURL(file).href, import.meta.url) as Promise<Record<string, unknown>>);
    } else if (isCommonJsIn(file, root)) {
      // Required, as Lambda does: Node's ESM loader refuses extensionless files, and a loader
      // hook (tsx) may redirect an import of `app.js` to an `app.ts` beside it.
      mod = new Promise((resolve) => resolve({ default: createRequire(file)(file) as unknown }));
    } else {
      mod = import(pathToFileURL(file).href) as Promise<Record<string, unknown>>;
    }
    modules.set(file, mod);
    mod.catch(() => modules.delete(file));
  }
  return mod;
}

/** A handler's current function: `reloadModules` swaps it when its module is reloaded (`--watch`). */
interface HandlerCell {
  fn: HandlerFunction;
  file: string;
  exportName: string;
}
const cells = new WeakMap<HandlerFunction, HandlerCell>();
const cellsByFile = new Map<string, Set<HandlerCell>>();
let reloads = 0;

/** Handler module files loaded so far (what `--watch` watches). */
export function loadedModules(): string[] {
  return [...cellsByFile.keys()];
}

/**
 * Imports `files` (handler modules already loaded) again with a cache-busting URL, through tsx so
 * their local imports load fresh too, and points their handlers at the new exports: calls that
 * start afterwards use the new code, running ones finish on the old. A module that fails to load
 * (a syntax error) or lost an export keeps its old code; the result says why.
 */
export async function reloadModules(files: string[] = loadedModules(), clearRequireCache?: (path: string) => boolean): Promise<Array<{ file: string; error?: Error }>> {
  const n = ++reloads;
  if (clearRequireCache) {
    // CommonJS local imports are cached by path; ESM ones are fresh per tsImport call.
    const cache = createRequire(import.meta.url).cache;
    for (const key of Object.keys(cache)) if (clearRequireCache(key)) delete cache[key];
  }
  const { tsImport } = await import('tsx/esm/api');
  const load = async (file: string): Promise<Record<string, unknown>> => {
    if (!TS_FILE.test(file) && isCommonJsIn(file, loadRoots.get(file))) {
      // Required again, as it was loaded (its cache entry dropped).
      const req = createRequire(file);
      delete req.cache[file];
      return { default: req(file) as unknown };
    }
    return (await tsImport(`${pathToFileURL(file).href}?reload=${n}`, import.meta.url)) as Record<string, unknown>;
  };
  return Promise.all(
    files.map(async (file) => {
      try {
        const env = loadEnvs.get(file);
        // In the environment it was first loaded in (a function's own, when it has one).
        const mod = env !== undefined ? await runWithEnv(env, load, file) : await load(file);
        // Every export first: a module that lost one keeps its old code whole.
        const next = [...(cellsByFile.get(file) ?? [])].map((cell) => [cell, resolveExport(mod, cell.exportName, file)] as const);
        for (const [cell, fn] of next) cell.fn = fn;
        modules.set(file, Promise.resolve(mod));
        return { file };
      } catch (err) {
        return { file, error: err as Error };
      }
    }),
  );
}

function describeExports(obj: unknown): string {
  if (obj === null || (typeof obj !== 'object' && typeof obj !== 'function')) return 'none';
  const names = Object.keys(obj as object).filter((k) => k !== 'default' && k !== '__esModule');
  return names.length > 0 ? names.join(', ') : 'none';
}

/**
 * Finds `a.b.c` in a loaded module, as Lambda resolves `file.a.b.c`. CommonJS modules arrive
 * with `module.exports` under `default` (Node also lifts the names it can detect): the first
 * name is looked up on the module, then on its default export.
 */
export function resolveExport(mod: Record<string, unknown>, exportPath: string, file: string): HandlerFunction {
  const names = exportPath.split('.');
  const first = names[0]!;
  const cjs = mod.default as Record<string, unknown> | undefined;
  let value: unknown = Object.hasOwn(mod, first) ? mod[first] : (cjs !== null && typeof cjs === 'object') || typeof cjs === 'function' ? (cjs as Record<string, unknown>)[first] : undefined;
  if (value === undefined) {
    const exported = describeExports(mod) === 'none' ? describeExports(cjs) : describeExports(mod);
    throw new HandlerLoadError(`${file} has no export "${first}"${names.length > 1 ? ` (handler "${exportPath}")` : ''}; its exports: ${exported}`);
  }
  for (let i = 1; i < names.length; i++) {
    const holder = value;
    value = holder !== null && (typeof holder === 'object' || typeof holder === 'function') ? (holder as Record<string, unknown>)[names[i]!] : undefined;
    if (value === undefined) {
      throw new HandlerLoadError(`${file}: export "${names.slice(0, i).join('.')}" has no property "${names[i]}" (handler "${exportPath}"); its keys: ${describeExports(holder)}`);
    }
  }
  if (typeof value !== 'function') throw new HandlerLoadError(`${file}: export "${exportPath}" is ${value === null ? 'null' : `a ${typeof value}`}, not a function`);
  return value as HandlerFunction;
}

/**
 * Loads `./path/module#export` (export defaults to `handler`; it may be a dotted path into
 * nested objects, `#handlers.chat.send`) relative to `baseDir`. The module may leave out its
 * extension: it is probed as Lambda does (PROBE_EXTENSIONS). TypeScript modules load through
 * tsx so users' handler files run unchanged, compiled or not. `codeRoot` is the function's
 * package root (Lambda's /var/task): whether `.js` is CommonJS is decided by a package.json at or
 * below it only. Errors name the file tried and the export.
 */
export async function loadHandler(ref: string, baseDir: string, codeRoot?: string): Promise<{ fn: HandlerFunction; file: string; exportName: string }> {
  const hash = ref.lastIndexOf('#');
  const spec = hash === -1 ? ref : ref.slice(0, hash);
  const exportName = hash === -1 ? 'handler' : ref.slice(hash + 1);
  const file = resolveHandlerFile(spec, baseDir);
  let mod: Record<string, unknown>;
  try {
    mod = await importModule(file, codeRoot === undefined ? undefined : path.resolve(baseDir, codeRoot));
  } catch (err) {
    throw new HandlerLoadError(`cannot load handler module ${file}: ${(err as Error)?.message ?? String(err)}`);
  }
  const fn = resolveExport(mod, exportName, file);
  if (!cells.has(fn)) {
    const cell: HandlerCell = { fn, file, exportName };
    cells.set(fn, cell);
    let set = cellsByFile.get(file);
    if (!set) cellsByFile.set(file, (set = new Set()));
    set.add(cell);
  }
  return { fn, file, exportName };
}

/** Calls a handler as Lambda's Node runtime does: callback style (three parameters) as a promise, else as is. */
export function callHandler(fn: HandlerFunction, event: unknown, ctx: LambdaContext): unknown {
  return fn.length >= 3 ? callWithCallback(fn, event, ctx) : fn(event, ctx);
}

/** Calls a callback-style handler (three parameters) as a promise. */
function callWithCallback(fn: HandlerFunction, event: unknown, ctx: LambdaContext): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const cb = (err: unknown, result?: unknown) => {
      if (settled) return;
      settled = true;
      if (err) reject(err instanceof Error ? err : new Error(String(err)));
      else resolve(result);
    };
    try {
      const r = fn(event, ctx, cb);
      if (r && typeof (r as Promise<unknown>).then === 'function') (r as Promise<unknown>).then((v) => cb(null, v), (e) => cb(e ?? new Error('handler rejected')));
    } catch (e) {
      cb(e ?? new Error('handler threw'));
    }
  });
}

/** An in-process handler module, called with a Lambda-like context and a timeout. */
export class HandlerIntegration implements Integration {
  readonly description: string;
  readonly kind = 'handler';
  /** A handler runs in this process and cannot be stopped; a timed-out call's answer is dropped. */
  readonly abortable = false;

  /** Where a reloaded module's new function is found. */
  private readonly cell: HandlerCell | undefined;

  constructor(
    private readonly fn: HandlerFunction,
    ref: string,
    private readonly region: string,
    private readonly accountId: string,
  ) {
    this.description = `handler ${ref}`;
    this.cell = cells.get(fn);
  }

  invoke(event: object, timeoutMs: number, functionName: string): Promise<unknown> {
    let r: unknown;
    try {
      r = this.start(event, timeoutMs, functionName);
    } catch (e) {
      return Promise.reject(e);
    }
    // A synchronous answer needs no timer.
    return isThenable(r) ? withTimeout(r, timeoutMs) : Promise.resolve(r);
  }

  start(event: object, timeoutMs: number, functionName: string): unknown {
    const ctx = new LambdaContext(functionName, Date.now() + timeoutMs, this.region, this.accountId);
    const fn = this.cell === undefined ? this.fn : this.cell.fn;
    if (fn.length >= 3) return callWithCallback(fn, event, ctx);
    return fn(event, ctx);
  }
}

/**
 * An in-process handler that runs in its function's own environment (function-env.ts). A
 * subclass, so gateways without per-function environments run the plain class's code unchanged.
 */
export class EnvHandlerIntegration extends HandlerIntegration {
  constructor(
    fn: HandlerFunction,
    ref: string,
    region: string,
    accountId: string,
    private readonly env: FunctionEnv,
  ) {
    super(fn, ref, region, accountId);
  }

  override start(event: object, timeoutMs: number, functionName: string): unknown {
    return runWithEnv(this.env, superStart, this, event, timeoutMs, functionName);
  }
}

const superStart = (self: EnvHandlerIntegration, event: object, timeoutMs: number, functionName: string): unknown => HandlerIntegration.prototype.start.call(self, event, timeoutMs, functionName);
