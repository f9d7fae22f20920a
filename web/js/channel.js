// The Parley secure channel, client side (PROTOCOL.md §2–§9), over a WebSocket that carries one
// frame per binary message (the server's web transport). Offers x25519, aes-256-gcm and both
// signature algorithms; the server's key is checked by the caller's trust function before
// Finished is sent (§9.3). Records use counter nonces, so any replay, reorder, drop or change
// of a record fails to open and ends the connection (bad_record_mac).
import { concat, equal, u16, u32, u64, u8, utf8, randomBytes, Reader, MalformedError, fromUtf8 } from './bytes.js';
import { sha256, hmac, hkdfExtract, hkdfExpand, aesGcmSeal, aesGcmOpen, x25519Generate, x25519Public, x25519, exportRaw,
  ed25519Verify, ecdsaP256Verify } from './crypto.js';
import { fingerprint } from './fingerprint.js';

export const ERRORS = ['close_notify', 'unexpected_message', 'malformed', 'unsupported_version', 'no_common_group', 'no_common_suite',
  'no_common_signature_algorithm', 'invalid_public_key', 'bad_signature', 'bad_record_mac', 'frame_too_large', 'empty_frame',
  'handshake_timeout', 'illegal_parameter', 'untrusted_peer', 'sequence_exhausted', 'bad_finished', 'internal_error',
  'connection_closed', 'connection_limit', 'client_identity_required'];
const code = name => ERRORS.indexOf(name);

const TYPE = { ClientHello: 0x01, ServerHello: 0x02, HelloRetryRequest: 0x03, Finished: 0x14, Alert: 0x15, ApplicationData: 0x17, KeyUpdate: 0x18 };
const HANDSHAKE_FRAME_LIMIT = 4096;
// Our own record limit: the largest plaintext any Parley server may be configured to send (§8).
const RECORD_FRAME_LIMIT = 1 + 16 * 1024 * 1024 + 16;
const KEY_UPDATE_INTERVAL = 2 ** 20;
// KeyUpdate records taken in a row with no other record between them (§6.4); the next one is
// unexpected_message. Each is a key derivation and nothing to show, so a server streaming them
// would keep the page busy deriving keys for as long as it liked.
const MAX_KEY_UPDATES_IN_A_ROW = 32;
const HANDSHAKE_TIMEOUT_MS = 10000;

export class ChannelError extends Error {
  constructor(error, reason, fromPeer = false) {
    super(`${fromPeer ? 'the server said ' : ''}${error}${reason ? ': ' + reason : ''}`);
    this.error = error; this.reason = reason; this.fromPeer = fromPeer;
  }
}

function nameBytes(name) { const b = utf8(name); return concat(u8(b.length), b); }
function nameList(names) { return concat(u8(names.length), ...names.map(nameBytes)); }
function frame(body) { return concat(u32(body.length), body); }

function alertText(payload) {
  const r = new Reader(payload, 'alert');
  const c = r.u8();
  const reason = r.take(r.u8());
  let text = '';
  try { text = fromUtf8(reason); } catch { text = '(reason not UTF-8)'; }
  // Control characters in the reason are replaced before anyone sees it (§5.6).
  return { error: ERRORS[c] ?? `alert ${c}`, reason: text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '\uFFFD').slice(0, 255) };
}

export class Direction {
  static async from(secret) {
    const d = new Direction();
    d.secret = secret;
    d.key = await hkdfExpand(secret, utf8('parley/1 key'), 32);
    d.iv = await hkdfExpand(secret, utf8('parley/1 iv'), 12);
    d.sequence = 0n;
    return d;
  }
  nonce() {
    const n = this.iv.slice();
    const s = u64(this.sequence);
    for (let i = 0; i < 8; i++) n[4 + i] ^= s[i];
    return n;
  }
  async next() { return Direction.from(await hkdfExpand(this.secret, utf8('parley/1 key update'), 32)); }
}

/**
 * The frames of the WebSocket's messages: each message is exactly one frame (§4.1), its length
 * checked against the limit before it is kept. Nothing is buffered across messages, so no
 * sequence of messages costs more than its own bytes.
 */
