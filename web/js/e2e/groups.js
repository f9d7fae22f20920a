// One browser device's groups end to end (PROTOCOL.md §14), as Parley.Client's E2eGroups does it:
// its own sender key per group, the keys other members' devices handed it, and what it knows of
// each membership. A send makes one sender-key ciphertext for the server to fan out (§11.7); the
// key first goes to each member device over the pairwise sessions, only to members the server
// lists now. A membership change (a notice, or a stale_group_version answer) makes this device's
// key stale: the next send makes a new one and hands it only to the current members, so a removed
// member cannot read what follows and a new one cannot read what came before.
//
// The state lives in the device's own record (device.s.groups, device.s.senderKeys) and is saved
// with it. Changes to it are synchronous between awaits; encryption with this device's key runs in
// the device's queue, so two sends can never take the same iteration (one key, one nonce).
import { fromHex, hex, concat, u8, u32, readU32, utf8, fromUtf8 } from '../bytes.js';
import * as senderKey from './senderkey.js';
import { KIND_SENDER_KEY, KIND_GROUP_CONTROL, KIND_TEXT, KIND_FILE_OFFER, newMessageId, encodeFileOffer } from './payload.js';
import { E2eError } from './keys.js';
import { SenderKeyRequests } from './key-requests.js';
import { ChannelError } from '../channel.js';

/** The connection went (not a refusal): what was being sent waits for the next one. */
const connectionLost = e => e?.code === 'connection_lost' || e?.code === 'timeout' || e instanceof ChannelError;

export const GROUP_CONTENT_TYPE = 'application/vnd.parley.group';
export const GROUP_CHANGED_CONTENT_TYPE = 'application/vnd.parley.group-changed+json';
/** Received keys kept per sender device and group: the newest few, so messages sent just before a rotation still open. */
export const KEYS_PER_SENDER_DEVICE = 4;
/** Received keys kept in all; past it the least recently stored go first. */
export const MAX_RECEIVED_KEYS = 4096;
/** Of those, for groups this device does not know: anyone may hand us keys for made-up groups. */
export const MAX_KEYS_FOR_UNKNOWN_GROUPS = 64;
/** Skipped message keys across all received keys; past it the key holding most gives up its oldest. */
export const MAX_SKIPPED_KEYS_IN_ALL = 20000;
/** Groups this device keeps at most (as Parley.Client's E2eGroups.MaxGroups): a server making up groups fills no more. */
export const MAX_GROUPS = 10000;
/** Times one send asks the server again after the membership moved under it. */
const SEND_ATTEMPTS = 3;
const ID_LENGTH = 16;

const CANONICAL = /^[a-z0-9][a-z0-9._-]{0,31}$/;
/** A name exactly as the server writes it (§11.4): anything else in a notice is a forgery. */
export const isCanonical = name => typeof name === 'string' && CANONICAL.test(name);
const slot = (groupId, user, device) => `${groupId}/${user}/${device}`;

/** A group control payload's (kind 6) first body byte for "hand me your sender key with this id" (§14.3). */
export const KEY_REQUEST = 1;

/** A sender key request: u8 6 || message id (16) || u8 1 || group id (16) || u32 key id. */
export function encodeKeyRequest(groupId, keyId, messageId) {
  if (groupId.length !== ID_LENGTH) throw new Error('a group id is 16 bytes');
  return concat(u8(KIND_GROUP_CONTROL), fromHex(messageId), u8(KEY_REQUEST), groupId, u32(keyId));
}

/** {groupId (hex), keyId} of a kind-6 sender key request; null for any other payload, or a request of another length. */
export function decodeKeyRequest(plaintext) {
  if (plaintext.length !== 1 + ID_LENGTH + 1 + ID_LENGTH + 4 || plaintext[0] !== KIND_GROUP_CONTROL || plaintext[1 + ID_LENGTH] !== KEY_REQUEST) return null;
  const at = 2 + ID_LENGTH;
  return { groupId: hex(plaintext.subarray(at, at + ID_LENGTH)), keyId: readU32(plaintext, at + ID_LENGTH) };
}

export class E2eGroups {
  /** MAX_GROUPS; tests lower it. */
  static maxGroups = MAX_GROUPS;

