import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeFrame, decodeMessage, encodeBatch, encodeFrame, FrameType } from '../../src/cluster/frame.js';

describe('bus frames', () => {
  it('a frame round-trips: type, header and raw payload bytes', () => {
    const f = decodeFrame(encodeFrame(FrameType.SEND, { rid: 7, from: 'n1', id: 'abc=' }, Buffer.from([0, 255, 10])));
    assert.equal(f?.type, FrameType.SEND);
    assert.deepEqual(f?.header, { rid: 7, from: 'n1', id: 'abc=' });
    assert.deepEqual([...f!.payload], [0, 255, 10]);
  });

  it('a BATCH container yields its frames in order; a plain frame yields itself', () => {
    const frames = [encodeFrame(FrameType.REPLY, { rid: 1, r: 'ok' }), encodeFrame(FrameType.SEND, { rid: 2 }, 'x'.repeat(300)), encodeFrame(FrameType.REPLY, { rid: 3, r: null })];
    const out = decodeMessage(encodeBatch(frames));
    assert.deepEqual(out.map((f) => f?.header.rid), [1, 2, 3]);
    assert.equal(out[1]!.payload.toString(), 'x'.repeat(300));
    assert.deepEqual(decodeMessage(frames[0]!).map((f) => f?.header.r), ['ok']);
  });

  it('a truncated or malformed container yields what parsed and then undefined (never throws)', () => {
    const whole = encodeBatch([encodeFrame(FrameType.REPLY, { rid: 1 }), encodeFrame(FrameType.REPLY, { rid: 2 })]);
    const cut = decodeMessage(whole.subarray(0, whole.length - 3));
    assert.equal(cut.length, 2);
    assert.equal(cut[0]?.header.rid, 1);
    assert.equal(cut[1], undefined);
    assert.deepEqual(decodeMessage(Buffer.from([1, FrameType.BATCH, 0, 0])), [undefined]);
    assert.deepEqual(decodeMessage(Buffer.from('not a frame')), [undefined]);
  });
});
