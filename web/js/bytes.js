// Byte helpers shared by the channel, the messenger and the end-to-end layer: big-endian
// integers, concatenation, hex and base64 (standard alphabet with padding, as PROTOCOL.md §11
// requires), strict UTF-8, and a Reader that checks every length against what remains.

export class MalformedError extends Error {
  constructor(message, code = 'MalformedData') { super(message); this.code = code; }
}

export function concat(...parts) {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) { out.set(p, offset); offset += p.length; }
  return out;
}

export function u8(v) { return Uint8Array.of(v & 0xff); }
export function u16(v) { return Uint8Array.of((v >>> 8) & 0xff, v & 0xff); }
export function u32(v) { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, v >>> 0); return b; }
export function u64(v) { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, BigInt(v)); return b; }

export function readU32(bytes, offset = 0) {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(offset);
}

export function equal(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

export function isAllZero(bytes) {
  let acc = 0;
  for (const b of bytes) acc |= b;
  return acc === 0;
}

export function hex(bytes) { return Array.from(bytes, b => b.toString(16).padStart(2, '0')).join(''); }

export function fromHex(text) {
  const clean = text.replace(/\s+/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) throw new MalformedError('not hex');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.substr(i * 2, 2), 16);
  return out;
}

export function toBase64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export function fromBase64(text) {
  if (typeof text !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
    throw new MalformedError('not base64');
  }
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
export function utf8(text) { return new TextEncoder().encode(text); }
/** Throws on invalid UTF-8: a message that is not text is reported, never shown half-decoded. */
export function fromUtf8(bytes) { return strictUtf8.decode(bytes); }

export function randomBytes(n) { return crypto.getRandomValues(new Uint8Array(n)); }

/** Reads fields in order; each read checks the bytes that remain first. */
export class Reader {
  constructor(bytes, what = 'message') { this.bytes = bytes; this.offset = 0; this.what = what; }
  get remaining() { return this.bytes.length - this.offset; }
  take(n) {
    if (n > this.remaining) throw new MalformedError(`${this.what}: truncated (needs ${n} bytes, ${this.remaining} left)`);
    const out = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }
  u8() { return this.take(1)[0]; }
  u16() { const b = this.take(2); return (b[0] << 8) | b[1]; }
  u32() { return readU32(this.take(4)); }
  opaque16(max = 65535) {
    const n = this.u16();
    if (n > max) throw new MalformedError(`${this.what}: a length of ${n} is above ${max}`);
    return this.take(n);
  }
  name() {
    const n = this.u8();
    if (n < 1 || n > 32) throw new MalformedError(`${this.what}: a name of ${n} bytes`);
    const b = this.take(n);
    for (const c of b) {
      if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d)) throw new MalformedError(`${this.what}: a name outside [a-z0-9-]`);
    }
    return String.fromCharCode(...b);
  }
  end() { if (this.remaining !== 0) throw new MalformedError(`${this.what}: ${this.remaining} trailing bytes`); }
}
