import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Counters } from '../observability/counters.js';
import type { LogLimiter } from '../observability/log-limiter.js';
import type { CallbackHookOptions } from './callback-hook.js';
import { HandlerLoadError } from './handler.js';
import { revive, type CallMessage, type WorkerData } from './handler-worker.js';
import { workerEntry } from '../shared/worker-entry.js';
import { IntegrationRefused, IntegrationTimeout, type Integration } from './integration.js';

/** What a function's worker pool is built from. */
export interface WorkerPoolOptions {
  /** The handler reference, as configured. */
  ref: string;
  /** The module file it names (what `--watch` watches). */
  file: string;
  baseDir: string;
  /** The function's package root (`codeRoot`), if configured. */
  codeRoot?: string | undefined;
  region: string;
  accountId: string;
  /** The function's own `environment`, merged over the gateway's when a worker starts. */
  environment: Record<string, string> | undefined;
  /** `AWS_LAMBDA_FUNCTION_NAME` in the worker's environment. */
  functionName: string;
  /** Calls running at once (= workers); beyond it a call is refused at once, as Lambda throttles. */
  maxConcurrency: number;
  /** A worker idle this long is ended (one is kept warm). */
  idleMs: number;
  /** V8 heap cap of each worker (`resourceLimits.maxOldGenerationSizeMb`); over it the worker dies, not the gateway. */
  maxOldGenerationSizeMb: number;
  /** The configuration key, for errors and logs (`routes.echo`). */
  where: string;
  counters?: Counters | undefined;
  logLimiter?: LogLimiter | undefined;
}

/**
 * A call in progress. It is its own abort listener (`handleEvent`), so a call costs no closures
 * beyond its promise's.
 */
class Pending {
  constructor(
    readonly id: number,
    readonly resolve: (v: unknown) => void,
    readonly reject: (e: Error) => void,
    readonly timeoutMs: number,
    readonly signal: AbortSignal,
    readonly pool: WorkerPool,
    readonly worker: PoolWorker,
  ) {}

  /** The call's deadline passed (its signal aborted). */
  handleEvent(): void {
    this.pool.timedOut(this);
  }

  /** Settles the call (once its worker has let go of it). */
  settle(ok: boolean, value: unknown): void {
    this.signal.removeEventListener('abort', this);
    if (ok) this.resolve(value);
    else this.reject(value as Error);
  }
}

/** One worker thread: one call at a time, like one Lambda execution environment. */
class PoolWorker {
  call: Pending | null = null;
  idleSince = Date.now();
  dead = false;
  /** Its module has loaded: a call is posted at once, not after `ready` settles. */
  loaded = false;
  /** Runs code older than a reload: ended when its call is done instead of taking another. */
  stale = false;
  readonly ready: Promise<void>;

  constructor(readonly worker: Worker) {
    this.ready = new Promise<void>((resolve, reject) => {
      const onMessage = (m: { type?: string; message?: string }) => {
        if (m.type === 'ready') {
          this.loaded = true;
          resolve();
        }
        else if (m.type === 'load-error') reject(new HandlerLoadError(m.message ?? 'handler failed to load'));
        else return;
        worker.off('message', onMessage);
      };
      worker.on('message', onMessage);
      worker.once('error', (err) => reject(new HandlerLoadError(`the handler's worker failed while loading it: ${err.message}`)));
      worker.once('exit', (code) => reject(new HandlerLoadError(`worker exited (code ${code}) while loading the handler`)));
    });
    this.ready.catch(() => {});
  }
}

/** The bootstrap file next to this one: `.js` when compiled, `.ts` when run from sources (tsx). */
const here = fileURLToPath(import.meta.url);
const BOOTSTRAP = path.join(path.dirname(here), `handler-worker${path.extname(here)}`);

let nextId = 1;
let ENTRY: { entry: string; eval: boolean } | undefined;

/**
 * The worker threads of one function (`isolation: worker`). Each worker loads the module once
 * and keeps its state between calls (a warm Lambda); its `process.env` is the gateway's
 * environment with the function's `environment` over it. A call past its deadline terminates
 * its worker (the only way to stop a runaway handler) and the next call gets a fresh one; an
 * uncaught exception, `process.exit()` or running out of heap ends only that worker, failing
 * its call. At most `maxConcurrency` calls run at once; beyond it a call is refused at once.
 */
export class WorkerPool {
  private readonly all = new Set<PoolWorker>();
  /** Most recently used last: the warmest worker takes the next call. */
  private readonly idle: PoolWorker[] = [];
  private baseEnv: Record<string, string | undefined> | undefined;
  private reaper: NodeJS.Timeout | undefined;
  private closed = false;

  /** The gateway's listener, for the callback hook each worker installs. */
  private callbackHook: CallbackHookOptions | undefined;