  /** `now`: the clock that paces sender key requests and answers (milliseconds; tests pass their own). */
  constructor(device, now = undefined) {
    this.device = device;
    this.requests = new SenderKeyRequests(now);
    /** Sender key requests and answers this page sent, since it was opened. */
    this.keyRequestsSent = { asks: 0, answers: 0 };
    device.s.groups ??= {};
    device.s.senderKeys ??= {};
    device.s.senderKeysStored ??= 0;
  }

  get s() { return this.device.s; }
  get user() { return this.device.s.user; }

  /** The group this device knows under `name`, or undefined. */
  byName(name) { return Object.values(this.s.groups).find(g => g.name === name); }

  names() { return Object.values(this.s.groups).map(g => g.name).sort(); }

  // ── membership: the server decides, this device follows ──

  /**
   * Takes the server's word for a group (a group_info); a changed membership makes our key stale.
   * Returns the group, or null when the answer leaves this user out (an admin who removed itself):
   * then nothing of the group is kept. Names must be as the server makes them (§11.4).
   */
  apply(info) {
    if (!info || !isCanonical(info.group) || !/^[0-9a-f]{32}$/.test(info.groupId ?? '') || !Number.isSafeInteger(info.version)
      || !Array.isArray(info.members) || !info.members.every(isCanonical)
      || !(info.admins === undefined || (Array.isArray(info.admins) && info.admins.every(isCanonical)))) {
      throw new E2eError('MalformedData', 'the server described a group with names or an id it cannot have made');
    }
    if (!info.members.includes(this.user)) {
      if (this.s.groups[info.groupId]) this.drop(info.groupId);
      return null;
    }
    const group = this.stateFor(info.groupId, info.group);
    if (!group) return null;
    if (info.version >= group.version) {
      const members = new Set(info.members);
      const changed = !group.membersKnown || group.members.length !== members.size || group.members.some(m => !members.has(m));
      for (const gone of group.members.filter(m => !members.has(m))) this.forgetKeysOf(group.id, gone);
      group.members = [...members].sort();
      group.admins = [...(info.admins ?? [])].sort();
      group.version = info.version;
      group.membersKnown = true;
      group.askBeforeSend = false;
      group.learnedAtLogin = false;
      group.stale ||= changed;
    }
    return group;
  }

  /** apply(), then saved: for the answers to this device's own requests. */
  learn(info) {
    return this.device.serial(async () => { const group = this.apply(info); await this.device.save(); return group; });
  }

  /**
   * A group this device did not know at login (joined on another device, or before this device
   * existed): today's membership, but not yet trusted to judge the rows still waiting in the inbox,
   * which were decided under earlier ones. Senders are not refused for it until the next send asks
   * the server again; the notices that follow bring it up to date meanwhile.
   */
  learnAtLogin(info) {
    return this.device.serial(async () => {
      const group = this.apply(info);
      if (group) { group.membersKnown = false; group.learnedAtLogin = true; group.askBeforeSend = true; }
      await this.device.save();
      return group;
    });
  }

  /**
   * The membership may have moved while this device was away: asked again before the next send.
   * What it knows still judges the rows that follow (they come in the server's order, with the
   * notices that move it), as the C# reference does.
   */
  markUnknown(groupId) {
    return this.device.serial(async () => {
      const group = this.s.groups[groupId];
      if (group) { group.askBeforeSend = true; await this.device.save(); }
    });
  }

  /** Whether `user` is a member of the group `name` as this device knows it. */
  isMember(name, user) { return !!this.byName(name)?.members.includes(user); }

  /** The group's state, made if new; null when this device already keeps MAX_GROUPS. */
  stateFor(groupId, name) {
    // A name given again to a new group (the old one emptied and was deleted) is another group.
    for (const other of Object.values(this.s.groups)) if (other.name === name && other.id !== groupId) this.drop(other.id);
    if (!this.s.groups[groupId] && Object.keys(this.s.groups).length >= E2eGroups.maxGroups) return null;
    return (this.s.groups[groupId] ??= { id: groupId, name, version: 0, members: [], admins: [], membersKnown: false, stale: true, own: null, hasOurKey: [] });
  }

