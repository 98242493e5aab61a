import type { LoadedServerless, ServerlessOptions } from '../config/serverless/index.js';
import type { Gateway } from '../gateway.js';

/** `start` options for a Serverless Framework project. */
export const SERVERLESS_OPTIONS = {
  serverless: { type: 'string' },
  stage: { type: 'string' },
  region: { type: 'string' },
  param: { type: 'string', multiple: true },
  set: { type: 'string', multiple: true },
  offline: { type: 'boolean' },
  'no-offline': { type: 'boolean' },
} as const;

/** `--serverless` takes an optional PATH: alone or before another option it means the current folder. */
export function serverlessArgs(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    out.push(args[i]!);
    if (args[i] === '--serverless' && (i + 1 === args.length || args[i + 1]!.startsWith('-'))) out.push('.');
  }
  return out;
}

function pairs(list: string[] | undefined, flag: string): Record<string, string> | string {
  const out: Record<string, string> = {};
  for (const item of list ?? []) {
    const eq = item.indexOf('=');
    if (eq <= 0) return `${flag} expects KEY=VALUE, got "${item}"`;
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

/** The import's options from the command line, or a usage message. */
export function serverlessOptions(values: { serverless?: string; stage?: string; region?: string; param?: string[]; set?: string[]; offline?: boolean; 'no-offline'?: boolean }): ServerlessOptions | string {
  const params = pairs(values.param, '--param');
  if (typeof params === 'string') return params;
  const set = pairs(values.set, '--set');
  if (typeof set === 'string') return set;
  if (values.offline && values['no-offline']) return 'give --offline or --no-offline, not both';
  return {
    path: values.serverless,
    stage: values.stage,
    region: values.region,
    params,
    set,
    offline: values.offline ? true : values['no-offline'] ? false : undefined,
  };
}

/** What the startup output adds for an imported project: routes, serverless-offline URLs, notes. */
export function serverlessSummary(s: LoadedServerless, gw: Gateway): string {
  const lines = [`  serverless:     ${s.file} (API ${s.apiName}, stage ${gw.stage}${s.offline ? ', serverless-offline mode' : ''})`];
  for (const [route, fn] of Object.entries(s.routes)) lines.push(`    ${route.padEnd(20)} -> function ${fn}`);
  if (s.offline) {
    const base = gw.url.replace(/\/[^/]*$/, '');
    lines.push(`  serverless-offline URLs: ${base} and ${base.replace(/^ws/, 'http')}/@connections/{connectionId}`);
  }
  for (const n of s.notes) lines.push(`  note: ${n}`);
  return lines.join('\n') + '\n';
}
