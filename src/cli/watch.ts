import { existsSync, readFileSync, statSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { loadedModules, reloadModules } from '../integrations/handler.js';

/** Relative specifiers in `import … from`, `import(…)`, `export … from` and `require(…)`. */
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)(['"])(\.{1,2}\/[^'"\n]+)\1/g;
const EXTENSIONS = ['', '.ts', '.mts', '.cts', '.tsx', '.js', '.mjs', '.cjs', '/index.ts', '/index.js', '/index.mjs'];
/** Enough for any project's handler code; past it, deeper imports are not watched. */
const MAX_FILES = 2000;

function resolveLocal(from: string, spec: string): string | undefined {
  const base = path.resolve(path.dirname(from), spec);
  // TypeScript ESM writes `./x.js` for `./x.ts`.
  const candidates = [...EXTENSIONS.map((e) => base + e), base.replace(/\.(m|c)?js$/, '.$1ts')];
  for (const c of candidates) {
    try {
      if (statSync(c).isFile()) return c;
    } catch {
      // not this one
    }
  }
  return undefined;
}

/** The handler files and the local files they import, as far as a plain scan of their text finds them. */
export function localGraph(entries: string[]): Set<string> {
  const seen = new Set<string>();
  const queue = [...entries];
  while (queue.length > 0 && seen.size < MAX_FILES) {
    const file = queue.pop()!;
    if (seen.has(file) || file.split(path.sep).includes('node_modules') || !existsSync(file)) continue;
    seen.add(file);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const m of text.matchAll(SPECIFIER)) {
      const dep = resolveLocal(file, m[2]!);
      if (dep && !seen.has(dep)) queue.push(dep);
    }
  }
  return seen;
}

/** Functions run in worker threads, as the gateway exposes them (`Gateway.workers`). */
export interface WatchedWorkers {
  modules(): string[];
  reload(files: readonly string[]): Promise<Array<{ file: string; error?: Error }>>;
}

/** What `watchHandlers` watches and reports to. */
export interface WatchOptions {
  logger: Logger;
  /** Functions run in worker threads: their modules are watched too, and a change restarts their workers. */
  workers?: WatchedWorkers | undefined;
  /** Quiet time after the last change before reloading (editors write in bursts). */
  debounceMs?: number | undefined;
}

/**
 * `--watch`: watches the handler modules (in-process and in workers) and their local imports. On
 * a change, reloads every in-process handler module (new calls use the new code), and restarts
 * the workers of each function whose module, or a local import of it, changed (a fresh worker
 * loads the new code, old ones end when their call is done). Open connections stay. A module
 * that does not load keeps its old code and the error is logged.
 */
export function watchHandlers(opts: WatchOptions): { close(): void } {
  const { logger, workers } = opts;
  const debounceMs = opts.debounceMs ?? 150;
  let files = new Set<string>();
  const watchers = new Map<string, FSWatcher>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let changed = new Set<string>();

  const rewatch = () => {
    files = localGraph([...loadedModules(), ...(workers?.modules() ?? [])]);
    const dirs = new Set([...files].map((f) => path.dirname(f)));
    for (const [dir, w] of watchers) if (!dirs.has(dir)) (w.close(), watchers.delete(dir));
    for (const dir of dirs) {
      if (watchers.has(dir)) continue;
      try {
        // Directories, not files: editors that save by renaming replace the file's inode.
        const w = watch(dir, { persistent: false }, (_event, name) => {
          const file = name ? path.join(dir, name.toString()) : undefined;
          if (file && !files.has(file)) return;
          if (file) changed.add(file);
          clearTimeout(timer);
          timer = setTimeout(reload, debounceMs);
        });
        w.on('error', () => {});
        watchers.set(dir, w);
      } catch (err) {
        logger.warn({ dir, err: (err as Error).message }, 'cannot watch a handler directory');
      }
    }
  };

  const reload = () => {
    if (running) {
      again = true;
      return;
    }
    const why = [...changed];
    changed = new Set();
    const watched = files;
    // Worker functions whose module reaches a changed file (every one when the change named none).
    const stale = (workers?.modules() ?? []).filter((f) => why.length === 0 || why.some((c) => localGraph([f]).has(c)));
    running = Promise.all([loadedModules().length > 0 ? reloadModules(loadedModules(), (p) => watched.has(p)) : [], stale.length > 0 ? workers!.reload(stale) : []])
      .then(([inline, inWorkers]) => {
        const ok = inline.filter((r) => !r.error).map((r) => r.file);
        if (ok.length > 0) logger.info({ changed: why, reloaded: ok }, `reloaded ${ok.length} handler module${ok.length === 1 ? '' : 's'}: new calls use the new code`);
        const okWorkers = inWorkers.filter((r) => !r.error).map((r) => r.file);
        if (okWorkers.length > 0) logger.info({ changed: why, restarted: okWorkers }, `restarted the workers of ${okWorkers.length} handler module${okWorkers.length === 1 ? '' : 's'}: new calls use the new code`);
        for (const f of [...inline, ...inWorkers].filter((r) => r.error)) logger.error({ changed: why, file: f.file, err: f.error!.message }, `reload failed, keeping the old code of ${f.file}: ${f.error!.message}`);
        rewatch();
      })
      .catch((err: unknown) => logger.error({ err: (err as Error).message }, 'reload failed'))
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          reload();
        }
      });
  };

  rewatch();
  logger.info({ files: files.size }, `watching ${files.size} handler file${files.size === 1 ? '' : 's'} (--watch)`);
  return {
    close() {
      clearTimeout(timer);
      for (const w of watchers.values()) w.close();
      watchers.clear();
    },
  };
}