  drop(groupId) {
    delete this.s.groups[groupId];
    for (const key of Object.keys(this.s.senderKeys)) if (key.startsWith(groupId + '/')) delete this.s.senderKeys[key];
  }

  forgetKeysOf(groupId, user) {
    for (const key of Object.keys(this.s.senderKeys)) if (key.startsWith(`${groupId}/${user}/`)) delete this.s.senderKeys[key];
  }

  /** The notice in an inbox row (§11.7) checked for consistency: {change} or {error}. */
  static parseNotice(m) {
    let change;
    try { change = JSON.parse(fromUtf8(m.bodyBytes)); } catch { return { error: 'a group notice that is not valid JSON' }; }
    if (!change || typeof change !== 'object' || !isCanonical(change.group) || !isCanonical(change.actor) || change.actor !== m.from
      || typeof change.groupId !== 'string' || !/^[0-9a-f]{32}$/.test(change.groupId) || !Number.isSafeInteger(change.version)
      || typeof change.change !== 'string' || !Array.isArray(change.subjects) || !change.subjects.every(isCanonical)
      || !(change.admins === undefined || (Array.isArray(change.admins) && change.admins.every(isCanonical)))) {
      return { error: 'a group notice that does not hold together' };
    }
    return { change };
  }

  /** A membership notice: {change, weLeft} or {error}. An invitation changes nothing here (it is no membership). */
  receiveNotice(m) {
    const { change, error } = E2eGroups.parseNotice(m);
    if (error) return { error };
    if (change.change === 'invited') return { change, weLeft: false };
    return this.device.serial(async () => {
      const group = this.stateFor(change.groupId, change.group);
      if (!group) return { error: `a notice of another group, and this device keeps ${E2eGroups.maxGroups} groups, the most it keeps: not kept` };
      let weLeft = false;
      if (change.version > group.version) {
        // A gap means a notice was missed (a full inbox skips it): ask the server before the next send.
        const gap = group.version !== 0 && change.version !== group.version + 1;
        group.version = change.version;
        if (change.change === 'created') {
          group.members = [...new Set(change.subjects)].sort();
          group.membersKnown = true;
        } else if (change.change === 'added') {
          group.members = [...new Set([...group.members, ...change.subjects])].sort();
          if (change.subjects.includes(this.user)) group.membersKnown = false;
        } else if (change.change === 'removed' || change.change === 'left') {
          group.members = group.members.filter(u => !change.subjects.includes(u));
          for (const gone of change.subjects) this.forgetKeysOf(group.id, gone);
          weLeft = change.subjects.includes(this.user);
        } else {
          // A kind from a later protocol: ask the server for the members before the next send.
          group.membersKnown = false;
        }
        if (Array.isArray(change.admins)) group.admins = [...change.admins].sort();
        // A group learned at login judges senders again from the first notice that follows it in order.
        const knownKind = ['created', 'added', 'removed', 'left'].includes(change.change);
        if (group.learnedAtLogin && !gap && knownKind && !(change.change === 'added' && change.subjects.includes(this.user))) {
          group.membersKnown = true;
          group.learnedAtLogin = false;
        }
        if (gap) group.membersKnown = false;
        group.stale = true;
        if (weLeft) this.drop(group.id);
        await this.device.save();
      }
      return { change, weLeft };
    });
  }

  // ── sending ──

  /** Sends a text to the group `name`: {group, recipients, rotated, unreachable}; throws the server's refusal. */
  sendText(messenger, name, text, messageId = newMessageId()) {
    return this.sendPlaintext(messenger, name, concat(u8(KIND_TEXT), fromHex(messageId), utf8(text)));
  }

  /** Offers a file to the group `name` (§15.2: the same offer bytes as pairwise); what sendText answers. */
  async sendFileOffer(messenger, name, offer, messageId = newMessageId()) {
    const plaintext = encodeFileOffer(messageId, offer);
    try { return await this.sendPlaintext(messenger, name, plaintext); } finally { plaintext.fill(0); } // it holds the file's key
  }

