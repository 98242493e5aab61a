import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * `.env` files as the Serverless Framework loads them for `${env:…}`: from the service folder,
 * `.env.{stage}` when it exists, otherwise `.env` (one file only); values already in the
 * environment win; `$NAME`, `${NAME}` and `${NAME:-default}` expand (dotenv-expand). The values
 * feed variable resolution only: like the Framework, they are not passed to functions unless
 * serverless.yml puts them in an `environment`.
 */
export function loadDotenv(serviceDir: string, stage: string, env: NodeJS.ProcessEnv): { file: string | undefined; values: Record<string, string> } {
  for (const name of [`.env.${stage}`, '.env']) {
    const file = path.join(serviceDir, name);
    if (!existsSync(file)) continue;
    return { file, values: expandDotenv(parseDotenv(readFileSync(file, 'utf8')), env) };
  }
  return { file: undefined, values: {} };
}

const LINE = /^\s*(?:export\s+)?([\w.-]+)\s*(?:=|:)\s*('(?:\\'|[^'])*'|"(?:\\"|[^"])*"|`(?:\\`|[^`])*`|[^#\r\n]*)?\s*(?:#.*)?$/gm;

/** dotenv's format: `KEY=value`, `export KEY=value`, quotes (double quotes expand `\n`), `#` comments. */
export function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  const src = text.replace(/\r\n?/g, '\n');
  for (const m of src.matchAll(LINE)) {
    let value = (m[2] ?? '').trim();
    const q = value[0];
    if ((q === '"' || q === "'" || q === '`') && value.endsWith(q) && value.length >= 2) {
      value = value.slice(1, -1);
      if (q === '"') value = value.replace(/\\n/g, '\n').replace(/\\r/g, '\r');
    }
    out[m[1]!] = value;
  }
  return out;
}

const REF = /(\\)?\$(?:\{([A-Za-z_]\w*)(?::-([^}]*))?\}|([A-Za-z_]\w*))/g;

/** dotenv-expand: references to the environment or to other keys of the file; the environment wins. */
function expandDotenv(parsed: Record<string, string>, env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  const seen = new Set<string>();
  const valueOf = (key: string): string | undefined => {
    if (env[key] !== undefined) return env[key];
    if (Object.hasOwn(out, key)) return out[key];
    if (!Object.hasOwn(parsed, key) || seen.has(key)) return undefined; // a cycle expands to nothing
    seen.add(key);
    out[key] = expand(parsed[key]!);
    return out[key];
  };
  const expand = (v: string): string =>
    v.replace(REF, (_m, escaped: string | undefined, braced: string | undefined, fallback: string | undefined, bare: string | undefined) => {
      if (escaped) return _m.slice(1);
      const name = (braced ?? bare)!;
      const got = valueOf(name);
      return got !== undefined && got !== '' ? got : (fallback ?? '');
    });
  for (const key of Object.keys(parsed)) valueOf(key);
  return out;
}