  constructor(readonly opts: WorkerPoolOptions) {}

  /**
   * Starts the first worker with `baseEnv` (the gateway's environment once it listens, so
   * handlers can call back) and waits until it has loaded the module; a HandlerLoadError
   * (naming the configuration key) when it cannot.
   */
  async start(baseEnv: Record<string, string | undefined>, callbackHook?: CallbackHookOptions): Promise<void> {
    this.baseEnv = baseEnv;
    this.callbackHook = callbackHook;
    const w = this.spawn();
    try {
      await w.ready;
    } catch (err) {
      throw new HandlerLoadError(`${this.opts.where}: ${(err as Error).message}`);
    }
    this.reaper = setInterval(() => this.reap(), Math.max(1000, Math.min(60_000, this.opts.idleMs / 2)));
    this.reaper.unref();
  }

  /**
   * Picks up edited handler code (`--watch`): starts a worker on the module as it is now and,
   * once it has loaded, retires the others (idle ones at once, busy ones when their call ends),
   * so calls that start afterwards run the new code and none fails. A module that does not load
   * (a syntax error) leaves the pool as it was; the error is returned.
   */
  async reload(): Promise<Error | undefined> {
    if (this.closed) return undefined;
    const fresh = this.spawn(false);
    try {
      await fresh.ready;
    } catch (err) {
      fresh.dead = true;
      this.forget(fresh);
      void fresh.worker.terminate();
      return err as Error;
    }
    if (this.closed || fresh.dead) return undefined;
    for (const w of [...this.all]) {
      if (w === fresh) continue;
      w.stale = true;
      if (w.call === null) this.retire(w);
    }
    this.idle.push(fresh);
    return undefined;
  }

  /** Ends a worker the pool no longer wants (idle past its time, or running old code). */
  private retire(w: PoolWorker): void {
    w.dead = true;
    this.forget(w);
    void w.worker.terminate();
  }

