// The messenger protocol (PROTOCOL.md §11) over a secure channel: JSON requests with "type"
// first, replies matched by ref (never by position), pings answered, messages handed to a
// handler one at a time in id order and acknowledged only after the handler has stored them.
// When login agrees the compact form (§11.9), sends and acks go compact and the server's compact
// records are read into the very objects its JSON gives, so nothing above this file can tell.
import { utf8, fromUtf8, toBase64, fromBase64 } from './bytes.js';
import * as compact from './compact.js';

const REQUEST_TIMEOUT_MS = 30000;
const ACK_BATCH_MS = 200;

/**
 * Ids in one ack: at most 4096, and few enough to fit the server's record limit in either form
 * (PROTOCOL.md §11.9: a JSON id takes up to 21 bytes with its comma, a compact one 8).
 */
function ackIdsPerRecord(maxBodyLength) {
  const recordLimit = Math.floor(maxBodyLength / 3) * 4 + 8192;
  return Math.min(4096, Math.max(1, Math.floor((recordLimit - 64) / 21)));
}

export class MessengerError extends Error {
  constructor(code, message, retryAfterSeconds) { super(message || code); this.code = code; this.retryAfterSeconds = retryAfterSeconds; }
}

export class Messenger {
  constructor(channel) {
    this.channel = channel;
    this.nextRef = 1;
    this.pending = new Map();
    /** Refs answered more than once (a download's chunks, an upload's refusals): ref → handler. */
    this.streams = new Map();
    this.loginWaiter = null;
    this.onMessage = async () => {};
    this.onError = () => {};
    this.onPresence = () => {};
    this.incoming = Promise.resolve();
    this.acks = [];
    this.ackTimer = null;
    /** The compact form's version this connection agreed at login; 0: JSON only. */
    this.compact = 0;
    channel.onRecord = bytes => this.receive(bytes);
  }

  send(object) { return this.channel.send(utf8(JSON.stringify(object))); }

  receive(bytes) {
    if (compact.isCompact(bytes)) { this.receiveCompact(bytes); return; }
    let message;
    try {
      message = JSON.parse(fromUtf8(bytes));
    } catch {
      this.onError(new MessengerError('bad_reply', 'the server sent a record that is not JSON'));
      return;
    }
    this.dispatch(message);
  }

  /**
   * A record of compact messages, read whole before any is handled. One the server should not
   * have sent (nothing agreed) or cannot be read ends the connection, as §11.9 asks: none of its
   * messages is handled or acknowledged, so the server delivers them again at the next login.
   */
  receiveCompact(bytes) {
    let messages;
    try {
      if (!this.compact) throw new Error('the compact form was not agreed at login');
      messages = compact.decodeServerRecord(bytes);
    } catch (e) {
      this.onError(new MessengerError('bad_reply', `the server sent a compact record that cannot be read, so the connection ends: ${e.message}`));
      this.channel.onRecord = () => {}; // nor any record after it, while close_notify goes out
      this.channel.close().catch(() => {});
      return;
    }
    for (const message of messages) this.dispatch(message);
  }

  dispatch(message) {
    switch (message.type) {
      case 'ping': this.send({ type: 'pong' }).catch(() => {}); return;
      case 'pong': return;
      case 'login_result':
        // Only as the answer to this client's login: one at any other time could switch the compact form on (§11.9).
        if (!this.loginWaiter) { this.onError(new MessengerError('bad_reply', 'the server sent a login result no login asked for')); return; }
        if (message.success === true && message.compact != null && message.compact !== compact.VERSION) {
          // A version this client did not ask for: its records could not be read (§11.9).
          const reason = `the server answered with compact form version ${Number(message.compact)}, which this client did not ask for, so the connection ends`;
          this.compact = 0;
          this.onError(new MessengerError('bad_reply', reason));
          this.channel.onRecord = () => {};
          this.channel.close().catch(() => {});
          this.loginWaiter?.({ type: 'login_result', success: false, code: 'bad_reply', error: reason });
          this.loginWaiter = null;
          return;
        }
        // Set before the next record is read: compact records may follow the result at once.
        this.compact = message.success === true && message.compact === compact.VERSION ? compact.VERSION : 0;
        this.maxBodyLength = message.maxBodyLength > 0 ? message.maxBodyLength : 64 * 1024;
        this.loginWaiter?.(message);
        this.loginWaiter = null;
        return;
      case 'presence': this.onPresence(message.user, message.online === true); return;
      case 'message':
        // One at a time, in order: the next waits until the handler has stored this one.
        this.incoming = this.incoming.then(() => this.handle(message));
        return;
      default: break;
    }
    const stream = message.ref ? this.streams.get(message.ref) : null;
    if (stream) { stream(message); return; }
    const waiter = message.ref ? this.pending.get(message.ref) : null;
    if (waiter) {
      this.pending.delete(message.ref);
      waiter(message);
    } else if (message.type === 'error') {
      this.onError(new MessengerError(message.code, message.message, message.retryAfterSeconds));
    }
  }

