import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, parseWithEnv } from '../load.js';
import { importTemplate, type ImportedTemplate } from './import.js';

export { importTemplate, mergeGlobals, mergeOverrides, type ImportedTemplate, type TemplateImportOptions } from './import.js';
export { TemplateError } from './intrinsics.js';
export { parseTemplate } from './parse.js';

/** `--parameter K=V` arguments as a record; a malformed one is a ConfigError. */
export function parseParameterArgs(args: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const a of args ?? []) {
    const eq = a.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--parameter expects NAME=VALUE, got "${a}"`);
    out[a.slice(0, eq)] = a.slice(eq + 1);
  }
  return out;
}

/**
 * What `switchboard start --template FILE [--parameter K=V]… [--config FILE]` runs: the template's
 * configuration with the config file's keys written over it (that file is a Switchboard config,
 * read with its usual `${NAME}` expansion; the template never is).
 */
export async function loadTemplateForCli(opts: { template: string; parameters?: string[]; config?: string; api?: string; env?: NodeJS.ProcessEnv }): Promise<ImportedTemplate> {
  let overrides: Record<string, unknown> | undefined;
  if (opts.config !== undefined) {
    const abs = path.resolve(opts.config);
    let text: string;
    try {
      text = await readFile(abs, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read configuration file ${abs}: ${(err as Error).message}`);
    }
    const raw = parseWithEnv(text, opts.env ?? process.env, abs);
    if (raw !== null && raw !== undefined && (typeof raw !== 'object' || Array.isArray(raw))) throw new ConfigError(`${abs}: expected a mapping of configuration keys at the top level`);
    overrides = (raw ?? {}) as Record<string, unknown>;
  }
  return importTemplate({ template: opts.template, parameters: parseParameterArgs(opts.parameters), api: opts.api, overrides });
}