  /** Starts a worker; `listed`: it may take calls before it has loaded (they wait for it). */
  private spawn(listed = true): PoolWorker {
    const { opts } = this;
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.baseEnv ?? process.env)) if (v !== undefined) env[k] = v;
    env.AWS_LAMBDA_FUNCTION_NAME = opts.functionName;
    if (opts.environment) Object.assign(env, opts.environment);
    const data: WorkerData = { ref: opts.ref, baseDir: opts.baseDir, codeRoot: opts.codeRoot, region: opts.region, accountId: opts.accountId, callbackHook: this.callbackHook };
    const { entry, eval: isEval } = (ENTRY ??= workerEntry(BOOTSTRAP));
    const worker = new Worker(entry, {
      eval: isEval,
      workerData: data,
      env,
      resourceLimits: { maxOldGenerationSizeMb: opts.maxOldGenerationSizeMb },
    });
    // Workers never keep the process alive on their own; the gateway's listener does.
    worker.unref();
    const w = new PoolWorker(worker);
    this.all.add(w);
    if (listed) this.idle.push(w);
    worker.on('message', (m: { id?: number; ok?: boolean; value?: unknown; buffers?: boolean; error?: { name: string; message: string; stack?: string } }) => {
      const call = w.call;
      if (m.id === undefined || call === null || call.id !== m.id) return;
      w.call = null;
      w.idleSince = Date.now();
      if (w.stale) this.retire(w);
      else if (!w.dead) this.idle.push(w);
      if (m.ok) call.settle(true, m.buffers ? revive(m.value) : m.value);
      else call.settle(false, Object.assign(new Error(m.error!.message), { name: m.error!.name, stack: m.error!.stack }));
    });
    worker.on('error', (err: Error & { code?: string }) => {
      const oom = err.code === 'ERR_WORKER_OUT_OF_MEMORY';
      this.lost(w, oom ? 'oom' : 'error', oom ? 'worker ran out of memory (workers.maxOldGenerationSizeMb)' : `uncaught exception in the handler's worker: ${err.message}`);
    });
    worker.on('exit', (code) => this.lost(w, 'exit', `the handler's worker exited (code ${code})`));
    return w;
  }

  /** A worker ended (crash, exit, out of memory): its call fails, the pool forgets it. */
  private lost(w: PoolWorker, reason: 'error' | 'oom' | 'exit', message: string): void {
    if (w.dead) return;
    w.dead = true;
    this.forget(w);
    if (this.closed) return;
    this.opts.counters?.inc('workerCrashes', reason);
    this.opts.logLimiter?.log('warn', `worker-${reason}:${this.opts.where}`, { where: this.opts.where, reason }, message);
    const call = w.call;
    w.call = null;
    call?.settle(false, new Error(message));
    void w.worker.terminate();
    if (this.all.size === 0) this.spawn(); // keep one warm
  }

  private forget(w: PoolWorker): void {
    this.all.delete(w);
    const i = this.idle.indexOf(w);
    if (i !== -1) this.idle.splice(i, 1);
  }

  /** Runs one call on a worker; rejects with IntegrationTimeout (terminating the worker) when `signal` aborts. */
  call(event: object, timeoutMs: number, functionName: string, signal: AbortSignal): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error('worker pool closed: the gateway is shutting down'));
    let w = this.idle.pop();
    if (w === undefined) {
      if (this.all.size >= this.opts.maxConcurrency) {
        this.opts.counters?.inc('rejected', 'maxConcurrency');
        this.opts.logLimiter?.log('warn', `maxConcurrency:${this.opts.where}`, { where: this.opts.where, limit: this.opts.maxConcurrency }, 'call refused: every worker of the function is busy (maxConcurrency)');
        return Promise.reject(new IntegrationRefused('maxConcurrency', `${this.opts.where}: ${this.opts.maxConcurrency} calls already running`));
      }
      w = this.spawn();
      this.idle.pop(); // spawn() listed it as idle; it is taken
    }
    const worker = w;
    const deadline = Date.now() + timeoutMs;
    return new Promise<unknown>((resolve, reject) => {
      const pending = new Pending(nextId++, resolve, reject, timeoutMs, signal, this, worker);
      worker.call = pending;
      signal.addEventListener('abort', pending, { once: true });
      const msg: CallMessage = { id: pending.id, event, deadline, functionName };
      // A warm worker gets the call now; one still loading its module when that is done.
      if (worker.loaded) this.post(pending, msg);
      else {
        worker.ready.then(
          () => this.post(pending, msg),
          (err: Error) => {
            if (worker.call !== pending) return;
            worker.call = null;
            pending.settle(false, err);
          },
        );
      }
    });
  }

  /** Sends a call to its worker, unless it was already settled (timed out while the worker loaded). */
  private post(pending: Pending, msg: CallMessage): void {
    const worker = pending.worker;
    if (worker.call !== pending) return;
    try {
      worker.worker.postMessage(msg);
    } catch (err) {
      // An event structured clone refuses (never one the gateway builds).
      worker.call = null;
      if (worker.stale) this.retire(worker);
      else if (!worker.dead) this.idle.push(worker);
      pending.settle(false, err);
    }
  }

  /** A call's deadline passed: its worker is terminated (a runaway handler cannot be interrupted any other way). */
  timedOut(pending: Pending): void {
    const worker = pending.worker;
    if (worker.call !== pending) return;
    worker.call = null;
    worker.dead = true;
    this.forget(worker);
    void worker.worker.terminate();
    this.opts.counters?.inc('workerCrashes', 'timeout');
    pending.reject(new IntegrationTimeout(pending.timeoutMs));
    if (this.all.size === 0 && !this.closed) this.spawn(); // keep one warm
  }

  /** Ends workers idle past `idleMs`, keeping one warm. */
  private reap(): void {
    const now = Date.now();
    for (const w of [...this.idle]) {
      if (this.all.size <= 1) return;
      if (now - w.idleSince >= this.opts.idleMs) this.retire(w);
    }
  }

  /** Workers alive (for tests and metrics). */
  get size(): number {
    return this.all.size;
  }

  /** Terminates every worker; calls still running fail. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.reaper) clearInterval(this.reaper);
    const workers = [...this.all];
    for (const w of workers) {
      w.dead = true;
      const call = w.call;
      w.call = null;
      call?.settle(false, new Error('worker pool closed: the gateway is shutting down'));
    }
    this.all.clear();
    this.idle.length = 0;
    await Promise.allSettled(workers.map((w) => w.worker.terminate()));
  }
}

/** A handler run in a function's worker pool (`isolation: worker`). */
export class WorkerIntegration implements Integration {
  readonly description: string;
  readonly kind = 'worker';
  /** At its deadline a call's worker is terminated: the handler really stops. */
  readonly abortable = true;

  constructor(readonly pool: WorkerPool) {
    this.description = `handler ${pool.opts.ref} (worker)`;
  }

  start(event: object, timeoutMs: number, functionName: string, signal?: AbortSignal): unknown {
    return signal === undefined ? this.invoke(event, timeoutMs, functionName) : this.pool.call(event, timeoutMs, functionName, signal);
  }

  invoke(event: object, timeoutMs: number, functionName: string, signal?: AbortSignal): Promise<unknown> {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), timeoutMs);
    const forward = () => ac.abort();
    signal?.addEventListener('abort', forward, { once: true });
    return this.pool.call(event, timeoutMs, functionName, ac.signal).finally(() => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', forward);
    });
  }
}