  async sendPlaintext(messenger, name, plaintext) {
    for (let attempt = 1; ; attempt++) {
      const group = await this.current(messenger, name);
      const { keyId, distribution, toTell, rotated, version } = await this.prepareKey(group.id);
      const unreachable = await this.distribute(messenger, group.id, keyId, distribution, toTell);
      const message = await this.device.serial(async () => {
        // Still the key for the membership it was chosen for: a change read while it was handed
        // out makes it stale (a removed member may hold it), so choose again.
        const now = this.s.groups[group.id];
        if (!now || now.stale || now.version !== version || now.own?.keyId !== keyId) return null;
        const { own, message: bytes } = await senderKey.encrypt(now.own, plaintext);
        now.own = own;
        // Saved before it leaves: a reload never brings the chain back to a key already used.
        await this.device.save();
        return bytes;
      });
      if (message === null) {
        if (attempt >= SEND_ATTEMPTS) throw new E2eError('StaleGroupVersion', "the group's membership kept changing while sending; nothing was sent, try again");
        continue;
      }
      try {
        const result = await messenger.groupSend(name, version, message);
        return { group: result.group, recipients: result.recipients, rotated, unreachable };
      } catch (e) {
        if (e.code !== 'stale_group_version' || attempt >= SEND_ATTEMPTS) throw e;
        const g = this.s.groups[group.id];
        if (g) g.askBeforeSend = true;
      }
    }
  }

  async current(messenger, name) {
    const known = this.byName(name);
    if (known?.membersKnown && !known.askBeforeSend) return known;
    const info = await messenger.groupMembers(name);
    if (info?.group !== name) throw new E2eError('MalformedData', 'the server answered for another group');
    const group = await this.learn(info);
    if (!group) throw new E2eError('NotAMember', 'you are not a member of this group');
    return group;
  }

  /**
   * This device's key for the group, renewed when stale; the members that do not hold it yet; and
   * its distribution taken now, in the queue, at the iteration the next message will use (a send
   * running beside this one can only move the chain on from there, never back).
   */
  prepareKey(groupId) {
    return this.device.serial(async () => {
      const group = this.s.groups[groupId];
      if (!group) throw new E2eError('UnknownGroup', 'this device is no longer in the group');
      let rotated = false;
      if (!group.own || group.stale) {
        group.own = await senderKey.generate(fromHex(group.id));
        group.hasOurKey = [];
        group.stale = false;
        rotated = true;
        await this.device.save();
      }
      const toTell = group.members.filter(m => !group.hasOurKey.includes(m));
      return { keyId: group.own.keyId, distribution: toTell.length ? senderKey.distribution(group.own) : null, toTell, rotated, version: group.version };
    });
  }

  /** Hands the key to every device of each member named (our own other devices too) over the pairwise sessions. */
  async distribute(messenger, groupId, keyId, distribution, members) {
    const unreachable = [];
    if (members.length === 0) return unreachable;
    const payload = concat(u8(KIND_SENDER_KEY), fromHex(newMessageId()), distribution);
    distribution.fill(0);
    try {
      for (const member of members) {
        try {
          const sent = await this.device.sendPayload(messenger, member, payload, { copyToOwnDevices: false });
          if (sent.devices === 0 && member !== this.user) {
            // Not recorded as holding the key: the next send tries again, and a first device gets it then.
            unreachable.push(member);
            continue;
          }
        } catch (e) {
          // Not until the user trusts the new identity: that member cannot read this key's messages.
          if (e.code !== 'IdentityChanged') throw e;
          unreachable.push(member);
          continue;
        }
        const group = this.s.groups[groupId];
        if (group?.own?.keyId === keyId && !group.hasOurKey.includes(member)) group.hasOurKey.push(member);
      }
      await this.device.serial(() => this.device.save());
    } finally {
      payload.fill(0);
    }
    return unreachable;
  }

  // ── receiving ──

