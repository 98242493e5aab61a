import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A command line that cannot be run as written: the CLI prints it with the usage and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Options every management subcommand takes. */
export const COMMON_OPTIONS = {
  endpoint: { type: 'string' },
  region: { type: 'string' },
  admin: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** What a subcommand's command line parsed to. */
export interface Parsed {
  positionals: string[];
  values: Record<string, string | boolean | undefined>;
}

/**
 * Parses one subcommand's arguments: the common options plus `extra`, exactly `names.length`
 * positionals (named in messages). Unknown options and missing or extra arguments are usage errors.
 */
export function parseCommand(usage: string, args: string[], names: string[], extra: OptionSpec = {}): Parsed {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { ...COMMON_OPTIONS, ...extra }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message.replace(/\. To specify a positional argument.*$/s, '')}\nusage: ${usage}`);
  }
  const values = parsed.values as Parsed['values'];
  if (values.help) return { positionals: parsed.positionals, values };
  if (parsed.positionals.length < names.length) throw new UsageError(`missing ${names.slice(parsed.positionals.length).join(' ')}\nusage: ${usage}`);
  if (parsed.positionals.length > names.length) throw new UsageError(`unexpected argument "${parsed.positionals[names.length]}"\nusage: ${usage}`);
  return { positionals: parsed.positionals, values };
}

/** The management endpoint: `--endpoint`, else SWITCHBOARD_ENDPOINT, else AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI. */
export function endpointOf(values: Parsed['values'], env: NodeJS.ProcessEnv): string {
  const endpoint = (values.endpoint as string | undefined) || env.SWITCHBOARD_ENDPOINT || env.AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI;
  if (!endpoint) throw new UsageError('no endpoint: pass --endpoint http://HOST:PORT/STAGE or set SWITCHBOARD_ENDPOINT');
  return endpoint;
}

/**
 * The admin listener to call instead of the SigV4 endpoint: `--admin`, else SWITCHBOARD_ADMIN_URL
 * (unless `--endpoint` is given), with `--token` or SWITCHBOARD_ADMIN_TOKEN; undefined for SigV4.
 */
export function adminOf(values: Parsed['values'], env: NodeJS.ProcessEnv): { url: string; token: string } | undefined {
  const url = (values.admin as string | undefined) || (values.endpoint ? undefined : env.SWITCHBOARD_ADMIN_URL);
  if (!url) {
    if (values.token !== undefined) throw new UsageError('--token goes with --admin URL (or SWITCHBOARD_ADMIN_URL)');
    return undefined;
  }
  if (values.endpoint && values.admin) throw new UsageError('--admin and --endpoint exclude each other: the admin API or the SigV4 endpoint');
  const token = (values.token as string | undefined) || env.SWITCHBOARD_ADMIN_TOKEN;
  if (!token) throw new UsageError('no admin token: pass --token T or set SWITCHBOARD_ADMIN_TOKEN');
  return { url, token };
}

/** An integer option (`--limit`, `--code`), or undefined when absent. */
export function intOption(values: Parsed['values'], name: string): number | undefined {
  const text = values[name];
  if (text === undefined) return undefined;
  if (typeof text !== 'string' || !/^\d{1,9}$/.test(text)) throw new UsageError(`--${name} expects a whole number, got "${String(text)}"`);
  return Number(text);
}

/** The DATA argument: as given, or standard input's bytes when it is `-`. */
export async function dataArgument(text: string, stdin: NodeJS.ReadableStream = process.stdin): Promise<string | Uint8Array> {
  if (text !== '-') return text;
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}
