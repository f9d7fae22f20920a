// One browser device's end-to-end state (PROTOCOL.md §13.10), as Parley.Client's E2eDevice does
// it: identity and prekeys published to the key directory, a session per peer device, copies for
// every device of the recipient and of our own account, trust on first use per device. All
// operations run one at a time and the state is saved (sealed, store.js) after each change,
// before its result is acted on: the device's record and the record of each session the change
// touched, in one transaction.
import { equal, hex } from '../bytes.js';
import * as store from '../store.js';
import { generateIdentity, generateSignedPrekey, generateOneTimePrekey, generateKemPrekey, blobs, bundleFromDirectory,
  E2eError, KIND_ONE_TIME, KIND_LAST_RESORT } from './keys.js';
import * as session from './session.js';
import * as peers from './peer-sessions.js';
import { safetyNumber } from './safety.js';
import { KIND_TEXT, KIND_BROADCAST, KIND_RECEIPT, encodeText, encodeReceipt, decodePayload, newMessageId } from './payload.js';

export const CONTENT_TYPE = 'application/vnd.parley.e2e';
export { KIND_TEXT, KIND_BROADCAST };
const ONE_TIME_LOW = 10, ONE_TIME_TARGET = 20, KEM_LOW = 2, KEM_TARGET = 5, MAX_LOCAL_ONE_TIME = 400;
const REFETCH_AFTER_MS = 60000;
/** Devices one fetch_bundles may name (PROTOCOL.md §11.5). */
const MAX_FETCH_DEVICES = 64;
/**
 * Skipped message keys all pairwise sessions hold together. One session holds at most
 * session.MAX_SKIPPED_KEYS, but anyone can start sessions with us from as many devices as they
 * have, and the whole device record is sealed again at every save: past this the session that
 * holds most loses its oldest first, wiped, as groups do with sender keys (MAX_SKIPPED_KEYS_IN_ALL there).
 */
export const MAX_SKIPPED_KEYS_IN_ALL = 20000;

const pair = (user, device) => `${user}/${device}`;
/** A device id as the server makes them: short, printable, no separator of ours. */
const isDeviceId = id => typeof id === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(id);
/** Envelopes' EK_A remembered per peer device, so a prekey envelope seen before never starts its session again (§13.10). */
const MAX_STARTED_BY = 4;
/**
 * Peer devices with sessions kept at most (§13.10, as Parley.Client's E2eDevice.MaxPeerDevices):
 * past it the least recently used one is forgotten, its keys wiped, and its next message is
 * reported as having no session. `sessions` is kept in use order (an object keeps its string keys
 * in the order they were set, and the device record lists them in that order).
 */
export const MAX_PEER_DEVICES = 1000;
/**
 * Peer devices remembered without a session at most (their pinned identity, the first messages
 * that started their sessions, a changed key): past it the first met go. Each is small, but the
 * device record holding them is sealed at every save, and anyone can make devices write to us.
 */
export const MAX_REMEMBERED_PEERS = 10 * MAX_PEER_DEVICES;

export class E2eDevice {
  /** The bound of skipped keys over all sessions; tests lower it to reach it cheaply. */
  static maxSkippedKeysInAll = MAX_SKIPPED_KEYS_IN_ALL;
  /** The bound of peer devices with sessions; tests lower it. */
  static maxPeerDevices = MAX_PEER_DEVICES;
  /** The bound of peer devices remembered (pinned); tests lower it. */
  static maxRememberedPeers = MAX_REMEMBERED_PEERS;

  constructor(recordName, state) {
    this.recordName = recordName; this.s = state; this.lock = Promise.resolve(); this.lastFetch = new Map();
    // Peer devices whose session changed (or went) since the last save: only their records are written.
    this.touched = new Set();
  }

  /** Where the session with peer device `key` (user/device) is kept: a record of its own, so a message seals one session, not all. */
  sessionRecord(key) { return `${this.recordName}:session:${key}`; }

