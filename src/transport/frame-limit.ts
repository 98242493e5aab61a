import * as wsModule from 'ws';

// Not in @types/ws, but a named export of ws (CJS and ESM alike).
const Receiver = (wsModule as unknown as { Receiver: unknown }).Receiver;

/**
 * `ws` limits whole messages (`maxPayload`) but not single frames, and API Gateway limits both
 * (32 KB frames, 128 KB messages). The frame check lives where `ws` reads each frame's length:
 * a wrapper around Receiver#haveLength that acts only on receivers the gateway marked, so other
 * `ws` users in the same process (tests, clients) are untouched. Pinned by the lockfile; the
 * frame-limit test fails loudly if a `ws` upgrade changes this internal.
 */
const FRAME_LIMIT = Symbol('switchboard.frameLimit');

interface ReceiverInternals {
  _payloadLength: number;
  _opcode: number;
  [FRAME_LIMIT]?: number;
  createError(kind: ErrorConstructor, message: string, prefix: boolean, statusCode: number, code: string): Error;
  haveLength(cb: (err?: Error) => void): void;
}

let installed = false;

function install(): void {
  if (installed) return;
  const proto = (Receiver as unknown as { prototype: ReceiverInternals }).prototype;
  const original = proto.haveLength;
  if (typeof original !== 'function') throw new Error('ws Receiver#haveLength not found: the frame limit cannot be enforced with this ws version');
  proto.haveLength = function (this: ReceiverInternals, cb: (err?: Error) => void) {
    const limit = this[FRAME_LIMIT];
    if (limit !== undefined && this._opcode < 0x08 && this._payloadLength > limit) {
      cb(this.createError(RangeError, 'Frame size exceeded', false, 1009, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'));
      return;
    }
    original.call(this, cb);
  };
  installed = true;
}

/** Enforces `frameBytes` on one server-side socket's incoming frames (close 1009 when exceeded). */
export function limitFrames(ws: object, frameBytes: number): void {
  install();
  const receiver = (ws as { _receiver?: ReceiverInternals })._receiver;
  if (receiver === undefined) throw new Error('ws socket has no receiver: the frame limit cannot be enforced with this ws version');
  receiver[FRAME_LIMIT] = frameBytes;
}
