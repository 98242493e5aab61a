import type { WebSocket } from 'ws';
import type { Counters } from '../observability/counters.js';

/** Who connected, as AWS reports it in `requestContext.identity` and GetConnection. */
export interface Identity {
  sourceIp: string;
  /** Absent when the client sent no User-Agent (as on AWS). */
  userAgent?: string;
  /** With AWS_IAM on $connect: the access key that signed the handshake (and caller/user, as AWS fills them). */
  accessKey?: string;
  caller?: string;
  user?: string;
}

// Shared send options: no options object allocated per frame.
const TEXT = Object.freeze({ binary: false });
const BINARY = Object.freeze({ binary: true });

/** What a send to a connection came to. Never a silent drop: `full` and `gone` reach the caller. */
export type SendOutcome = 'ok' | 'gone' | 'full';

/**
 * The bytes waiting in every send buffer of this node together, held to
 * `limits.sendBufferTotalBytes`. A running total, so no send sums over all connections: each
 * connection remembers the `bufferedAmount` it last reported and adds only the difference, on
 * every send (before and after writing), in the lifecycle's periodic sweep (which walks every
 * connection anyway and also resets the total to the exact sum), and when it closes. Bytes that
 * drain between two samples are still counted until the next one, so the total errs high and
 * refuses early (by at most one sweep period) rather than letting memory grow.
 */
export class SendBudget {
  /** Bytes last seen waiting, all connections together. */
  total = 0;

  constructor(
    /** `limits.sendBufferTotalBytes`. */
    readonly limit: number,
    private readonly counters?: Counters,
  ) {}

  /** Counts a refused send under the config key that refused it. */
  refused(key: 'limits.sendBufferBytes' | 'limits.sendBufferTotalBytes'): void {
    this.counters?.inc('rejected', key);
  }
}

/** No node-wide budget (a connection made outside a lifecycle). */
const UNLIMITED = new SendBudget(Number.MAX_SAFE_INTEGER);

/** The close a server-side cause asked for, remembered so $disconnect reports it, not the client's echo. */
export interface CloseCause {
  code: number;
  reason: string;
}

/**
 * One client session. Holds the socket and everything an event or a management call needs
 * about it. Life cycle: `connecting` ($connect running, sends answer 410) → `open` →
 * `closing` (a close was started) → `closed` ($disconnect has been dispatched, exactly once).
 */
export class Connection {
  private _state: 'connecting' | 'open' | 'closing' | 'closed' = 'connecting';
  socket: WebSocket | null = null;
  lastActiveAt: number;
  /** The authorizer's principal (or one set by a $connect response); indexed for user-level operations. */
  principalId: string | undefined;
  /** `requestContext.authorizer` for every event of this connection, when an authorizer ran. */
  authorizer: Record<string, unknown> | undefined;
  /** Set when the gateway starts a close, so $disconnect reports the gateway's code and reason. */
  closeCause: CloseCause | undefined;
  /** Message calls of this connection awaiting their integration (bounded by `limits.inflightPerConnection`). */
  inflight = 0;
  /** This connection's share of the budget's total: its `bufferedAmount` when last sampled. */
  private accounted = 0;
  /** Since when (ms) its buffer has been full (over its own cap, or refused for the node's budget); 0 when it is not. */
  fullSince = 0;
  /** Traffic of this connection (data frames and payload bytes), for metrics and its access-log line. */
  messagesIn = 0;
  messagesOut = 0;
  bytesIn = 0;
  bytesOut = 0;
  /** Messages per route key (config-defined, so bounded), kept only when access logs are on. */
  routeCounts: Map<string, number> | undefined;
  /** The groups it belongs to; created on the first join (most connections never join one). */
  memberOf: Set<string> | undefined;
  /** Its record is in the registry (added before the 101, removed at the first step out of `open`). */
  registered = false;
  /** Closed because its node was reaped elsewhere: a survivor already ran its $disconnect. */
  noDisconnect = false;
  /** Called once when it leaves `open` through close() or terminate() (the hub takes it out of the registry). */
  onClosing: ((conn: Connection) => void) | undefined;

