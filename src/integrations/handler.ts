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

  constructor(
    private readonly fn: HandlerFunction,
    ref: string,
    private readonly region: string,
    private readonly accountId: string,
  ) {
    this.description = `handler ${ref}`;
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
    if (this.fn.length >= 3) return callWithCallback(this.fn, event, ctx);
    return this.fn(event, ctx);
  }
}
