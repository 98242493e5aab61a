import { SwitchboardClient, SwitchboardError, type CloseResult, type ConnectionPage, type ListedConnection, type PageOptions } from '../client/index.js';
import { adminOf, dataArgument, endpointOf, intOption, parseCommand, UsageError, type Parsed } from './options.js';
import { closeFailures, connectionDetails, connectionTable, nodeTable, count, json, processOutput, sendSummary, type Output } from './output.js';

/** What a management subcommand runs with. */
interface Context {
  client: SwitchboardClient;
  args: string[];
  values: Parsed['values'];
  out: Output;
}

/** One subcommand: its usage line, positional names, extra options and what it does. */
interface Subcommand {
  usage: string;
  args: string[];
  options?: Parameters<typeof parseCommand>[3];
  /** Resolves with the exit code when it is not 0. */
  run(ctx: Context): Promise<void | number>;
}

const LIST_OPTIONS = { limit: { type: 'string' }, all: { type: 'boolean' }, 'next-token': { type: 'string' } } as const;
const CLOSE_OPTIONS = { code: { type: 'string' }, reason: { type: 'string' } } as const;
const EXCLUDE_OPTION = { exclude: { type: 'string' } } as const;
const BULK_CLOSE_OPTIONS = { ...CLOSE_OPTIONS, ...EXCLUDE_OPTION } as const;

/**
 * Prints a listing: one page (`--limit`, `--next-token`; a note on stderr says how to get the
 * next one), or every page with `--all`. `--json` prints `{"items":[…],"nextToken"?}`.
 */
async function printListing(ctx: Context, page: (p: PageOptions) => Promise<ConnectionPage>, all: (p: PageOptions) => AsyncIterable<ListedConnection>): Promise<void> {
  const limit = intOption(ctx.values, 'limit');
  const nextToken = ctx.values['next-token'] as string | undefined;
  let result: ConnectionPage;
  if (ctx.values.all) {
    const items: ListedConnection[] = [];
    for await (const item of all({ limit, nextToken })) items.push(item);
    result = { items };
  } else {
    result = await page({ limit, nextToken });
  }
  if (ctx.values.json) return ctx.out.out(json(result));
  ctx.out.out(connectionTable(result.items));
  if (result.nextToken !== undefined) ctx.out.err(`more connections: add --next-token ${result.nextToken} (or --all)\n`);
}

function closeOptions(values: Parsed['values']): { code?: number; reason?: string } {
  const code = intOption(values, 'code');
  const reason = values.reason as string | undefined;
  return { ...(code !== undefined ? { code } : {}), ...(reason !== undefined ? { reason } : {}) };
}

function describeClose(o: { code?: number; reason?: string }): string {
  if (o.code === undefined && o.reason === undefined) return '1000 "Connection Closed Normally"';
  return `${o.code ?? 1000}${o.reason ? ` "${o.reason}"` : ''}`;
}

