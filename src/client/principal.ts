import { path, type SignedHttp } from './http.js';
import { allPages, fetchPage } from './pages.js';
import type { BulkCloseOptions, CloseResult, ConnectionPage, Data, ListedConnection, PageOptions, SendOptions, SendResult } from './types.js';

/**
 * One principal (user): every connection whose authorizer (or `$connect` answer) gave it this
 * principalId. Got from `client.principal(id)`; holds no state, so make one whenever needed.
 */
export class Principal {
  /** @internal Use `client.principal(id)`. */
  constructor(
    private readonly http: SignedHttp,
    /** The principalId. */
    readonly id: string,
  ) {
    if (!id) throw new TypeError('A principal id must not be empty');
  }

  /** One page of this principal's connections (`GET @principals/{id}/connections`). */
  listConnections(page: PageOptions = {}): Promise<ConnectionPage> {
    return fetchPage(this.http, path`@principals/${this.id}/connections`, { limit: page.limit, nextToken: page.nextToken });
  }

  /** All of this principal's connections, over every page: `for await (const c of alice.connections())`. */
  connections(page: PageOptions = {}): AsyncGenerator<ListedConnection, void, undefined> {
    return allPages((p) => this.listConnections(p), page);
  }

  /** Sends `data` to each of this principal's connections except `exclude` (`POST @principals/{id}`). */
  send(data: Data, opts: SendOptions = {}): Promise<SendResult> {
    return this.http.json<SendResult>('POST', path`@principals/${this.id}`, { exclude: opts.exclude }, data);
  }

  /**
   * Closes every connection of this principal with `code`/`reason` (`DELETE @principals/{id}`),
   * e.g. `{ code: 4001, reason: 'password changed' }`. Resolves with how many were closed
   * (0 when the principal has none open). `exclude` spares one connection (e.g. the session
   * that changed the password). An invalid code or reason closes nothing (400).
   */
  close(opts: BulkCloseOptions = {}): Promise<CloseResult> {
    return this.http.json<CloseResult>('DELETE', path`@principals/${this.id}`, { code: opts.code, reason: opts.reason, exclude: opts.exclude });
  }
}