  /**
   * Loads the device saved for this login, or makes a new one when the login is another device. A
   * device saved with its sessions inside its own record (an older page) keeps them, and the next
   * save moves them into records of their own.
   */
  static async open(recordName, user, deviceId) {
    const saved = await store.get(recordName);
    if (saved && saved.deviceId === deviceId) {
      const { sessionKeys, ...state } = saved;
      const device = new E2eDevice(recordName, state);
      if (state.sessions) {
        for (const [key, value] of Object.entries(state.sessions)) {
          state.sessions[key] = peers.fromStored(value);
          device.touched.add(key);
        }
      } else {
        state.sessions = {};
        for (const key of sessionKeys ?? []) {
          const value = await store.get(device.sessionRecord(key));
          // Missing only if a save never finished, which writes the list and the records together: fail closed, no session.
          if (value) state.sessions[key] = peers.fromStored(value);
        }
      }
      return device;
    }
    const identity = await generateIdentity();
    const state = {
      user, deviceId, identity, published: false,
      signed: await generateSignedPrekey(identity, 1),
      lastResort: await generateKemPrekey(identity, 1, KIND_LAST_RESORT),
      oneTime: {}, oneTimeKem: {}, nextOneTimeId: 1, nextKemId: 2, sessions: {}, pinned: {}, changed: {}, refetch: {},
    };
    const device = new E2eDevice(recordName, state);
    // Another device's sessions under this name go with the save that replaces it.
    for (const key of saved?.sessionKeys ?? []) device.touched.add(key);
    await device.addOneTimeKeys(ONE_TIME_TARGET, KEM_TARGET);
    await device.save();
    return device;
  }

  get identityKey() { return this.s.identity.publicKey; }

  serial(fn) { const p = this.lock.then(fn); this.lock = p.catch(() => {}); return p; }
  /**
   * The device record (everything but the sessions, and the list of them) and the record of each
   * session touched since the last save, written or deleted, in one transaction.
   */
  async save() {
    const { sessions, ...rest } = this.s;
    const touched = [...this.touched];
    const entries = [[this.recordName, { ...rest, sessionKeys: Object.keys(sessions) }],
      ...touched.map(key => [this.sessionRecord(key), sessions[key]])];
    await store.putMany(entries);
    for (const key of touched) this.touched.delete(key);
  }

  async addOneTimeKeys(oneTime, kem) {
    const fresh = { oneTime: [], kem: [] };
    for (let i = 0; i < oneTime; i++) {
      const k = await generateOneTimePrekey(this.s.nextOneTimeId++);
      this.s.oneTime[k.id] = k; fresh.oneTime.push(blobs.oneTimePrekey(k));
    }
    for (let i = 0; i < kem; i++) {
      const k = await generateKemPrekey(this.s.identity, this.s.nextKemId++, KIND_ONE_TIME);
      this.s.oneTimeKem[k.id] = k; fresh.kem.push(blobs.kemPrekey(k));
    }
    for (const map of [this.s.oneTime, this.s.oneTimeKem]) {
      const ids = Object.keys(map).map(Number).sort((a, b) => a - b);
      for (const id of ids.slice(0, Math.max(0, ids.length - MAX_LOCAL_ONE_TIME))) delete map[id];
    }
    return fresh;
  }

  /** First login of this device: publish everything. Later logins: top up one-time keys when low. */
  publishOrReplenish(messenger) {
    return this.serial(async () => {
      if (!this.s.published) {
        await messenger.publishKeys({
          identityKey: this.identityKey, signedPrekey: blobs.signedPrekey(this.s.signed), lastResortKemPrekey: blobs.kemPrekey(this.s.lastResort),
          oneTimePrekeys: Object.values(this.s.oneTime).map(blobs.oneTimePrekey), oneTimeKemPrekeys: Object.values(this.s.oneTimeKem).map(blobs.kemPrekey),
        });
        this.s.published = true;
        await this.save();
        return;
      }
      const left = await messenger.publishKeys({ identityKey: this.identityKey });
      const oneTime = left.oneTimePrekeys < ONE_TIME_LOW ? ONE_TIME_TARGET - left.oneTimePrekeys : 0;
      const kem = left.oneTimeKemPrekeys < KEM_LOW ? KEM_TARGET - left.oneTimeKemPrekeys : 0;
      if (oneTime === 0 && kem === 0) return;
      const fresh = await this.addOneTimeKeys(oneTime, kem);
      // Saved before the public halves leave: the server must never hand out a key we lost.
      await this.save();
      await messenger.publishKeys({ identityKey: this.identityKey, oneTimePrekeys: fresh.oneTime, oneTimeKemPrekeys: fresh.kem });
    });
  }