  constructor(
    readonly id: string,
    readonly stage: string,
    readonly connectedAt: number,
    readonly identity: Identity,
    /** `requestContext.domainName` for this connection's events. */
    readonly domainName: string,
    /** The node holding the socket (cluster mode); `local` in one process. */
    readonly nodeId: string,
    /** Send-buffer high-water mark in bytes: beyond it sends are refused with `full`. */
    private readonly sendBufferBytes: number,
    /** The node-wide budget of send-buffer bytes this connection draws on. */
    private readonly budget: SendBudget = UNLIMITED,
  ) {
    this.lastActiveAt = connectedAt;
  }

  /**
   * Where the connection is in its life. Reads `closing` as soon as a close has begun from either
   * side: ws leaves readyState OPEN when the peer's close frame arrives or its socket ends, but
   * emits 'close' only once the handshake is over. Every management call and fan-out reads this,
   * so none of them treats a closing connection as open.
   */
  get state(): 'connecting' | 'open' | 'closing' | 'closed' {
    const s = this._state;
    return s === 'open' && this.socket !== null && this.socket.readyState !== 1 ? 'closing' : s;
  }

  set state(s: 'connecting' | 'open' | 'closing' | 'closed') {
    this._state = s;
  }

  /**
   * Sends one message. `binary` picks the frame opcode; `now` saves a clock read per member in
   * fan-outs. `full` when this connection's buffer is over its cap, or when the node's budget is
   * spent and this connection still has bytes waiting: over the budget only a connection with an
   * empty buffer (a reader keeping up: its bytes leave at once) takes more, so slow readers cannot
   * starve fast ones.
   */
  send(data: string | Buffer, binary: boolean, now = Date.now()): SendOutcome {
    const ws = this.socket;
    if (this._state !== 'open' || ws === null || ws.readyState !== 1) return 'gone';
    const budget = this.budget;
    let buffered = ws.bufferedAmount;
    budget.total += buffered - this.accounted;
    this.accounted = buffered;
    if (buffered > this.sendBufferBytes || (buffered > 0 && budget.total > budget.limit)) {
      if (this.fullSince === 0) this.fullSince = now;
      budget.refused(buffered > this.sendBufferBytes ? 'limits.sendBufferBytes' : 'limits.sendBufferTotalBytes');
      return 'full';
    }
    ws.send(data, binary ? BINARY : TEXT);
    this.messagesOut++;
    this.bytesOut += typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    // What the socket could not take at once now waits in user space: count it.
    buffered = ws.bufferedAmount;
    budget.total += buffered - this.accounted;
    this.accounted = buffered;
    this.fullSince = 0;
    this.lastActiveAt = now;
    return 'ok';
  }

  /**
   * Re-samples the send buffer into the budget (the sweep calls this for every connection) and
   * tells whether it has been full for `slowMs` or more. Full: over this connection's cap, or
   * bytes waiting while the node's budget is spent (when its sends would be refused).
   */
  sampleBuffer(now: number, slowMs: number): boolean {
    const buffered = this.socket === null ? 0 : this.socket.bufferedAmount;
    const budget = this.budget;
    budget.total += buffered - this.accounted;
    this.accounted = buffered;
    if (buffered === 0 || (buffered <= this.sendBufferBytes && budget.total <= budget.limit)) {
      this.fullSince = 0;
      return false;
    }
    if (this.fullSince === 0) this.fullSince = now;
    return now - this.fullSince >= slowMs;
  }

  /** Bytes waiting in this connection's send buffer when last sampled. */
  get buffered(): number {
    return this.accounted;
  }

  /** Takes this connection's bytes out of the budget once its socket is gone. */
  releaseBuffer(): void {
    this.budget.total -= this.accounted;
    this.accounted = 0;
    this.fullSince = 0;
  }

  /** Starts a close with a code and reason; false when the connection is not open (already closing or gone). */
  close(code: number, reason: string): boolean {
    if (this.state !== 'open' || this.socket === null) return false;
    this.state = 'closing';
    this.closeCause = { code, reason };
    this.onClosing?.(this);
    this.socket.close(code, reason);
    // A peer that never answers the close frame must not keep the socket (and $disconnect) hanging.
    const ws = this.socket;
    setTimeout(() => {
      if (ws.readyState !== 3) ws.terminate();
    }, 2000).unref();
    return true;
  }

  /** Ends the connection at once, without a close handshake (limits breached, shutdown timeout). */
  terminate(code: number, reason: string): void {
    if (this.state === 'closed') return;
    const wasOpen = this._state === 'open';
    this.closeCause ??= { code, reason };
    this.state = 'closing';
    if (wasOpen) this.onClosing?.(this);
    this.socket?.terminate();
  }
}
