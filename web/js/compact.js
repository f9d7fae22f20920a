// The compact form (PROTOCOL.md §11.9): `send` and `ack` written, `message` and `send_result`
// read, as fixed-width big-endian integers and length-prefixed fields, several to a record. Written
// from the spec's text, not from the server's code, so each implementation checks the other.
// Reading is strict: every length is checked against the record, text is fatal UTF-8, and a type,
// flag bit or status version 1 does not define makes the record malformed; the fault names the
// offset and the field, never the bytes.
import { MalformedError, toBase64, utf8, fromUtf8 } from './bytes.js';

/** The highest version this client speaks, asked for in `login`. */
export const VERSION = 1;

const SEND = 0x01, ACK = 0x02, MESSAGE = 0x03, SEND_RESULT = 0x04;
const BROADCAST = 0x01; // message flags, bit 0
const DEVICES = 0x01; // send_result flags, bit 0
const STATUS = ['queued', 'delivered'];
const EMPTY = new Uint8Array(0);

/** A record whose first byte is 0x01..0x04 holds compact messages; any other is one JSON object. */
export function isCompact(record) { return record.length > 0 && record[0] >= SEND && record[0] <= SEND_RESULT; }

/**
 * A `send` ({ref, to, toDevice?, contentType, body: bytes}) as compact bytes, or null when the
 * compact form cannot say it and it must go as JSON: a text over its length field, a string that is
 * not well-formed UTF-16 (UTF-8 would replace a lone surrogate and change the meaning), an empty
 * `toDevice` (a length of 0 means absent), or a ref that is not a safe integer.
 */
export function encodeSend({ ref, to, toDevice, contentType, body }) {
  const absent = toDevice === undefined || toDevice === null;
  const t = text(to, 0xff), d = absent ? EMPTY : text(toDevice, 0xff), c = text(contentType, 0xffff);
  if (!t || !d || !c || (!absent && d.length === 0) || !Number.isSafeInteger(ref) || !(body instanceof Uint8Array) || body.length > 0xffffffff) return null;
  const w = new Writer(1 + 8 + 1 + t.length + 1 + d.length + 2 + c.length + 4 + body.length);
  w.u8(SEND); w.i64(ref); w.u8(t.length); w.bytes(t); w.u8(d.length); w.bytes(d);
  w.u16(c.length); w.bytes(c); w.u32(body.length); w.bytes(body);
  return w.out;
}

/** An `ack` of these message ids as compact bytes, or null when it cannot be said (not 1 to 4096 ids, an id that is not a safe integer). */
export function encodeAck(messageIds) {
  if (!Array.isArray(messageIds) || messageIds.length < 1 || messageIds.length > 4096 || !messageIds.every(Number.isSafeInteger)) return null;
  const w = new Writer(1 + 2 + 8 * messageIds.length);
  w.u8(ACK); w.u16(messageIds.length);
  for (const id of messageIds) w.i64(id);
  return w.out;
}

/**
 * Every message of a compact record from the server, in order, as the objects the JSON path
 * gives: `message` with a base64 body and `send_result` with its status as text, optional fields
 * absent rather than empty. All or nothing: a fault anywhere throws MalformedError, so no message
 * of a malformed record is handled (§11.9).
 */
export function decodeServerRecord(record) {
  const r = new Cursor(record);
  const messages = [];
  while (r.remaining > 0) {
    const start = r.offset;
    try {
      const type = r.u8('type');
      if (type === MESSAGE) messages.push(readMessage(r));
      else if (type === SEND_RESULT) messages.push(readSendResult(r));
      else throw new MalformedError(`type 0x${type.toString(16).padStart(2, '0')} is not a compact server message`);
    } catch (e) {
      if (!(e instanceof MalformedError)) throw e;
      throw new MalformedError(`not a valid compact message at byte ${start} of the record: ${e.message}`);
    }
  }
  return messages;
}

function readMessage(r) {
  const flags = r.u8('flags');
  if (flags & ~BROADCAST) throw new MalformedError(`message flags 0x${flags.toString(16).padStart(2, '0')} are not defined`);
  const messageId = r.i64('messageId'), timestamp = r.i64('timestamp');
  const from = r.text8('from'), fromDevice = r.text8('fromDevice'), to = r.text8('to'), toDevice = r.text8('toDevice');
  const contentType = r.text16('contentType');
  const body = toBase64(r.bytes32('body'));
  // The member order the server writes as JSON; an absent device is no member at all, as in JSON.
  const m = { type: 'message', messageId, from, to, timestamp, contentType, body, broadcast: (flags & BROADCAST) !== 0 };
  if (toDevice) m.toDevice = toDevice;
  if (fromDevice) m.fromDevice = fromDevice;
  return m;
}

function readSendResult(r) {
  const code = r.u8('status');
  if (code >= STATUS.length) throw new MalformedError(`send_result status ${code} is not defined`);
  const flags = r.u8('flags');
  if (flags & ~DEVICES) throw new MalformedError(`send_result flags 0x${flags.toString(16).padStart(2, '0')} are not defined`);
  const result = { type: 'send_result', ref: r.i64('ref'), messageId: r.i64('messageId'), to: r.text8('to'), status: STATUS[code] };
  if (flags & DEVICES) {
    const count = r.u8('devices');
    result.devices = [];
    for (let i = 0; i < count; i++) result.devices.push(r.text8('devices'));
  }
  return result;
}

/** UTF-8 of a well-formed string of at most `max` bytes, else null. */
function text(value, max) {
  if (typeof value !== 'string' || !value.isWellFormed()) return null;
  const bytes = utf8(value);
  return bytes.length <= max ? bytes : null;
}

class Writer {
  constructor(length) { this.out = new Uint8Array(length); this.view = new DataView(this.out.buffer); this.at = 0; }
  u8(v) { this.view.setUint8(this.at, v); this.at += 1; }
  u16(v) { this.view.setUint16(this.at, v); this.at += 2; }
  u32(v) { this.view.setUint32(this.at, v); this.at += 4; }
  i64(v) { this.view.setBigInt64(this.at, BigInt(v)); this.at += 8; }
  bytes(b) { this.out.set(b, this.at); this.at += b.length; }
}

/** Reads fields in order; each checks what is left of the record first. */
class Cursor {
  constructor(bytes) { this.bytes = bytes; this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength); this.offset = 0; }
  get remaining() { return this.bytes.length - this.offset; }
  take(n, field) {
    if (n > this.remaining) throw new MalformedError(`${field} runs past the end of the record (${n} bytes wanted, ${this.remaining} left)`);
    const out = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }
  u8(field) { this.take(1, field); return this.view.getUint8(this.offset - 1); }
  u16(field) { this.take(2, field); return this.view.getUint16(this.offset - 2); }
  u32(field) { this.take(4, field); return this.view.getUint32(this.offset - 4); }
  /** A Number, as JSON gives: a value beyond 2^53 − 1 would be rounded, so it is refused instead. */
  i64(field) {
    this.take(8, field);
    const v = this.view.getBigInt64(this.offset - 8);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw new MalformedError(`${field} is beyond what a number holds exactly`);
    return Number(v);
  }
  text8(field) { return this.utf8(this.take(this.u8(field), field), field); }
  text16(field) { return this.utf8(this.take(this.u16(field), field), field); }
  bytes32(field) { return this.take(this.u32(field), field); }
  utf8(bytes, field) {
    try { return fromUtf8(bytes); } catch { throw new MalformedError(`${field} is not valid UTF-8`); }
  }
}