  async handle(message) {
    try {
      await this.onMessage(message);
      this.acks.push(message.messageId);
      if (!this.ackTimer) this.ackTimer = setTimeout(() => this.flushAcks(), ACK_BATCH_MS);
    } catch (e) {
      // Not acknowledged: the server delivers it again at the next login.
      console.warn('a message was not handled', e?.message);
    }
  }

  async flushAcks() {
    this.ackTimer = null;
    while (this.acks.length) {
      const ids = this.acks.splice(0, ackIdsPerRecord(this.maxBodyLength ?? 64 * 1024));
      const bytes = this.compact ? compact.encodeAck(ids) : null;
      await (bytes ? this.channel.send(bytes) : this.send({ type: 'ack', messageIds: ids })).catch(() => {});
    }
  }

  /** The connection is gone: every request still waiting fails at once with `connection_lost`. */
  abandon(reason) {
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const waiter of waiting) waiter({ type: 'error', code: 'connection_lost', message: `the connection was lost (${reason})` });
    const streams = [...this.streams.values()];
    this.streams.clear();
    for (const stream of streams) stream({ type: 'error', code: 'connection_lost', message: `the connection was lost (${reason})` });
    this.loginWaiter?.({ type: 'login_result', success: false, code: 'connection_lost', error: `the connection was lost (${reason})` });
    this.loginWaiter = null;
  }

  /** `compactForm(ref)`: the request's compact bytes, or null when only JSON can say it. */
  request(object, compactForm = null) {
    const ref = this.nextRef++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.pending.delete(ref); reject(new MessengerError('timeout', `no reply to ${object.type} in time`)); }, REQUEST_TIMEOUT_MS);
      this.pending.set(ref, reply => {
        clearTimeout(timer);
        if (reply.type === 'error') reject(new MessengerError(reply.code, reply.message, reply.retryAfterSeconds));
        else resolve(reply);
      });
      const bytes = this.compact && compactForm ? compactForm(ref) : null;
      (bytes ? this.channel.send(bytes) : this.send({ type: object.type, ref, ...object })).catch(e => { this.pending.delete(ref); clearTimeout(timer); reject(e); });
    });
  }

  login(user, secret) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.loginWaiter = null;
        resolve({ type: 'login_result', success: false, code: 'timeout', error: 'the server did not answer the login in time' });
      }, REQUEST_TIMEOUT_MS);
      this.loginWaiter = result => { clearTimeout(timer); resolve(result); };
      const request = secret.deviceToken ? { type: 'login', user, deviceToken: secret.deviceToken } : { type: 'login', user, password: secret.password };
      request.compact = compact.VERSION; // the highest version spoken; the result says what this connection uses
      this.send(request).catch(reject);
    });
  }

  async list() {
    const users = [];
    let after;
    for (let page = 0; page < 100; page++) {
      const reply = await this.request(after ? { type: 'list', after } : { type: 'list' });
      users.push(...reply.users);
      if (!reply.more || reply.users.length === 0) break;
      after = reply.users[reply.users.length - 1];
    }
    return users;
  }

  /** Join and leave notices for these users from now on (§11.6); the ones online now. */
  async watchPresence(users) {
    const reply = await this.request({ type: 'watch_presence', users });
    return reply.online ?? [];
  }

  sendToDevice(to, toDevice, contentType, body) {
    return this.request({ type: 'send', to, contentType, body: toBase64(body), toDevice },
      ref => compact.encodeSend({ ref, to, toDevice, contentType, body }));
  }

  publishKeys(keys) {
    const b64 = v => (v ? toBase64(v) : undefined);
    return this.request({
      type: 'publish_keys', identityKey: b64(keys.identityKey), signedPrekey: b64(keys.signedPrekey),
      lastResortKemPrekey: b64(keys.lastResortKemPrekey), oneTimePrekeys: (keys.oneTimePrekeys ?? []).map(b64),
      oneTimeKemPrekeys: (keys.oneTimeKemPrekeys ?? []).map(b64),
    });
  }

  async fetchBundles(user, devices = null) {
    const reply = await this.request(devices ? { type: 'fetch_bundles', user, devices } : { type: 'fetch_bundles', user });
    return {
      user: reply.user,
      devices: (reply.devices ?? []).map(d => ({
        deviceId: d.deviceId, identityKey: fromBase64(d.identityKey), signedPrekey: fromBase64(d.signedPrekey),
        oneTimePrekey: d.oneTimePrekey ? fromBase64(d.oneTimePrekey) : null, kemPrekey: fromBase64(d.kemPrekey),
        kemPrekeyIsLastResort: !!d.kemPrekeyIsLastResort,
      })),
    };
  }

  // ── Groups (§11.7): the server keeps the membership; what members say is end to end (§14) ──

  groupList() { return this.request({ type: 'group_list' }); }
  groupMembers(group) { return this.request({ type: 'group_members', group }); }
  groupCreate(group, members) { return this.request({ type: 'group_create', group, members }); }
  groupAdd(group, members) { return this.request({ type: 'group_add', group, members }); }
  groupRemove(group, members) { return this.request({ type: 'group_remove', group, members }); }
  groupLeave(group) { return this.request({ type: 'group_leave', group }); }
  groupAccept(group, groupId) { return this.request({ type: 'group_accept', group, groupId }); }
  groupDecline(group, groupId) { return this.request({ type: 'group_decline', group, groupId }); }
  groupAllow(user) { return this.request({ type: 'group_allow', user }); }
  groupDisallow(user) { return this.request({ type: 'group_disallow', user }); }
  /** One sender-key message (§14.4) for every member, encrypted for membership `version`. */
  groupSend(group, version, body) { return this.request({ type: 'group_send', group, version, body: toBase64(body) }); }

  // ── Files (§11.8): the server stores and hands out ciphertext chunks; the key goes end to end (§15) ──

  fileUploadBegin(to, size, chunkSize) { return this.request({ type: 'file_upload_begin', to, size, chunkSize }); }
  /** Where an upload of ours stands: {fileId, received, chunkCount, complete}. */
  fileUploadState(fileId) { return this.request({ type: 'file_upload_begin', fileId }); }
  fileUploadEnd(fileId) { return this.request({ type: 'file_upload_end', fileId }); }
  fileDone(fileId) { return this.request({ type: 'file_done', fileId }); }

  /**
   * The chunks of one upload, all under one ref: the server answers none of them unless it refuses
   * one, and a refusal (or the lost connection) is thrown by the next `send` or `check`.
   */
  openUpload(fileId) {
    const ref = this.nextRef++;
    let failure = null;
    this.streams.set(ref, m => { if (m.type === 'error') failure ??= new MessengerError(m.code, m.message, m.retryAfterSeconds); });
    const check = () => { if (failure) throw failure; };
    return {
      check,
      send: (index, body) => { check(); return this.send({ type: 'file_chunk', ref, fileId, index, body: toBase64(body) }); },
      close: () => this.streams.delete(ref),
    };
  }

  /**
   * Chunks `fromChunk` … `fromChunk + count − 1` (fewer at the file's end), in order:
   * [{index, body, last, chunkCount}]. A chunk out of order is the server's fault and fails the window.
   */
  fileDownload(fileId, fromChunk, count) {
    const ref = this.nextRef++;
    return new Promise((resolve, reject) => {
      const chunks = [];
      let timer;
      const finish = error => {
        this.streams.delete(ref);
        clearTimeout(timer);
        if (error) reject(error); else resolve(chunks);
      };
      // Each chunk restarts the clock: a slow link is not a dead one.
      const arm = () => { clearTimeout(timer); timer = setTimeout(() => finish(new MessengerError('timeout', 'no file chunk came in time')), REQUEST_TIMEOUT_MS); };
      arm();
      this.streams.set(ref, m => {
        if (m.type === 'error') { finish(new MessengerError(m.code, m.message, m.retryAfterSeconds)); return; }
        if (m.type !== 'file_data' || m.fileId !== fileId || m.index !== fromChunk + chunks.length || typeof m.body !== 'string') {
          finish(new MessengerError('bad_reply', 'the server sent a file chunk that was not asked for'));
          return;
        }
        let body;
        try { body = fromBase64(m.body); } catch { finish(new MessengerError('bad_reply', 'the server sent a file chunk that is not base64')); return; }
        chunks.push({ index: m.index, body, last: m.last === true, chunkCount: m.chunkCount });
        if (m.last === true || chunks.length === count) finish(); else arm();
      });
      this.send({ type: 'file_download', ref, fileId, fromChunk, count }).catch(e => finish(e));
    });
  }

  async close() {
    if (this.ackTimer) { clearTimeout(this.ackTimer); await this.flushAcks(); }
    await this.channel.close();
  }
}
