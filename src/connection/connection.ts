import type { WebSocket } from 'ws';

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
  state: 'connecting' | 'open' | 'closing' | 'closed' = 'connecting';
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
  ) {
    this.lastActiveAt = connectedAt;
  }

  /** Sends one message. `binary` picks the frame opcode; `now` saves a clock read per member in fan-outs. */
  send(data: string | Buffer, binary: boolean, now = Date.now()): SendOutcome {
    const ws = this.socket;
    if (this.state !== 'open' || ws === null || ws.readyState !== 1) return 'gone';
    if (ws.bufferedAmount > this.sendBufferBytes) return 'full';
    ws.send(data, binary ? BINARY : TEXT);
    this.lastActiveAt = now;
    return 'ok';
  }

  /** Starts a close with a code and reason; false when the connection is not open (already closing or gone). */
  close(code: number, reason: string): boolean {
    if (this.state !== 'open' || this.socket === null) return false;
    this.state = 'closing';
    this.closeCause = { code, reason };
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
    this.closeCause ??= { code, reason };
    this.state = 'closing';
    this.socket?.terminate();
  }
}