const COMMANDS: Record<string, Record<string, Subcommand>> = {
  nodes: {
    ls: {
      usage: 'switchboard nodes ls',
      args: [],
      run: async (ctx) => {
        const nodes = await ctx.client.nodes();
        ctx.out.out(ctx.values.json ? json({ items: nodes }) : nodeTable(nodes));
      },
    },
  },
  connections: {
    ls: {
      usage: 'switchboard connections ls [--principal P] [--group G] [--search TEXT] [--limit N] [--next-token T] [--all]',
      args: [],
      options: { ...LIST_OPTIONS, principal: { type: 'string' }, group: { type: 'string' }, search: { type: 'string' } },
      run: (ctx) => {
        const filter = { principal: ctx.values.principal as string | undefined, group: ctx.values.group as string | undefined, search: ctx.values.search as string | undefined };
        return printListing(ctx, (p) => ctx.client.listConnections({ ...filter, ...p }), (p) => ctx.client.connections({ ...filter, ...p }));
      },
    },
    get: {
      usage: 'switchboard connections get ID',
      args: ['ID'],
      run: async (ctx) => {
        const info = await ctx.client.getConnection(ctx.args[0]!);
        ctx.out.out(ctx.values.json ? json(info) : connectionDetails(info));
      },
    },
    send: {
      usage: 'switchboard connections send ID DATA   (DATA "-" reads standard input)',
      args: ['ID', 'DATA'],
      run: async (ctx) => {
        const [id, text] = ctx.args as [string, string];
        await ctx.client.postToConnection(id, await dataArgument(text));
        ctx.out.out(ctx.values.json ? json({ connectionId: id, sent: true }) : `sent to ${id}\n`);
      },
    },
    close: {
      usage: 'switchboard connections close ID [--code N] [--reason TEXT]',
      args: ['ID'],
      options: CLOSE_OPTIONS,
      run: async (ctx) => {
        const id = ctx.args[0]!;
        const o = closeOptions(ctx.values);
        await ctx.client.deleteConnection(id, o);
        ctx.out.out(ctx.values.json ? json({ connectionId: id, closed: true }) : `closed ${id} with ${describeClose(o)}\n`);
      },
    },
  },
  principals: {
    ls: {
      usage: 'switchboard principals ls USER [--limit N] [--next-token T] [--all]',
      args: ['USER'],
      options: LIST_OPTIONS,
      run: (ctx) => {
        const p = ctx.client.principal(ctx.args[0]!);
        return printListing(ctx, (page) => p.listConnections(page), (page) => p.connections(page));
      },
    },
    send: {
      usage: 'switchboard principals send USER DATA [--exclude ID]',
      args: ['USER', 'DATA'],
      options: EXCLUDE_OPTION,
      run: async (ctx) => {
        const r = await ctx.client.principal(ctx.args[0]!).send(await dataArgument(ctx.args[1]!), { exclude: ctx.values.exclude as string | undefined });
        ctx.out.out(ctx.values.json ? json(r) : sendSummary(r));
      },
    },
    close: {
      usage: 'switchboard principals close USER [--code N] [--reason TEXT] [--exclude ID]',
      args: ['USER'],
      options: BULK_CLOSE_OPTIONS,
      run: async (ctx) => {
        const o = closeOptions(ctx.values);
        const r = await ctx.client.principal(ctx.args[0]!).close({ ...o, exclude: ctx.values.exclude as string | undefined });
        ctx.out.out(ctx.values.json ? json(r) : `closed ${count(r.closed)} of ${ctx.args[0]} with ${describeClose(o)}\n`);
        return unconfirmed(ctx, r);
      },
    },
  },
  groups: {
    ls: {
      usage: 'switchboard groups ls GROUP [--limit N] [--next-token T] [--all]',
      args: ['GROUP'],
      options: LIST_OPTIONS,
      run: (ctx) => {
        const g = ctx.client.group(ctx.args[0]!);
        return printListing(ctx, (page) => g.listConnections(page), (page) => g.connections(page));
      },
    },
    add: {
      usage: 'switchboard groups add GROUP ID',
      args: ['GROUP', 'ID'],
      run: async (ctx) => {
        const [group, id] = ctx.args as [string, string];
        await ctx.client.group(group).add(id);
        ctx.out.out(ctx.values.json ? json({ group, connectionId: id, added: true }) : `added ${id} to ${group}\n`);
      },
    },
    remove: {
      usage: 'switchboard groups remove GROUP ID',
      args: ['GROUP', 'ID'],
      run: async (ctx) => {
        const [group, id] = ctx.args as [string, string];
        await ctx.client.group(group).remove(id);
        ctx.out.out(ctx.values.json ? json({ group, connectionId: id, removed: true }) : `removed ${id} from ${group}\n`);
      },
    },
    send: {
      usage: 'switchboard groups send GROUP DATA [--exclude ID]',
      args: ['GROUP', 'DATA'],
      options: EXCLUDE_OPTION,
      run: async (ctx) => {
        const r = await ctx.client.group(ctx.args[0]!).send(await dataArgument(ctx.args[1]!), { exclude: ctx.values.exclude as string | undefined });
        ctx.out.out(ctx.values.json ? json(r) : sendSummary(r));
      },
    },
    close: {
      usage: 'switchboard groups close GROUP [--code N] [--reason TEXT] [--exclude ID]',
      args: ['GROUP'],
      options: BULK_CLOSE_OPTIONS,
      run: async (ctx) => {
        const o = closeOptions(ctx.values);
        const r = await ctx.client.group(ctx.args[0]!).close({ ...o, exclude: ctx.values.exclude as string | undefined });
        ctx.out.out(ctx.values.json ? json(r) : `closed ${count(r.closed)} of group ${ctx.args[0]} with ${describeClose(o)}\n`);
        return unconfirmed(ctx, r);
      },
    },
  },
  broadcast: {
    '': {
      usage: 'switchboard broadcast DATA [--exclude ID]',
      args: ['DATA'],
      options: EXCLUDE_OPTION,
      run: async (ctx) => {
        const r = await ctx.client.broadcast(await dataArgument(ctx.args[0]!), { exclude: ctx.values.exclude as string | undefined });
        ctx.out.out(ctx.values.json ? json(r) : sendSummary(r));
      },
    },
  },
};