  /** A kind-5 payload that came over the pairwise session with (from, fromDevice): true when its key was stored. */
  takeSenderKey(from, fromDevice, body) {
    return this.device.serial(async () => {
      let received;
      try { received = senderKey.fromDistribution(body); } catch { return false; }
      const groupId = hex(received.groupId);
      const group = this.s.groups[groupId];
      // A group we know with a sender who is not a member (any more): not kept.
      if (group?.membersKnown && !group.members.includes(from)) return false;
      const key = slot(groupId, from, fromDevice);
      const entry = (this.s.senderKeys[key] ??= { keys: [], at: 0 });
      if (entry.keys.some(k => k.keyId === received.keyId)) return false;
      entry.keys.push(received);
      entry.keys.splice(0, Math.max(0, entry.keys.length - KEYS_PER_SENDER_DEVICE));
      entry.at = ++this.s.senderKeysStored;
      this.bound(key);
      // A group held only in part (joined by a notice naming only us): the server's list would vouch for its members.
      if (group && !group.membersKnown && !group.members.includes(from)) this.requests.wantMembers(groupId);
      await this.device.save();
      return true;
    });
  }

  // ── asking for a key, and answering (§14.3) ──

  /** A pairwise group payload from (from, fromDevice): a sender key is stored, a request for ours queued; true when taken. */
  takeGroupPayload(from, fromDevice, plaintext) {
    const request = decodeKeyRequest(plaintext);
    if (request) return this.takeKeyRequest({ ...request, user: from, device: fromDevice });
    if (!isSenderKeyPayload(plaintext)) return Promise.resolve(false);
    return this.takeSenderKey(from, fromDevice, distributionIn(plaintext));
  }

  /**
   * Queued only when the asker is a member and asks for the key this device sends with now (checked
   * again before answering). Not while this device may have missed a change (membership not known):
   * its next message makes a new key, which goes to every device of every member then.
   */
  takeKeyRequest(w) {
    return this.device.serial(async () => !!w.device && this.canHaveOurKey(w) && this.requests.wantAnswer(w));
  }

  canHaveOurKey(w) {
    const group = this.s.groups[w.groupId];
    return !!group && group.membersKnown && group.members.includes(w.user) && !!group.own && !group.stale && group.own.keyId === w.keyId;
  }

  get hasKeyWork() { return this.requests.hasWork; }

  /**
   * Sends the requests and answers this device owes, each to one device; the number sent. What is
   * refused (or meets a changed identity) is dropped; what a lost connection cut off is put back for
   * the next one, and the error thrown.
   */
  async sendKeyRequests(messenger) {
    const lists = this.requests.takeMemberLists(), asks = this.requests.takeAsks(), answers = this.requests.takeAnswers();
    let sent = 0;
    try {
      while (asks.length) {
        const w = asks[0];
        if (await this.sendToDevice(messenger, w, encodeKeyRequest(fromHex(w.groupId), w.keyId, newMessageId()))) { sent++; this.keyRequestsSent.asks++; } else this.requests.askNotSent(w);
        asks.shift();
      }
      while (answers.length) {
        const w = answers[0];
        const payload = await this.answerFor(messenger, w);
        if (payload) {
          try {
            if (await this.sendToDevice(messenger, w, payload)) { sent++; this.keyRequestsSent.answers++; } else this.requests.answerNotSent(w);
          } finally {
            payload.fill(0);
          }
        }
        answers.shift();
      }
      // Last: a server slow to list members holds up no request or answer.
      while (lists.length) {
        await this.vouchForMembers(messenger, lists[0]);
        lists.shift();
      }
    } catch (e) {
      this.requests.putBackMemberLists(lists);
      this.requests.putBackAsks(asks);
      this.requests.putBackAnswers(answers);
      throw e;
    }
    return sent;
  }

  /**
   * The server's member list of a group held only in part, added to the names that vouch for keys.
   * The group stays not known for judging senders (rows still waiting were decided under earlier
   * memberships); the next send asks again.
   */
  async vouchForMembers(messenger, groupId) {
    const group = this.s.groups[groupId];
    if (!group || group.membersKnown) return;
    let info;
    try { info = await messenger.groupMembers(group.name); } catch (e) { if (connectionLost(e)) throw e; return; }
    if (info?.groupId !== groupId || !Array.isArray(info.members) || !info.members.every(isCanonical) || !info.members.includes(this.user)) return;
    await this.device.serial(async () => {
      const g = this.s.groups[groupId];
      // Not a list older than what the notices have told since (a removal read meanwhile must not be undone).
      if (!g || g.membersKnown || !(info.version >= g.version)) return;
      g.members = [...new Set([...g.members, ...info.members])].sort();
      await this.device.save();
    });
  }

