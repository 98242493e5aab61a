/**
 * The bootstrap of one worker thread of a function's pool (worker-pool.ts), like one warm Lambda
 * execution environment: it loads the function's module once (in its own `process.env`, given
 * by the pool), then answers one call at a time; module state persists between calls.
 *
 * Messages in: `{ id, event, deadline, functionName }`. Out: `{ type: 'ready' }` or
 * `{ type: 'load-error', message }` once, then `{ id, ok: true, value, buffers }` or
 * `{ id, ok: false, error }` per call. An uncaught exception or `process.exit()` ends the
 * thread; the pool fails the call in progress and replaces the worker.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { installCallbackHook, type CallbackHookOptions } from './callback-hook.js';
import { callHandler, loadHandler, type HandlerFunction } from './handler.js';
import { isThenable } from './integration.js';
import { LambdaContext } from './lambda-context.js';

export interface WorkerData {
  ref: string;
  baseDir: string;
  /** The function's package root (`codeRoot`), if configured. */
  codeRoot?: string | undefined;
  region: string;
  accountId: string;
  /** Where the gateway listens, so callback URLs the handler builds itself reach it (callback-hook.ts). */
  callbackHook?: CallbackHookOptions | undefined;
}

export interface CallMessage {
  id: number;
  event: unknown;
  deadline: number;
  functionName: string;
}

/**
 * Structured clone turns a Buffer into a plain Uint8Array. Events the gateway builds hold none
 * of either, so every Uint8Array that arrives was a Buffer: made one again (same memory).
 * Walks plain objects and arrays only, a few levels deep (events and answers are shallow).
 */
export function revive(v: unknown, depth = 0): unknown {
  if (v instanceof Uint8Array) return Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (v === null || typeof v !== 'object' || depth > 8) return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = revive(v[i], depth + 1);
  } else {
    const o = v as Record<string, unknown>;
    for (const k in o) if (o[k] !== null && typeof o[k] === 'object') o[k] = revive(o[k], depth + 1);
  }
  return v;
}

/** Whether an answer holds a Buffer (the pool then revives its Uint8Arrays). */
export function holdsBuffer(v: unknown, depth = 0): boolean {
  if (Buffer.isBuffer(v)) return true;
  if (v === null || typeof v !== 'object' || depth > 8 || v instanceof Uint8Array) return false;
  if (Array.isArray(v)) return v.some((x) => holdsBuffer(x, depth + 1));
  for (const k in v as Record<string, unknown>) if (holdsBuffer((v as Record<string, unknown>)[k], depth + 1)) return true;
  return false;
}

/** A thrown value as plain data (Lambda's errorType / errorMessage, plus the stack). */
function serializeError(err: unknown): { name: string; message: string; stack?: string | undefined } {
  if (err instanceof Error) return { name: err.name, message: err.message, stack: err.stack };
  return { name: 'Error', message: typeof err === 'string' ? err : String(err) };
}

async function main(): Promise<void> {
  const port = parentPort!;
  const data = workerData as WorkerData;
  // Before the handler module loads, so handlers in workers reach the gateway as in-process ones do.
  if (data.callbackHook) installCallbackHook(data.callbackHook);
  let fn: HandlerFunction;
  try {
    ({ fn } = await loadHandler(data.ref, data.baseDir, data.codeRoot));
  } catch (err) {
    port.postMessage({ type: 'load-error', message: (err as Error)?.message ?? String(err) });
    return;
  }
  const answer = (id: number, value: unknown): void => {
    try {
      port.postMessage({ id, ok: true, value, buffers: holdsBuffer(value) });
    } catch (err) {
      // A function or other value structured clone refuses: the answer is malformed.
      port.postMessage({ id, ok: false, error: serializeError(err) });
    }
  };
  const fail = (id: number, err: unknown): void => port.postMessage({ id, ok: false, error: serializeError(err) });
  port.on('message', (m: CallMessage) => {
    const ctx = new LambdaContext(m.functionName, m.deadline, data.region, data.accountId);
    let r: unknown;
    try {
      r = callHandler(fn, revive(m.event), ctx);
    } catch (err) {
      fail(m.id, err);
      return;
    }
    // A synchronous answer goes back in this turn, not a microtask later.
    if (!isThenable(r) && typeof r !== 'function') return answer(m.id, r);
    const id = m.id;
    Promise.resolve(r).then(
      (value) => answer(id, value),
      (err: unknown) => fail(id, err ?? new Error('handler rejected')),
    );
  });
  port.postMessage({ type: 'ready' });
}

if (parentPort !== null) void main();