/** The management commands, for the top-level usage text. */
export const MANAGEMENT_USAGE = `management commands (signed with the AWS credential chain: AWS_ACCESS_KEY_ID…, AWS_PROFILE; or, with --admin, the admin token):
  connections ls [--principal P] [--group G] [--search TEXT] [--limit N] [--all]
                                                                  list open connections
  connections get ID                                              GetConnection
  connections send ID DATA                                        PostToConnection (DATA "-": standard input)
  connections close ID [--code N] [--reason TEXT]                 DeleteConnection, with a close code
  principals ls USER [--limit N] [--all]                          a user's connections
  principals send USER DATA [--exclude ID]                        send to all of a user's connections
  principals close USER [--code N] [--reason TEXT] [--exclude ID] close all of a user's connections
  groups ls GROUP [--limit N] [--all]                             a group's members
  groups add GROUP ID                                             join a connection to a group
  groups remove GROUP ID                                          remove a connection from a group
  groups send GROUP DATA [--exclude ID]                           send to a group's members
  groups close GROUP [--code N] [--reason TEXT] [--exclude ID]    close a group's members
  broadcast DATA [--exclude ID]                                   send to every connection
  nodes ls                                                        the gateway's nodes and their connection counts
options: --endpoint URL   default $SWITCHBOARD_ENDPOINT, then $AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI
         --region R       default $AWS_REGION, then us-east-1
         --admin URL      call the admin listener (http://HOST:PORT) with a token instead of signing with SigV4;
                          default $SWITCHBOARD_ADMIN_URL (unless --endpoint is given)
         --token T        the admin token; default $SWITCHBOARD_ADMIN_TOKEN (prefer it: arguments show in ps)
         --json           JSON output
close codes: 1000 or 4000-4999; reasons up to 123 bytes of UTF-8
an argument that starts with "-" (data, a principal) goes after "--": switchboard principals send alice -- -1
`;

/** True when `command` is one of the management commands. */
export function isManagementCommand(command: string | undefined): boolean {
  return command !== undefined && Object.hasOwn(COMMANDS, command);
}

/** Dependencies, replaceable in tests. */
export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  out?: Output;
}

/**
 * Runs `switchboard <command> [sub] …` for a management command. Answers the exit code:
 * 0 done, 1 the call failed (the gateway refused it or could not be reached) or a bulk close has
 * members whose node did not confirm it (`failed`), 2 usage error.
 */
export async function runManagementCommand(command: string, rest: string[], opts: RunOptions = {}): Promise<number> {
  const env = opts.env ?? process.env;
  const out = opts.out ?? processOutput;
  const subs = COMMANDS[command]!;
  const usages = Object.values(subs).map((s) => `  ${s.usage}`).join('\n');
  let sub: Subcommand | undefined;
  let args: string[];
  if (Object.hasOwn(subs, '')) {
    sub = subs['']!;
    args = rest;
  } else {
    const [name, ...tail] = rest;
    if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
      (name === undefined ? out.err : out.out)(`usage:\n${usages}\n`);
      return name === undefined ? 2 : 0;
    }
    sub = Object.hasOwn(subs, name) ? subs[name] : undefined;
    if (!sub) {
      out.err(`switchboard: unknown subcommand "${command} ${name}"\nusage:\n${usages}\n`);
      return 2;
    }
    args = tail;
  }
  try {
    const parsed = parseCommand(sub.usage, args, sub.args, sub.options);
    if (parsed.values.help) {
      out.out(`usage: ${sub.usage}\n`);
      return 0;
    }
    let client: SwitchboardClient;
    try {
      const admin = adminOf(parsed.values, env);
      client = new SwitchboardClient(admin ? { endpoint: admin.url, token: admin.token } : { endpoint: endpointOf(parsed.values, env), region: (parsed.values.region as string | undefined) ?? env.AWS_REGION ?? 'us-east-1' });
    } catch (err) {
      if (err instanceof TypeError) throw new UsageError(err.message);
      throw err;
    }
    return (await sub.run({ client, args: parsed.positionals, values: parsed.values, out })) ?? 0;
  } catch (err) {
    if (err instanceof UsageError) {
      out.err(`switchboard: ${err.message}\n`);
      return 2;
    }
    out.err(`switchboard: ${describeError(err)}\n`);
    return 1;
  }
}

/** A bulk close some of whose members were not confirmed: named on stderr, exit code 1 (0 when all were). */
function unconfirmed(ctx: Context, r: CloseResult): number {
  const text = closeFailures(r);
  if (text === '') return 0;
  ctx.out.err(text);
  return 1;
}

/** One line saying why a call failed. */
function describeError(err: unknown): string {
  if (err instanceof SwitchboardError) return `${err.name} (${err.status}): ${err.message}`;
  const e = err as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.code ?? e.cause?.code;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ECONNRESET' || code === 'UND_ERR_CONNECT_TIMEOUT') return `cannot reach the gateway: ${e.cause?.message ?? e.message}`;
  if (e.name === 'CredentialsProviderError') return `no AWS credentials: ${e.message} (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)`;
  return e.message ?? String(err);
}
