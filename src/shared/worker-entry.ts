import { pathToFileURL } from 'node:url';

/**
 * What `new Worker()` runs for a module of this package (`file`: its absolute path): the
 * compiled `.js` itself, or, from TypeScript sources (tests, tsx), a small script that loads it
 * through tsx (a worker's own `--import` hooks are not ready when its main module loads).
 */
export function workerEntry(file: string): { entry: string; eval: boolean } {
  if (!file.endsWith('.ts')) return { entry: file, eval: false };
  const api = import.meta.resolve('tsx/esm/api');
  const url = pathToFileURL(file).href;
  return { entry: `import(${JSON.stringify(api)}).then(({ tsImport }) => tsImport(${JSON.stringify(url)}, ${JSON.stringify(url)}))`, eval: true };
}