  /** A text under message id `id` (hex, drawn by the caller before it may hear receipts): {devices, delivered}. */
  sendText(messenger, to, text, id = newMessageId(), kind = KIND_TEXT) {
    return this.sendPayload(messenger, to, encodeText(kind, id, text));
  }

  /** A receipt (§13.11) to `to`'s devices and our other devices, naming ids of messages `to` sent us. */
  sendReceipt(messenger, to, type, ids) {
    return this.sendPayload(messenger, to, encodeReceipt(newMessageId(), type, ids));
  }

  /**
   * Encrypts to every device of `to` and (unless told not to: a sender key goes to our own devices
   * only as a member) our other devices; {devices, delivered}. Nothing goes out in plaintext.
   */
  sendPayload(messenger, to, plaintext, { copyToOwnDevices = true } = {}) {
    return this.serial(async () => {
      const users = to === this.s.user || !copyToOwnDevices ? [to] : [to, this.s.user];
      this.markUsed(users, null);
      const before = Object.keys(this.s.sessions);
      for (const user of users) await this.ensureSessions(messenger, user);
      // All copies are made before any leaves: a changed identity anywhere sends nothing.
      const copies = await this.encryptFor(users, plaintext, null);
      await this.save();
      const removed = [];
      // A device found by a fetch of a user we already had devices of is new, and is said so (the
      // first contact's devices are not: there is nothing yet to compare them with).
      const added = copies.filter(c => !before.includes(pair(c.user, c.device)) && before.some(k => k.startsWith(c.user + '/')))
        .map(c => ({ user: c.user, deviceId: c.device }));
      const sent = await this.sendCopies(messenger, to, copies, removed);
      let { devices, delivered } = sent;
      // Devices over time (§13.10): the server lists the devices with keys now; one we have no
      // session with is fetched alone and gets the same message, one no longer listed is forgotten.
      for (const [user, listed] of sent.listed) {
        const missing = this.reconcile(user, listed, removed);
        if (missing.length === 0) continue;
        await this.ensureSessions(messenger, user, missing);
        const more = await this.encryptFor([user], plaintext, missing);
        await this.save();
        const extra = await this.sendCopies(messenger, to, more, removed);
        devices += extra.devices;
        delivered ||= extra.delivered;
        added.push(...more.map(c => ({ user: c.user, deviceId: c.device })).filter(d => !removed.some(r => r.user === d.user && r.deviceId === d.deviceId)));
      }
      if (removed.length) await this.save();
      return { devices, delivered, added, removed };
    });
  }

  /**
   * To one device of `user` only (a sender key request or its answer, PROTOCOL.md §14.3), starting a
   * session with it first when there is none: {devices, added}.
   */
  sendPayloadToDevice(messenger, user, deviceId, plaintext) {
    return this.serial(async () => {
      this.markUsed([user], deviceId);
      const known = !!this.s.sessions[pair(user, deviceId)];
      if (!known) await this.ensureSessions(messenger, user, [deviceId]);
      const copies = await this.encryptFor([user], plaintext, [deviceId]);
      await this.save();
      const removed = [];
      const sent = await this.sendCopies(messenger, user, copies, removed);
      if (removed.length) await this.save();
      return { devices: sent.devices, added: known ? [] : copies.map(c => ({ user: c.user, deviceId: c.device })) };
    });
  }

  /** One envelope per device of `users` we hold a session with (or only the devices in `only`), never to this device. */
  async encryptFor(users, plaintext, only) {
    for (const key of Object.keys(this.s.changed)) {
      const [u, device] = key.split('/');
      if (users.includes(u)) throw new E2eError('IdentityChanged', `${u}'s device ${device} presents a new identity key; compare safety numbers and accept it first`);
    }
    const copies = [];
    for (const [key, value] of Object.entries(this.s.sessions)) {
      const [u, device] = key.split('/');
      if (!users.includes(u) || (u === this.s.user && device === this.s.deviceId) || (only && !only.includes(device))) continue;
      copies.push({ user: u, device, envelope: await session.encrypt(peers.current(value), plaintext) });
      this.used(key, value);
    }
    return copies;
  }

  /**
   * The sessions a send is about to encrypt with become the most recently used before it starts any
   * new one (a new device of the recipient or of our own): otherwise the cap could forget the
   * recipient's sessions to make room, and the send would go to no device of theirs. Only their
   * order changes, which the device record keeps: no session record is written for it.
   */
  markUsed(users, only) {
    for (const [key, peer] of Object.entries(this.s.sessions)) {
      const [u, device] = key.split('/');
      if (!users.includes(u) || (only && device !== only)) continue;
      delete this.s.sessions[key];
      this.s.sessions[key] = peer;
    }
  }