class FrameReader {
  constructor() { this.ready = []; this.limit = HANDSHAKE_FRAME_LIMIT; }
  push(bytes) {
    if (bytes.length < 4) throw new ChannelError('malformed', 'a WebSocket message shorter than a frame header');
    const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0);
    if (length === 0) throw new ChannelError('empty_frame', 'a frame of length 0');
    if (length > this.limit) throw new ChannelError('frame_too_large', `a frame of ${length} bytes, above ${this.limit}`);
    if (bytes.length !== 4 + length) throw new ChannelError('malformed', 'a WebSocket message that is not exactly one frame');
    this.ready.push({ length, body: bytes.subarray(4) });
  }
  next() { return this.ready.shift() ?? null; }
}

/** §6.2 from the shared secret and the transcript hash. */
export async function keySchedule(z, th) {
  const prk = await hkdfExtract(th, z);
  return {
    prk,
    c2s: await Direction.from(await hkdfExpand(prk, utf8('parley/1 c2s traffic'), 32)),
    s2c: await Direction.from(await hkdfExpand(prk, utf8('parley/1 s2c traffic'), 32)),
    finishedKey: await hkdfExpand(prk, utf8('parley/1 c2s finished'), 32),
  };
}

export function verifyData(finishedKey, th) { return hmac(finishedKey, th); }

/** A whole frame (u32 length || type || ciphertext) under the direction's next sequence number (§5.5, §6.3). */
export async function sealRecord(direction, type, payload) {
  const length = 1 + payload.length + 16;
  const aad = concat(u32(length), u8(type));
  const nonce = direction.nonce();
  direction.sequence += 1n;
  return concat(aad, await aesGcmSeal(direction.key, nonce, payload, aad));
}

/** The payload of a record frame body, or null when it does not authenticate (the sequence then stays). */
export async function openRecord(direction, length, body) {
  const plain = await aesGcmOpen(direction.key, direction.nonce(), body.subarray(1), concat(u32(length), u8(body[0])));
  if (plain !== null) direction.sequence += 1n;
  return plain;
}

export class SecureChannel {
  constructor(socket) {
    this.socket = socket;
    this.frames = new FrameReader();
    this.waiting = null;
    this.failed = null;
    this.established = false;
    this.onRecord = () => {};
    this.onClose = () => {};
    this.queue = Promise.resolve();
    this.closed = false;
    this.sealing = 0;
    this.goodbye = null;
    this.keyUpdatesInARow = 0;
  }

  /**
   * Opens a WebSocket to url and runs the handshake. trust({algorithm, key, fingerprint}) decides
   * about the server's key and resolves true to go on; false sends untrusted_peer and fails.
   */
  static async connect(url, trust) {
    const socket = new WebSocket(url);
    socket.binaryType = 'arraybuffer';
    const channel = new SecureChannel(socket);
    await new Promise((resolve, reject) => {
      socket.onopen = resolve;
      socket.onerror = () => reject(new ChannelError('connection_closed', 'the WebSocket could not be opened'));
    });
    socket.onmessage = e => channel.receive(new Uint8Array(e.data));
    socket.onclose = () => channel.ended(new ChannelError('connection_closed', 'the connection ended without close_notify'));
    socket.onerror = null;
    const timer = setTimeout(() => channel.fail(new ChannelError('handshake_timeout', 'the handshake did not finish within 10 s')), HANDSHAKE_TIMEOUT_MS);
    try {
      await channel.handshake(trust);
    } catch (e) {
      channel.fail(e instanceof ChannelError ? e : new ChannelError(e.code === 'InvalidPublicKey' ? 'invalid_public_key' : 'malformed', e.message));
      throw channel.failed;
    } finally {
      clearTimeout(timer);
    }
    return channel;
  }

  receive(bytes) {
    if (this.failed) return;
    try {
      this.frames.push(bytes);
    } catch (e) {
      this.fail(e);
      return;
    }
    this.pump();
  }

  pump() {
    try {
      for (let f = this.frames.next(); f; f = this.frames.next()) {
        if (!this.established) {
          this.pending = this.pending ?? [];
          this.pending.push(f);
          this.wake();
        } else {
          const current = f;
          this.queue = this.queue.then(() => this.openRecord(current)).catch(e => this.fail(e));
        }
      }
    } catch (e) {
      this.fail(e);
    }
  }

  wake() { if (this.waiting) { const w = this.waiting; this.waiting = null; w(); } }

