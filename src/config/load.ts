import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseDocument, Scalar, visit } from 'yaml';
import type { ZodError } from 'zod';
import { ConfigSchema, type Config, type ConfigInput } from './schema.js';

/** A configuration problem; `message` names every offending key and what was expected. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** A validated configuration plus the folder its relative paths (handlers) resolve against. */
export interface LoadedConfig {
  config: Config;
  baseDir: string;
}

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
/** A whole-scalar reference whose value reads as one of these becomes a number or boolean. */
const NUMBER_OR_BOOLEAN = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?|true|false)$/;

/**
 * Parses YAML/JSON text and substitutes `${NAME}` and `${NAME:-default}` with environment values,
 * so one file serves `PORT=9000 npm start` and CI alike. An unset (or empty) variable without a
 * default is an error naming the file and the variable.
 *
 * Substitution happens in the parsed tree, never in the text: a value is always inserted into
 * the one scalar it was written in, verbatim (newlines, `: `, `#`, quotes and brackets included),
 * so it can never add keys or structure. Keys are never substituted (a `${…}` in a key stays
 * literal), nor are comments. The value is a string, except where an unquoted scalar is exactly
 * one reference (`port: ${PORT:-8080}`) and the value is a decimal number or `true`/`false`:
 * then it is that number or boolean, as if written there. Quote it (`"${X}"`) to keep a string.
 */
export function parseWithEnv(text: string, env: NodeJS.ProcessEnv, file: string): unknown {
  // References become inert placeholders for the parser, which then sees the file's own structure only.
  let tag = `SBENV${randomBytes(6).toString('hex')}`;
  while (text.includes(tag)) tag = `SBENV${randomBytes(6).toString('hex')}`;
  const refs: Array<{ text: string; name: string; fallback: string | undefined }> = [];
  const masked = text.replace(ENV_REF, (m, name: string, fallback: string | undefined) => {
    refs.push({ text: m, name, fallback });
    return `${tag}_${refs.length - 1}_`;
  });
  const placeholder = new RegExp(`${tag}_(\\d+)_`, 'g');
  const whole = new RegExp(`^${tag}_(\\d+)_$`);
  const unmask = (s: string) => s.replace(placeholder, (_m, i: string) => refs[Number(i)]!.text);
  const resolve = (i: string): string => {
    const ref = refs[Number(i)]!;
    const v = env[ref.name];
    if (v !== undefined && v !== '') return v;
    if (ref.fallback !== undefined) return ref.fallback;
    throw new ConfigError(`${file}: environment variable ${ref.name} is not set (write \${${ref.name}:-default} to give a default)`);
  };

  const doc = parseDocument(masked);
  if (doc.errors.length > 0) throw new ConfigError(`${file} is not valid YAML/JSON: ${unmask(doc.errors[0]!.message)}`);
  if (refs.length > 0) {
    visit(doc, {
      Scalar(key, node) {
        if (typeof node.value !== 'string' || !node.value.includes(tag)) return;
        if (key === 'key') {
          node.value = unmask(node.value);
          return;
        }
        const one = whole.exec(node.value);
        if (one && node.type === Scalar.PLAIN) {
          const v = resolve(one[1]!);
          node.value = NUMBER_OR_BOOLEAN.test(v) ? (v === 'true' ? true : v === 'false' ? false : Number(v)) : v;
          return;
        }
        node.value = node.value.replace(placeholder, (_m, i: string) => resolve(i));
      },
    });
  }
  return doc.toJS();
}

/** Formats zod issues as one line per key: `routes.echo.handler: expected "path/to/module#export"`. */
export function formatIssues(error: ZodError, file: string): string {
  const lines = error.issues.map((i) => {
    const key = i.path.length ? i.path.map(String).join('.') : '(top level)';
    return `  ${key}: ${i.message}`;
  });
  return `invalid configuration in ${file}:\n${lines.join('\n')}`;
}

/** Validates an in-memory configuration (library use); throws ConfigError naming each bad key. */
export function validateConfig(input: ConfigInput | unknown, source = 'configuration'): Config {
  const result = ConfigSchema.safeParse(input ?? {});
  if (!result.success) throw new ConfigError(formatIssues(result.error, source));
  return result.data;
}

/** Reads, expands and validates a YAML or JSON configuration file. */
export async function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadedConfig> {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read configuration file ${abs}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parseWithEnv(text, env, abs);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`${abs} is not valid YAML/JSON: ${(err as Error).message}`);
  }
  if (raw !== null && raw !== undefined && (typeof raw !== 'object' || Array.isArray(raw))) {
    throw new ConfigError(`${abs}: expected a mapping of configuration keys at the top level`);
  }
  return { config: validateConfig(raw, abs), baseDir: path.dirname(abs) };
}
