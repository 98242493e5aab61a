/** Data sent to connections: a string goes out as a text frame; bytes go out as text when they are valid UTF-8, else as a binary frame (as PostToConnection does). */
export type Data = string | Uint8Array;

/** AWS credentials, as the AWS SDK takes them. */
export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
  /** When temporary credentials stop being valid. */
  expiration?: Date | undefined;
}

/** A function that resolves credentials (e.g. `fromIni()`, `defaultProvider()` from the AWS SDK). */
export type CredentialProvider = () => Promise<Credentials>;

/** The client's identity as the gateway saw it at the handshake. */
export interface Identity {
  sourceIp: string;
  /** The `User-Agent` header, or null when the client sent none. */
  userAgent: string | null;
}

/** GetConnection's answer (AWS's fields), with the id it was asked about. */
export interface ConnectionDetails {
  connectionId: string;
  connectedAt: Date;
  /** Last message in either direction. */
  lastActiveAt: Date;
  identity: Identity;
}

/** One connection of a listing: GetConnection's fields, its principal and its groups. */
export interface ListedConnection extends ConnectionDetails {
  /** The authorizer's principalId, or the one a `$connect` answer set; null when none. */
  principalId: string | null;
  groups: string[];
  /** The node holding it (`local` on a single gateway). */
  nodeId: string;
}

/** One gateway node (`GET @nodes`): one on a single gateway, every live node of a cluster. */
export interface NodeInfo {
  nodeId: string;
  /** Open connections it holds. */
  connections: number;
  /** `suspected`: its lease ran out and it is not yet judged dead (calls for its connections answer 503). */
  state: 'alive' | 'suspected';
  /** The node that answered. */
  self: boolean;
  host?: string;
  pid?: number;
  /** Epoch milliseconds. */
  startedAt?: number;
}

/** One page of a listing. */
export interface ConnectionPage {
  items: ListedConnection[];
  /** Present when more may follow: pass it back as `nextToken` for the next page. */
  nextToken?: string;
}

/** Paging of a listing. */
export interface PageOptions {
  /** Page size, 1 to 1000 (default 100). */
  limit?: number | undefined;
  /** The `nextToken` of the previous page. */
  nextToken?: string | undefined;
}

/** Which connections `listConnections` returns (both filters: the connections matching both). */
export interface ListOptions extends PageOptions {
  /** Only this principal's connections. */
  principal?: string | undefined;
  /** Only this group's members. */
  group?: string | undefined;
  /** Only connections whose id, principal, a group, source IP or user agent contains this (case-insensitive). */
  search?: string | undefined;
}

/** How a close is sent to the client: code 1000 or 4000-4999, reason at most 123 bytes of UTF-8. Without either: AWS's 1000 "Connection Closed Normally". */
export interface CloseOptions {
  code?: number | undefined;
  reason?: string | undefined;
}

/** A close of many connections (a principal's, a group's): `exclude` spares one (typically the caller's own session). */
export interface BulkCloseOptions extends CloseOptions {
  exclude?: string | undefined;
}

/** Options of a fan-out send. */
export interface SendOptions {
  /** A connection not to send to (typically the sender). */
  exclude?: string | undefined;
}

/** Why one recipient of a fan-out was not sent to: `gone` (closed meanwhile), `full` (its send buffer is full) or `unknown` (cluster mode: its node did not confirm in time). */
export interface FailedSend {
  connectionId: string;
  reason: 'full' | 'gone' | 'unknown';
}

/** How a fan-out went: every recipient was either sent to, or is named in `failed`. */
export interface SendResult {
  sent: number;
  failed: FailedSend[];
}

/** How many connections a bulk close closed; `failed` (present only when non-empty, cluster mode) names members whose node did not confirm the close in time: repeating it is safe. */
export interface CloseResult {
  closed: number;
  failed?: FailedSend[];
}
