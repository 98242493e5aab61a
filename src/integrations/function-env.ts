import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Per-function environment for handlers that run in the gateway process (`isolation: inline`).
 *
 * Lambda gives each function its own `process.env`; in one process there is only one. When any
 * in-process function has an `environment`, `process.env` is replaced by a proxy that reads
 * the environment of the function whose call is running (an AsyncLocalStorage entered around
 * each handler call, and around the import of its module), falling back to the real
 * environment (the gateway's). Writes and deletes inside a call change only that function's
 * overlay, which lives as long as the gateway, as a warm Lambda's environment does.
 *
 * What this cannot give (use `isolation: worker`, where each worker has its own real
 * environment): code running outside any call's async context sees the gateway's environment
 * — timers, sockets and emitters set up at module load or by another function, native code
 * (`getenv`), child processes and workers started without an explicit `env`; and a module file
 * shared by two functions is evaluated once, in the context of the first one loaded, so values
 * it reads at import time are that function's.
 *
 * When no in-process function has an `environment` nothing is installed and handler calls are
 * not wrapped: the hot path is unchanged.
 */
export class FunctionEnv {
  /** The function's own values; `undefined` marks a name it deleted. */
  readonly vars: Record<string, string | undefined> = Object.create(null) as Record<string, string | undefined>;

  constructor(environment: Record<string, string> | undefined) {
    if (environment !== undefined) for (const [k, v] of Object.entries(environment)) this.vars[k] = v;
  }
}

const als = new AsyncLocalStorage<FunctionEnv>();
let realEnv: NodeJS.ProcessEnv | undefined;
let users = 0;

function overlay(key: string | symbol): FunctionEnv | undefined {
  if (typeof key !== 'string') return undefined;
  const s = als.getStore();
  return s !== undefined && Object.hasOwn(s.vars, key) ? s : undefined;
}

const traps: ProxyHandler<NodeJS.ProcessEnv> = {
  get(target, key) {
    const s = overlay(key);
    return s !== undefined ? s.vars[key as string] : (target as Record<string | symbol, unknown>)[key];
  },
  set(target, key, value) {
    const s = typeof key === 'string' ? als.getStore() : undefined;
    // Environment values are strings, as on the real process.env.
    if (s !== undefined) s.vars[key as string] = String(value);
    else (target as Record<string | symbol, unknown>)[key] = value;
    return true;
  },
  deleteProperty(target, key) {
    const s = typeof key === 'string' ? als.getStore() : undefined;
    if (s !== undefined) s.vars[key as string] = undefined;
    else delete (target as Record<string | symbol, unknown>)[key];
    return true;
  },
  has(target, key) {
    const s = overlay(key);
    return s !== undefined ? s.vars[key as string] !== undefined : key in target;
  },
  ownKeys(target) {
    const s = als.getStore();
    const keys = Reflect.ownKeys(target);
    if (s === undefined) return keys;
    const out = new Set<string | symbol>();
    for (const k of keys) if (typeof k !== 'string' || !Object.hasOwn(s.vars, k) || s.vars[k] !== undefined) out.add(k);
    for (const k of Object.keys(s.vars)) if (s.vars[k] !== undefined) out.add(k);
    return [...out];
  },
  getOwnPropertyDescriptor(target, key) {
    const s = overlay(key);
    if (s === undefined) return Reflect.getOwnPropertyDescriptor(target, key);
    const value = s.vars[key as string];
    return value === undefined ? undefined : { value, writable: true, enumerable: true, configurable: true };
  },
  defineProperty(target, key, desc) {
    return traps.set!(target, key, desc.value, target);
  },
};

/** Installs the `process.env` proxy (once, however many gateways ask); returns its release. */
export function installFunctionEnv(): () => void {
  if (users++ === 0) {
    realEnv = process.env;
    process.env = new Proxy(realEnv, traps);
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--users === 0 && realEnv !== undefined) {
      process.env = realEnv;
      realEnv = undefined;
    }
  };
}

/** Runs `fn(...args)` with `env` as the current function's environment (and every async continuation it starts). */
export function runWithEnv<A extends unknown[], R>(env: FunctionEnv, fn: (...args: A) => R, ...args: A): R {
  return als.run(env, fn, ...args);
}

/** The environment of the function whose call (or module import) is running, if any. */
export function currentEnv(): FunctionEnv | undefined {
  return als.getStore();
}
