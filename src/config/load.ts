import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
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

/**
 * Replaces `${NAME}` and `${NAME:-default}` with environment values, so one file serves
 * `PORT=9000 npm start` and CI alike. An unset variable without a default is an error.
 */
export function expandEnv(text: string, env: NodeJS.ProcessEnv, file: string): string {
  return text.replace(ENV_REF, (_m, name: string, fallback: string | undefined) => {
    const v = env[name];
    if (v !== undefined && v !== '') return v;
    if (fallback !== undefined) return fallback;
    throw new ConfigError(`${file}: environment variable ${name} is not set (write \${${name}:-default} to give a default)`);
  });
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
    raw = parseYaml(expandEnv(text, env, abs));
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`${abs} is not valid YAML/JSON: ${(err as Error).message}`);
  }
  if (raw !== null && raw !== undefined && (typeof raw !== 'object' || Array.isArray(raw))) {
    throw new ConfigError(`${abs}: expected a mapping of configuration keys at the top level`);
  }
  return { config: validateConfig(raw, abs), baseDir: path.dirname(abs) };
}
