import { path, type SignedHttp } from './http.js';
import { allPages, fetchPage } from './pages.js';
import type { BulkCloseOptions, CloseResult, ConnectionPage, Data, ListedConnection, PageOptions, SendOptions, SendResult } from './types.js';

/**
 * One group: a named set of connections (1-128 characters of `A-Z a-z 0-9 _ . : -`) that
 * connections join through the API or through a handler's `switchboard.join` answer. A group
 * exists while it has members. Got from `client.group(name)`; holds no state.
 */
export class Group {
  /** @internal Use `client.group(name)`. */
  constructor(
    private readonly http: SignedHttp,
    /** The group's name. */
    readonly name: string,
  ) {
    if (!name) throw new TypeError('A group name must not be empty');
  }

  /** Adds a connection (`PUT @groups/{name}/connections/{id}`); GoneException (410) when it is not open. Adding a member again is a no-op. */
  async add(connectionId: string): Promise<void> {
    await this.http.send('PUT', path`@groups/${this.name}/connections/${nonEmpty(connectionId)}`);
  }

  /** Removes a connection (`DELETE @groups/{name}/connections/{id}`); a no-op when it is not a member. */
  async remove(connectionId: string): Promise<void> {
    await this.http.send('DELETE', path`@groups/${this.name}/connections/${nonEmpty(connectionId)}`);
  }

  /** One page of the members (`GET @groups/{name}/connections`). */
  listConnections(page: PageOptions = {}): Promise<ConnectionPage> {
    return fetchPage(this.http, path`@groups/${this.name}/connections`, { limit: page.limit, nextToken: page.nextToken });
  }

  /** All members, over every page: `for await (const c of room.connections())`. */
  connections(page: PageOptions = {}): AsyncGenerator<ListedConnection, void, undefined> {
    return allPages((p) => this.listConnections(p), page);
  }

  /** Sends `data` to every member except `exclude` (`POST @groups/{name}`). */
  send(data: Data, opts: SendOptions = {}): Promise<SendResult> {
    return this.http.json<SendResult>('POST', path`@groups/${this.name}`, { exclude: opts.exclude }, data);
  }

  /** Closes every member except `exclude` with `code`/`reason` (`DELETE @groups/{name}`); resolves with how many were closed. */
  close(opts: BulkCloseOptions = {}): Promise<CloseResult> {
    return this.http.json<CloseResult>('DELETE', path`@groups/${this.name}`, { code: opts.code, reason: opts.reason, exclude: opts.exclude });
  }
}

function nonEmpty(connectionId: string): string {
  if (!connectionId) throw new TypeError('A connection id must not be empty');
  return connectionId;
}
