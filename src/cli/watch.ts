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

/**
 * `--watch`: watches the inline handler modules and their local imports; on a change, reloads
 * every handler module (new calls use the new code; open connections stay). A module that does
 * not load keeps its old code and the error is logged. Handlers in worker threads are not reloaded.
 */
export function watchHandlers(logger: Logger, debounceMs = 150): { close(): void } {
  let files = new Set<string>();
  const watchers = new Map<string, FSWatcher>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let changed = new Set<string>();

  const rewatch = () => {
    files = localGraph(loadedModules());
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
    running = reloadModules(loadedModules(), (p) => watched.has(p))
      .then((results) => {
        const failed = results.filter((r) => r.error);
        const ok = results.filter((r) => !r.error).map((r) => r.file);
        if (ok.length > 0) logger.info({ changed: why, reloaded: ok }, `reloaded ${ok.length} handler module${ok.length === 1 ? '' : 's'}: new calls use the new code`);
        for (const f of failed) logger.error({ changed: why, file: f.file, err: f.error!.message }, `reload failed, keeping the old code of ${f.file}: ${f.error!.message}`);
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