  /**
   * Our current key's distribution for the asker, or null when it may not have it now (not a member,
   * or the key is stale or another one). A group marked at login to be asked about is asked first.
   */
  async answerFor(messenger, w) {
    const group = this.s.groups[w.groupId];
    if (!group) return null;
    if (group.askBeforeSend) {
      try { await this.current(messenger, group.name); } catch (e) { if (connectionLost(e)) throw e; return null; }
    }
    return this.device.serial(async () => {
      if (!this.canHaveOurKey(w)) return null;
      const g = this.s.groups[w.groupId];
      const distribution = senderKey.distribution(g.own);
      const payload = concat(u8(KIND_SENDER_KEY), fromHex(newMessageId()), distribution);
      distribution.fill(0);
      return payload;
    });
  }

  /** True when sent; false when refused, meeting a changed identity or failing otherwise (dropped). A lost connection throws. */
  async sendToDevice(messenger, w, payload) {
    try {
      return (await this.device.sendPayloadToDevice(messenger, w.user, w.device, payload)).devices > 0;
    } catch (e) {
      if (connectionLost(e)) throw e;
      console.warn(`a sender key request or answer was not sent: ${e?.code ?? 'error'}`);
      return false;
    }
  }

  /**
   * Keeps §14.3's bounds on received keys, as Parley.Client's E2eGroups does; never drops `justStored`
   * (the slot a key was just stored in) to make room. One pass, names split once: this runs for every
   * key stored and every message read.
   */
  bound(justStored = null) {
    const all = Object.entries(this.s.senderKeys).map(([key, entry]) => {
      const [groupId, user] = key.split('/');
      return { key, entry, groupId, user };
    });
    const lists = new Map();
    const vouched = e => {
      const group = this.s.groups[e.groupId];
      if (!group) return false;
      if (!lists.has(e.groupId)) lists.set(e.groupId, new Set(group.members));
      return lists.get(e.groupId).has(e.user);
    };
    const count = list => list.reduce((n, e) => n + e.entry.keys.length, 0);
    const oldest = list => list.reduce((a, b) => (b.entry.at < a.entry.at ? b : a));
    const drop = e => { delete this.s.senderKeys[e.key]; all.splice(all.indexOf(e), 1); };
    // Groups we do not know: anyone can hand us keys for made-up ones, so they keep 64 at most.
    const unknown = all.filter(e => !this.s.groups[e.groupId]);
    let unknownKeys = count(unknown);
    while (unknownKeys > MAX_KEYS_FOR_UNKNOWN_GROUPS) {
      const victim = oldest(unknown);
      unknown.splice(unknown.indexOf(victim), 1);
      unknownKeys -= victim.entry.keys.length;
      drop(victim);
    }
    // Past the bound in all: first the oldest keys no member list vouches for (a group we do not know,
    // or a sender the list we hold does not name), so a flood from anyone who knows a group's id never
    // pushes out a member's key; else the oldest of the sender holding most, so one member's many
    // devices push out only their own.
    // The slot just stored is spared when its group is one we are in (a key of a group held only in
    // part is not dropped as it comes); a key for a group we do not know never is. Ties between
    // senders holding most: the one whose oldest slot is oldest, as in Parley.Client.
    const spare = justStored !== null && !!this.s.groups[justStored.split('/')[0]];
    let total = count(all);
    while (total > MAX_RECEIVED_KEYS) {
      const others = all.filter(e => !spare || e.key !== justStored);
      const unvouched = others.filter(e => !vouched(e));
      let victim;
      if (unvouched.length) {
        victim = oldest(unvouched);
      } else {
        const held = new Map();
        for (const e of others) {
          const h = held.get(e.user) ?? { keys: 0, oldest: Infinity };
          held.set(e.user, { keys: h.keys + e.entry.keys.length, oldest: Math.min(h.oldest, e.entry.at) });
        }
        const heaviest = [...held].reduce((a, b) => (b[1].keys > a[1].keys || (b[1].keys === a[1].keys && b[1].oldest < a[1].oldest) ? b : a))[0];
        victim = oldest(others.filter(e => e.user === heaviest));
      }
      total -= victim.entry.keys.length;
      drop(victim);
    }
    let excess = all.reduce((n, e) => n + e.entry.keys.reduce((k, key) => k + key.skipped.length, 0), 0) - MAX_SKIPPED_KEYS_IN_ALL;
    while (excess > 0) {
      const largest = all.flatMap(e => e.entry.keys).reduce((a, b) => (b.skipped.length > a.skipped.length ? b : a));
      const dropped = Math.min(excess, largest.skipped.length);
      for (const k of largest.skipped.splice(0, dropped)) k.key.fill(0);
      excess -= dropped;
    }
  }