  async nextHandshakeFrame() {
    while (!(this.pending && this.pending.length)) {
      if (this.failed) throw this.failed;
      await new Promise(resolve => { this.waiting = resolve; });
    }
    return this.pending.shift();
  }

  ended(error) {
    if (this.closed) return;
    this.closed = true;
    if (!this.failed) this.failed = error;
    this.wake();
    this.onClose(this.failed);
  }

  fail(error) {
    if (this.failed) return;
    this.failed = error;
    // Best effort: tell the server why, in the form our state calls for (§5.6), then close.
    if (!error.fromPeer && this.socket.readyState === WebSocket.OPEN) {
      // An error that names no alert of §5.6 (a TypeError, say) goes as internal_error, never as close_notify.
      const alert = concat(u8(code(error.error) >= 0 ? code(error.error) : code('internal_error')), u8(0));
      if (this.c2s && this.finishedSent) {
        this.sealAndSend(TYPE.Alert, alert).catch(() => {}).finally(() => this.socket.close());
      } else {
        this.socket.send(frame(concat(u8(TYPE.Alert), alert)));
        this.socket.close();
      }
    } else {
      this.socket.close();
    }
    this.wake();
    this.ended(error);
  }

  async handshake(trust) {
    const ephemeral = await x25519Generate();
    const share = await exportRaw(ephemeral.publicKey);
    const clientHello = frame(concat(u8(TYPE.ClientHello), u16(1), randomBytes(32), nameList(['x25519']), nameList(['aes-256-gcm']),
      nameList(['ed25519', 'ecdsa-p256-sha256']), nameBytes('x25519'), u16(share.length), share));
    this.socket.send(clientHello);
    const f = await this.nextHandshakeFrame();
    const body = f.body;
    if (body[0] === TYPE.Alert) {
      const a = alertText(body.subarray(1));
      throw new ChannelError(a.error, a.reason, true);
    }
    if (body[0] === TYPE.HelloRetryRequest) {
      // We offer one group only, so the server has no other to ask for.
      throw new ChannelError('illegal_parameter', 'the server asked for a group this client did not offer');
    }
    if (body[0] !== TYPE.ServerHello) throw new ChannelError('unexpected_message', `message type ${body[0]} instead of ServerHello`);
    const r = new Reader(body, 'ServerHello');
    r.u8();
    if (r.u16() !== 1) throw new ChannelError('unsupported_version', 'the server speaks another version');
    r.take(32);
    if (r.name() !== 'x25519') throw new ChannelError('illegal_parameter', 'the server chose a group other than our share');
    const suite = r.name();
    if (suite !== 'aes-256-gcm') throw new ChannelError('illegal_parameter', `the server chose suite ${suite}, which we did not offer`);
    const serverShare = r.opaque16();
    const algorithm = r.name();
    const identityKey = r.opaque16().slice();
    const signedPart = body.subarray(0, r.offset);
    const signature = r.opaque16();
    r.end();
    const transcriptHash = await sha256(concat(clientHello, signedPart));
    const toSign = concat(utf8('parley/1 server signature'), u8(0), transcriptHash);
    const ok = algorithm === 'ed25519' ? await ed25519Verify(identityKey, signature, toSign)
      : algorithm === 'ecdsa-p256-sha256' ? await ecdsaP256Verify(identityKey, signature, toSign) : null;
    if (ok === null) throw new ChannelError('illegal_parameter', `the server signs with ${algorithm}, which we did not offer`);
    if (!ok) throw new ChannelError('bad_signature', 'the ServerHello signature does not verify');
    const z = await x25519(ephemeral.privateKey, await x25519Public(serverShare));
    const th = await sha256(concat(clientHello, frame(body)));
    const { c2s, s2c, finishedKey } = await keySchedule(z, th);
    this.c2s = c2s;
    this.s2c = s2c;
    this.serverIdentity = { algorithm, key: identityKey, fingerprint: await fingerprint(algorithm, identityKey) };
    if (!(await trust(this.serverIdentity))) throw new ChannelError('untrusted_peer', 'the server key was not trusted');
    this.frames.limit = RECORD_FRAME_LIMIT;
    await this.sealAndSend(TYPE.Finished, await verifyData(finishedKey, th));
    this.finishedSent = true;
    this.established = true;
    this.prepareGoodbye().catch(() => {});
    // Records that arrived while we were deciding about trust are opened now, in order.
    const early = this.pending ?? [];
    this.pending = [];
    for (const record of early) this.queue = this.queue.then(() => this.openRecord(record)).catch(e => this.fail(e));
  }