  /**
   * Peer device `key` was written to or read from, with `peer` its sessions now: it becomes the most
   * recently used, its record is written at the next save, and past E2eDevice.maxPeerDevices the
   * least recently used peer device is forgotten (its sessions only: its pinned identity stays).
   */
  used(key, peer) {
    delete this.s.sessions[key];
    this.s.sessions[key] = peer;
    this.touched.add(key);
    const keys = Object.keys(this.s.sessions);
    for (let i = 0, over = keys.length - E2eDevice.maxPeerDevices; over > 0 && i < keys.length; i++) {
      const oldest = keys[i];
      if (oldest === key) continue;
      for (const s of peers.all(this.s.sessions[oldest])) peers.wipe(s);
      delete this.s.sessions[oldest];
      this.touched.add(oldest);
      over--;
    }
  }

  /** Sends each copy; {listed: Map user → devices the server lists, delivered, devices}. A device the server no longer knows loses its session. */
  async sendCopies(messenger, to, copies, removed) {
    const listed = new Map();
    let delivered = false, devices = 0;
    for (const c of copies) {
      let result;
      try {
        result = await messenger.sendToDevice(c.user, c.device, CONTENT_TYPE, c.envelope);
      } catch (e) {
        if (e.code !== 'unknown_device') throw e;
        this.forget(c.user, c.device);
        removed.push({ user: c.user, deviceId: c.device });
        continue;
      }
      if (c.user === to) devices++;
      delivered ||= c.user === to && result.status === 'delivered';
      if (Array.isArray(result.devices)) listed.set(c.user, result.devices.filter(d => typeof d === 'string'));
    }
    return { listed, delivered, devices };
  }

  /** A peer device gone from the server: its sessions (wiped), its pin and what started its sessions. */
  forget(user, device) {
    this.dropPeer(pair(user, device));
  }

  dropPeer(key) {
    for (const s of this.s.sessions[key] ? peers.all(this.s.sessions[key]) : []) peers.wipe(s);
    delete this.s.sessions[key]; delete this.s.pinned[key]; delete this.s.changed[key];
    if (this.s.startedBy) delete this.s.startedBy[key];
    this.touched.add(key);
  }

  /** Past MAX_REMEMBERED_PEERS pinned peer devices, those without a session go, first met first (never `keep`, just pinned). */
  boundRemembered(keep) {
    const pinned = Object.keys(this.s.pinned);
    for (let i = 0, over = pinned.length - E2eDevice.maxRememberedPeers; over > 0 && i < pinned.length; i++) {
      if (this.s.sessions[pinned[i]] || pinned[i] === keep) continue;
      this.dropPeer(pinned[i]);
      over--;
    }
  }

  /** Sessions of devices the server no longer lists go; listed devices we have no session with (nor hold back for trust) are returned. */
  reconcile(user, listed, removed) {
    const now = new Set(listed);
    for (const key of Object.keys(this.s.sessions)) {
      const [u, device] = key.split('/');
      if (u === user && !now.has(device)) { this.forget(u, device); removed.push({ user: u, deviceId: device }); }
    }
    return listed.filter(d => !(user === this.s.user && d === this.s.deviceId) && !this.s.sessions[pair(user, d)] && !this.s.changed[pair(user, d)])
      .slice(0, MAX_FETCH_DEVICES);
  }