  /**
   * A group message row: {group, text, messageId} or {group, offer, messageId} (a file offer's bytes), or {group, error,
   * reason}; our own device's copy is {own: true}. A message that cannot be read changes nothing.
   */
  receiveMessage(m) {
    return this.device.serial(async () => {
      if (m.from === this.user && m.fromDevice === this.s.deviceId) return { own: true };
      let parsed;
      try { parsed = senderKey.parseMessage(m.bodyBytes); } catch (e) { return { group: '', error: e.code ?? 'MalformedData', reason: e.message }; }
      const group = this.s.groups[hex(parsed.groupId)];
      if (!group) return { group: '', error: 'UnknownGroup', reason: 'a message for a group this device does not know' };
      if (group.membersKnown && !group.members.includes(m.from)) {
        return { group: group.name, error: 'NotAMember', reason: 'its sender is not a member of the group' };
      }
      const entry = this.s.senderKeys[slot(group.id, m.from, m.fromDevice ?? '')];
      const index = entry ? entry.keys.findIndex(k => k.keyId === parsed.keyId) : -1;
      if (index < 0) {
        // Asked of the sending device alone (§14.3): a device new to the group reads what that device sends next.
        const keyAsk = m.fromDevice ? this.requests.wantAsk({ groupId: group.id, user: m.from, device: m.fromDevice, keyId: parsed.keyId }) : 'notAsked';
        return { group: group.name, error: 'NoSenderKey', keyAsk, keyRequested: keyAsk === 'asked', reason: 'no sender key from this device for it (sent before you joined, or the key has not reached this device)' };
      }
      let opened;
      try { opened = await senderKey.decrypt(entry.keys[index], m.bodyBytes); } catch (e) { return { group: group.name, error: e.code ?? 'DecryptionFailed', reason: e.message }; }
      entry.keys[index] = opened.key;
      this.bound();
      await this.device.save();
      const p = opened.plaintext;
      if (p.length < 1 + ID_LENGTH) return { group: group.name, error: 'MalformedData', reason: 'the decrypted group message is too short' };
      const messageId = hex(p.subarray(1, 1 + ID_LENGTH));
      if (p[0] === KIND_FILE_OFFER) return { group: group.name, offer: p.slice(1 + ID_LENGTH), messageId };
      if (p[0] !== KIND_TEXT) return { group: group.name, error: 'MalformedData', reason: 'the decrypted group message is not a text this client knows' };
      try {
        return { group: group.name, text: fromUtf8(p.subarray(1 + ID_LENGTH)), messageId };
      } catch {
        return { group: group.name, error: 'MalformedData', reason: 'the decrypted group message is not valid UTF-8' };
      }
    });
  }

  /** After leaving (or being told we were removed): nothing of the group is kept. */
  forget(name) {
    return this.device.serial(async () => {
      const group = this.byName(name);
      if (group) { this.drop(group.id); await this.device.save(); }
    });
  }
}

/** Whether a pairwise payload's bytes are a sender key distribution (kind 5). */
export function isSenderKeyPayload(plaintext) { return plaintext.length > 1 + ID_LENGTH && plaintext[0] === KIND_SENDER_KEY; }

/** The distribution inside a kind-5 payload. */
export function distributionIn(plaintext) { return plaintext.subarray(1 + ID_LENGTH); }