  async sealAndSend(type, payload) {
    this.sealing++;
    try {
      this.socket.send(await sealRecord(this.c2s, type, payload));
    } finally {
      this.sealing--;
    }
    if (this.established && this.sealing === 0) this.prepareGoodbye().catch(() => {});
  }

  /**
   * Seals a close_notify ahead, under the sequence number the next record will take: a page that
   * is going away (pagehide) cannot wait for WebCrypto, but can still send these bytes. It is
   * made on a copy of the direction and kept only while nothing else has taken that number; a
   * record sent meanwhile makes it stale, and a stale one is dropped unsent, so no nonce ever
   * protects two records on the wire.
   */
  async prepareGoodbye() {
    const direction = this.c2s;
    const sequence = direction.sequence;
    const copy = Object.assign(Object.create(Object.getPrototypeOf(direction)), direction);
    const record = await sealRecord(copy, TYPE.Alert, concat(u8(0), u8(0)));
    if (this.c2s === direction && direction.sequence === sequence) this.goodbye = { direction, sequence, record };
  }

  /** Leaving now (the page is hidden for good): close_notify if one is ready for this very moment, then the socket closes. */
  goodbyeNow() {
    const g = this.goodbye;
    if (g && !this.failed && this.sealing === 0 && g.direction === this.c2s && g.sequence === this.c2s.sequence
      && this.socket.readyState === WebSocket.OPEN) {
      this.c2s.sequence += 1n;
      this.socket.send(g.record);
    }
    this.goodbye = null;
    if (!this.failed) this.failed = new ChannelError('close_notify', 'closed by this client');
    this.socket.close();
  }

  async openRecord(f) {
    if (this.failed) return;
    const type = f.body[0];
    if (![TYPE.ApplicationData, TYPE.KeyUpdate, TYPE.Alert].includes(type)) {
      throw new ChannelError('unexpected_message', `record type ${type}`);
    }
    if (f.body.length < 17) throw new ChannelError('malformed', 'a record shorter than its tag');
    const plain = await openRecord(this.s2c, f.length, f.body);
    if (plain === null) throw new ChannelError('bad_record_mac', 'a record failed authentication');
    if (type === TYPE.KeyUpdate) {
      if (plain.length !== 0) throw new ChannelError('malformed', 'a key update record with a payload');
      if (++this.keyUpdatesInARow > MAX_KEY_UPDATES_IN_A_ROW) {
        throw new ChannelError('unexpected_message', `more than ${MAX_KEY_UPDATES_IN_A_ROW} KeyUpdate records in a row, with no other record between them`);
      }
      this.s2c = await this.s2c.next();
      return;
    }
    this.keyUpdatesInARow = 0;
    if (type === TYPE.Alert) {
      const a = alertText(plain);
      if (a.error === 'close_notify') {
        this.failed = new ChannelError('close_notify', 'the server closed the connection', true);
        this.socket.close();
        this.ended(this.failed);
      } else {
        throw new ChannelError(a.error, a.reason, true);
      }
    } else {
      this.onRecord(plain);
    }
  }

  /** Sends one application record (a messenger JSON object's bytes), in order with the others. */
  send(payload) {
    const p = this.queue.then(async () => {
      if (this.failed) throw this.failed;
      if (this.c2s.sequence >= BigInt(KEY_UPDATE_INTERVAL)) {
        await this.sealAndSend(TYPE.KeyUpdate, new Uint8Array(0));
        this.c2s = await this.c2s.next();
      }
      await this.sealAndSend(TYPE.ApplicationData, payload);
    });
    this.queue = p.catch(() => {});
    return p;
  }

  /** A clean end: close_notify, then the socket closes. */
  async close() {
    if (this.failed) return;
    try {
      await this.queue;
      await this.sealAndSend(TYPE.Alert, concat(u8(0), u8(0)));
    } catch { /* the connection is going anyway */ }
    this.failed = new ChannelError('close_notify', 'closed by this client');
    this.socket.close();
    this.ended(this.failed);
  }
}

export { MalformedError };
