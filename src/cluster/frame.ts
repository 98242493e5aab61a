/**
 * The binary frame every bus message travels in: `u8 version | u8 type | u32 headerLength |
 * header JSON | payload`. Payloads stay raw bytes (no base64); the header is small JSON.
 */
export const FRAME_VERSION = 1;

export const enum FrameType {
  SEND = 1,
  CLOSE = 2,
  INFO = 3,
  JOIN = 4,
  LEAVE = 5,
  FANOUT_SEND = 6,
  FANOUT_CLOSE = 7,
  REPLY = 8,
  PROBE = 9,
  NODE_LEFT = 10,
  NODE_DEAD = 11,
  /** Live records of several connections held by the receiving node (listing). */
  INFO_BATCH = 12,
}

/** Header fields: `rid` request id, `from` sender node, `ts` Redis server ms at send; the rest per type. */
export interface FrameHeader {
  rid?: number;
  from?: string;
  ts?: number;
  id?: string;
  code?: number;
  reason?: string;
  binary?: boolean;
  group?: string;
  sel?: unknown;
  /** Connection ids of a batch request. */
  ids?: string[];
  /** Reply body. */
  r?: unknown;
  /** The node an announcement is about. */
  node?: string;
}

export interface Frame {
  type: FrameType;
  header: FrameHeader;
  payload: Buffer;
}

const EMPTY = Buffer.alloc(0);

export function encodeFrame(type: FrameType, header: FrameHeader, payload?: Buffer | string): Buffer {
  const h = Buffer.from(JSON.stringify(header));
  const p = payload === undefined ? EMPTY : typeof payload === 'string' ? Buffer.from(payload) : payload;
  const out = Buffer.allocUnsafe(6 + h.length + p.length);
  out[0] = FRAME_VERSION;
  out[1] = type;
  out.writeUInt32BE(h.length, 2);
  h.copy(out, 6);
  p.copy(out, 6 + h.length);
  return out;
}

/** undefined for anything that is not a frame of this version (counted and dropped by the caller). */
export function decodeFrame(buf: Buffer): Frame | undefined {
  if (buf.length < 6 || buf[0] !== FRAME_VERSION) return undefined;
  const len = buf.readUInt32BE(2);
  if (6 + len > buf.length) return undefined;
  try {
    const header = JSON.parse(buf.toString('utf8', 6, 6 + len)) as FrameHeader;
    if (header === null || typeof header !== 'object') return undefined;
    return { type: buf[1] as FrameType, header, payload: buf.subarray(6 + len) };
  } catch {
    return undefined;
  }
}
