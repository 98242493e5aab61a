import type { Dispatcher } from 'undici';
import { Group } from './group.js';
import { path, SignedHttp } from './http.js';
import { allPages, fetchPage } from './pages.js';
import { Principal } from './principal.js';
import type { CloseOptions, ConnectionDetails, ConnectionPage, CredentialProvider, Credentials, Data, ListedConnection, ListOptions, NodeInfo, SendOptions, SendResult } from './types.js';

/** How to reach and sign for a Switchboard gateway. */
export interface SwitchboardClientOptions {
  /**
   * The management endpoint, as given to the AWS SDK: `http://127.0.0.1:8080/dev` (a trailing
   * slash is fine); with `token`, the admin listener instead: `http://127.0.0.1:9090`.
   */
  endpoint: string;
  /**
   * The admin listener's token (`admin.token`): calls go to `endpoint`'s admin API with
   * `Authorization: Bearer` instead of being SigV4-signed. Same operations, same answers and errors.
   */
  token?: string | undefined;
  /** Signing region; default `AWS_REGION`, then `us-east-1`. */
  region?: string | undefined;
  /**
   * Credentials or a provider of them. Default: the AWS SDK's standard chain
   * (`AWS_ACCESS_KEY_ID`…, shared config and credentials files, SSO, container and instance
   * roles), so the credentials that sign AWS SDK calls sign these too.
   */
  credentials?: Credentials | CredentialProvider | undefined;
  /** Timeout for the answer's headers and between body chunks, in ms (default 30,000). */
  timeoutMs?: number | undefined;
  /** An undici dispatcher (agent, proxy, mock) instead of the global one. */
  dispatcher?: Dispatcher | undefined;
}

/** The standard AWS credential chain, loaded on first use only (clients given credentials never load it). */
function defaultCredentials(): CredentialProvider {
  let provider: Promise<CredentialProvider> | undefined;
  return async () => {
    provider ??= import('@aws-sdk/credential-provider-node').then((m) => m.defaultProvider() as CredentialProvider);
    return (await provider)();
  };
}

/**
 * A typed client for a Switchboard gateway's management API: AWS's three `@connections`
 * calls and Switchboard's extensions (close code and reason, principals, groups, broadcast,
 * listing). Every call is SigV4-signed for `execute-api`, as the AWS SDK signs; a refused call
 * throws a {@link SwitchboardError} named after the `x-amzn-ErrorType` (`GoneException`…).
 *
 * ```ts
 * const sb = new SwitchboardClient({ endpoint: 'http://127.0.0.1:8080/dev' });
 * await sb.principal('alice').close({ code: 4001, reason: 'password changed' });
 * ```
 */
export class SwitchboardClient {
  private readonly http: SignedHttp;
  /** The endpoint given (as passed, for messages). */
  readonly endpoint: string;
  /** The signing region. */
  readonly region: string;

  constructor(opts: SwitchboardClientOptions) {
    this.endpoint = opts.endpoint;
    this.region = opts.region ?? process.env.AWS_REGION ?? 'us-east-1';
    this.http = new SignedHttp({
      endpoint: opts.endpoint,
      region: this.region,
      credentials: opts.credentials ?? defaultCredentials(),
      token: opts.token,
      dispatcher: opts.dispatcher,
      timeoutMs: opts.timeoutMs ?? 30_000,
    });
  }

  /** PostToConnection: sends `data` to one connection. GoneException (410) when it is not open, LimitExceededException (429) when its send buffer is full. */
  async postToConnection(connectionId: string, data: Data): Promise<void> {
    await this.http.send('POST', path`@connections/${nonEmpty(connectionId)}`, {}, data);
  }

  /** GetConnection: when the connection opened, when it was last active, and who it is. GoneException (410) when it is not open. */
  async getConnection(connectionId: string): Promise<ConnectionDetails> {
    const w = await this.http.json<{ connectedAt: string; lastActiveAt: string; identity: { sourceIp: string; userAgent?: string | null } }>('GET', path`@connections/${nonEmpty(connectionId)}`);
    return { connectionId, connectedAt: new Date(w.connectedAt), lastActiveAt: new Date(w.lastActiveAt), identity: { sourceIp: w.identity.sourceIp, userAgent: w.identity.userAgent ?? null } };
  }

  /**
   * DeleteConnection: closes one connection. Without options the client sees AWS's close
   * (1000 "Connection Closed Normally"); `code` (1000 or 4000-4999) and `reason` (at most
   * 123 bytes of UTF-8) are Switchboard's extension. GoneException (410) when it is not open;
   * BadRequestException (400), and nothing closed, for an invalid code or reason.
   */
  async deleteConnection(connectionId: string, opts: CloseOptions = {}): Promise<void> {
    await this.http.send('DELETE', path`@connections/${nonEmpty(connectionId)}`, { code: opts.code, reason: opts.reason });
  }

  /** One page of open connections, optionally only a principal's and/or a group's. Pass the answer's `nextToken` back for the next page. */
  listConnections(opts: ListOptions = {}): Promise<ConnectionPage> {
    return fetchPage(this.http, path`@connections`, { principal: opts.principal, group: opts.group, search: opts.search, limit: opts.limit, nextToken: opts.nextToken });
  }

  /** Every open connection matching the filter, over all pages (`limit` is the page size): `for await (const c of sb.connections())`. */
  connections(filter: ListOptions = {}): AsyncGenerator<ListedConnection, void, undefined> {
    return allPages((page) => this.listConnections({ ...filter, ...page }), filter);
  }

  /** A principal (user): its connections, send to all of them, close all of them. */
  principal(principalId: string): Principal {
    return new Principal(this.http, principalId);
  }

  /** A group: add and remove members, list them, send to them, close them. */
  group(name: string): Group {
    return new Group(this.http, name);
  }

  /** Sends `data` to every open connection of the stage except `exclude`. */
  broadcast(data: Data, opts: SendOptions = {}): Promise<SendResult> {
    return this.http.json<SendResult>('POST', path`@broadcast`, { exclude: opts.exclude }, data);
  }

  /** The gateway's nodes and how many connections each holds (one on a single gateway). */
  async nodes(): Promise<NodeInfo[]> {
    return (await this.http.json<{ items: NodeInfo[] }>('GET', path`@nodes`)).items;
  }
}

function nonEmpty(connectionId: string): string {
  if (!connectionId) throw new TypeError('A connection id must not be empty');
  return connectionId;
}
