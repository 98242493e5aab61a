import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
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
 * Each module file is loaded once, so handlers exported from one file share its module state
 * (tsx's tsImport would otherwise give every call its own instance).
 */
const modules = new Map<string, Promise<Record<string, unknown>>>();

function importModule(file: string): Promise<Record<string, unknown>> {
  let mod = modules.get(file);
  if (mod === undefined) {
    mod = TS_FILE.test(file)
      ? import('tsx/esm/api').then(({ tsImport }) => tsImport(pathToFileURL(file).href, import.meta.url) as Promise<Record<string, unknown>>)
      : (import(pathToFileURL(file).href) as Promise<Record<string, unknown>>);
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
  return Promise.all(
    files.map(async (file) => {
      try {
        const mod = (await tsImport(`${pathToFileURL(file).href}?reload=${n}`, import.meta.url)) as Record<string, unknown>;
        for (const cell of cellsByFile.get(file) ?? []) {
          const fn = exported(mod, cell.exportName);
          if (typeof fn !== 'function') throw new HandlerLoadError(`${file} no longer exports a function "${cell.exportName}"`);
        }
        for (const cell of cellsByFile.get(file) ?? []) cell.fn = exported(mod, cell.exportName) as HandlerFunction;
        modules.set(file, Promise.resolve(mod));
        return { file };
      } catch (err) {
        return { file, error: err as Error };
      }
    }),
  );
}

function exported(mod: Record<string, unknown>, name: string): unknown {
  return mod[name] ?? (mod.default as Record<string, unknown> | undefined)?.[name];
}

/**
 * Loads `./path/module.ts#exportName` (export defaults to `handler`) relative to `baseDir`.
 * TypeScript modules load through tsx so users' handler files run unchanged, compiled or not.
 */
export async function loadHandler(ref: string, baseDir: string): Promise<{ fn: HandlerFunction; file: string; exportName: string }> {
  const hash = ref.lastIndexOf('#');
  const spec = hash === -1 ? ref : ref.slice(0, hash);
  const exportName = hash === -1 ? 'handler' : ref.slice(hash + 1);
  const file = path.resolve(baseDir, spec);
  let mod: Record<string, unknown>;
  try {
    mod = await importModule(file);
  } catch (err) {
    throw new HandlerLoadError(`cannot load handler module ${file}: ${(err as Error).message}`);
  }
  // CommonJS modules arrive with their exports under `default`.
  const fn = mod[exportName] ?? (mod.default as Record<string, unknown> | undefined)?.[exportName];
  if (typeof fn !== 'function') {
    const names = Object.keys(mod).filter((k) => typeof mod[k] === 'function');
    throw new HandlerLoadError(`${file} has no exported function "${exportName}" (exported functions: ${names.join(', ') || 'none'})`);
  }
  if (!cells.has(fn as HandlerFunction)) {
    const cell: HandlerCell = { fn: fn as HandlerFunction, file, exportName };
    cells.set(fn as HandlerFunction, cell);
    let set = cellsByFile.get(file);
    if (!set) cellsByFile.set(file, (set = new Set()));
    set.add(cell);
  }
  return { fn: fn as HandlerFunction, file, exportName };
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