  /** A session with each device of `user` we have none with: one fetch of all, only when needed; or of `only` those devices. */
  async ensureSessions(messenger, user, only = null) {
    if (!only) {
      const has = Object.keys(this.s.sessions).some(k => k.startsWith(user + '/'));
      const asked = this.lastFetch.get(user);
      if (has ? !this.s.refetch[user] : (asked && Date.now() - asked < REFETCH_AFTER_MS)) return;
      delete this.s.refetch[user];
      this.lastFetch.set(user, Date.now());
    }
    const list = await messenger.fetchBundles(user, only);
    // The server's answer is checked against the question: another user's bundles, or devices not
    // asked for, would be sessions (and pins) this device never chose to make.
    if (list.user !== user) throw new E2eError('MalformedData', 'the server answered a bundle request with another user\'s devices');
    const seen = new Set();
    for (const entry of list.devices) {
      if (!isDeviceId(entry.deviceId) || seen.has(entry.deviceId) || (only && !only.includes(entry.deviceId))) continue;
      seen.add(entry.deviceId);
      const key = pair(user, entry.deviceId);
      if ((user === this.s.user && entry.deviceId === this.s.deviceId) || this.s.sessions[key]) continue;
      try {
        const bundle = await bundleFromDirectory(entry);
        // Another user's pinned identity offered as this one's: no session (fail closed).
        if (this.pinnedToAnotherUser(user, bundle.identity.bytes)) continue;
        if (!this.pin(key, bundle.identity.bytes)) continue;
        this.used(key, peers.single(await session.initiate(this.s.identity, bundle)));
      } catch (e) {
        // A malformed or forged bundle gets no session (fail closed); the other devices still do.
        console.warn(`no session with ${key}: ${e.code ?? ''} ${e.message}`);
      }
    }
  }

  /**
   * The key (user/device) of another user than `user` that `identity` is pinned for, if any
   * (PROTOCOL.md §13.10 "Trust"): a device's identity key is its own, so the same key under another
   * user's name is the server relabelling one user's messages as another's.
   */
  pinnedToAnotherUser(user, identity) {
    for (const [key, pinned] of Object.entries(this.s.pinned)) {
      // The keys themselves (Ed25519 || X25519), not the binding's signature bytes.
      if (!key.startsWith(user + '/') && equal(pinned.subarray(0, 64), identity.subarray(0, 64))) return key;
    }
    return null;
  }

  pin(key, identity) {
    const pinned = this.s.pinned[key];
    if (!pinned) { this.s.pinned[key] = identity; this.boundRemembered(key); return true; }
    if (equal(pinned, identity)) return true;
    this.s.changed[key] = true;
    return false;
  }

  /** {text, broadcast} or {error, reason}; a message that cannot be read changes no session. */
  open(message) {
    return this.serial(async () => {
      const device = message.fromDevice ?? '';
      if (message.contentType !== CONTENT_TYPE || !device) return { error: 'MalformedData', reason: 'not an end-to-end message' };
      const key = pair(message.from, device);
      const body = message.bodyBytes;
      let lastError = null;
      const existing = this.s.sessions[key];
      if (existing) {
        try {
          const { peer, plaintext } = await peers.decrypt(existing, body);
          this.used(key, peer);
          this.boundSkippedKeys();
          await this.save();
          return this.text(plaintext);
        } catch (e) {
          lastError = e;
        }
      }
      let parsed;
      try { parsed = session.parseEnvelope(body); } catch (e) { return { error: e.code ?? 'MalformedData', reason: e.message }; }
      if (parsed.type !== 1) {
        return { error: lastError?.code ?? 'UnexpectedMessage', reason: existing ? 'the message did not decrypt' : 'no session with this device' };
      }
      // A prekey envelope whose EK_A started a session here before is a repeat (a replay, or a copy
      // delivered twice): accepting it again would roll the session back and show an old text as new.
      if ((this.s.startedBy?.[key] ?? []).includes(hex(parsed.initial.ek))) {
        // Never started again; without a session (the cap forgot it) there is nothing it could be read on.
        return existing
          ? { error: lastError?.code ?? 'DuplicateMessage', reason: 'the message was already read, or is not from this session' }
          : { error: 'UnexpectedMessage', reason: 'no session with this device' };
      }
      try {
        return await this.accept(message, key, parsed.initial, body);
      } catch (e) {
        return { error: e.code ?? 'DecryptionFailed', reason: e.message };
      }
    });
  }

  async accept(message, key, header, body) {
    const owner = this.pinnedToAnotherUser(message.from, header.identity);
    if (owner) {
      const [user, device] = owner.split('/');
      return { error: 'IdentityOfAnotherUser', reason: `this first message is under the identity key of ${user}'s device ${device}, but the server says it is from ${message.from}: it was not read (the server may be relabelling messages)` };
    }
    if (header.spkId !== this.s.signed.id) return { error: 'PrekeyMismatch', reason: 'the message names a signed prekey this device does not have' };
    const oneTime = header.opkId === null ? null : this.s.oneTime[header.opkId];
    if (header.opkId !== null && !oneTime) return { error: 'PrekeyMismatch', reason: 'the message names a one-time prekey already used' };
    const kem = header.kemId === this.s.lastResort.id ? this.s.lastResort : this.s.oneTimeKem[header.kemId];
    if (!kem) return { error: 'PrekeyMismatch', reason: 'the message names a KEM prekey already used' };
    const accepted = await session.accept(this.s.identity, { signed: this.s.signed, oneTime, kem }, body);
    // As parley chat says it (§13.10 "Devices over time"): the first message from an unseen device of
    // a user with other devices known here, or of our own account, is a new device to tell the user of.
    const firstSeen = !this.s.pinned[key];
    const othersKnown = Object.keys(this.s.pinned).some(k => k !== key && k.startsWith(message.from + '/'));
    if (!this.pin(key, accepted.session.theirIdentity)) {
      await this.save();
      return { error: 'IdentityChanged', reason: `${message.from}'s device ${message.fromDevice} presents a new identity key; compare safety numbers and accept it first` };
    }
    // The session authenticated: only now are the one-time keys it used deleted.
    if (header.opkId !== null) delete this.s.oneTime[header.opkId];
    if (header.kemId !== this.s.lastResort.id) delete this.s.oneTimeKem[header.kemId];
    // Kept with the sessions before it: both sides may have started one at once (§13.10), and the
    // peer may still send on ours.
    const existing = this.s.sessions[key];
    this.used(key, existing ? peers.promote(existing, accepted.session) : peers.single(accepted.session));
    this.s.startedBy ??= {};
    this.s.startedBy[key] = [hex(header.ek), ...(this.s.startedBy[key] ?? [])].slice(0, MAX_STARTED_BY);
    this.boundSkippedKeys();
    await this.save();
    return { ...this.text(accepted.plaintext), fromNewDevice: firstSeen && (othersKnown || message.from === this.s.user) };
  }

  /** Past E2eDevice.maxSkippedKeysInAll skipped keys in all sessions, the oldest of the session holding most go (wiped) until it holds. */
  boundSkippedKeys() {
    const sessions = Object.entries(this.s.sessions).flatMap(([key, peer]) => peers.all(peer).map(x => [key, x])).filter(([, x]) => Array.isArray(x.skipped));
    let excess = sessions.reduce((n, [, x]) => n + x.skipped.length, 0) - E2eDevice.maxSkippedKeysInAll;
    while (excess > 0) {
      const [key, largest] = sessions.reduce((a, b) => (b[1].skipped.length > a[1].skipped.length ? b : a));
      this.touched.add(key);
      const dropped = largest.skipped.splice(0, Math.min(excess, largest.skipped.length));
      for (const [, mk] of dropped) mk.fill(0);
      excess -= dropped.length;
    }
  }

  /** {text, broadcast, id}, {receipt: {type, ids}, id}, {offer, id} (a file offer's bytes), or {error, reason}. */
  text(plaintext) {
    const decoded = decodePayload(plaintext);
    if (decoded.error) return decoded;
    if (decoded.kind === KIND_RECEIPT) return { receipt: decoded.receipt, id: decoded.id };
    if (decoded.group) return { groupPayload: plaintext, kind: decoded.kind, id: decoded.id };
    if (decoded.offer) return { offer: decoded.offer, id: decoded.id };
    return { text: decoded.text, broadcast: decoded.kind === KIND_BROADCAST, id: decoded.id };
  }

  /** The devices of `user` with a pinned identity: [{deviceId, changed, safetyNumber}]. */
  safetyNumbers(user) {
    return this.serial(async () => {
      const out = [];
      for (const [key, identity] of Object.entries(this.s.pinned)) {
        const [u, device] = key.split('/');
        if (u !== user) continue;
        out.push({ deviceId: device, changed: !!this.s.changed[key], safetyNumber: await safetyNumber(this.identityKey, this.s.user, identity, user) });
      }
      return out.sort((a, b) => (a.deviceId < b.deviceId ? -1 : 1));
    });
  }

  /** Accepts a changed identity: the next send fetches the device's new keys. */
  trustNewIdentity(user, deviceId) {
    return this.serial(async () => {
      const key = pair(user, deviceId);
      // What started its sessions stays: an old first message replayed before the new key is fetched is still refused.
      const startedBy = this.s.startedBy?.[key];
      this.dropPeer(key);
      if (startedBy) this.s.startedBy[key] = startedBy;
      this.s.refetch[user] = true;
      await this.save();
    });
  }
}
