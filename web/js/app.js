// The page: log in or register, the server-key question, contacts with online state and unread
// counts, conversations with each message's state (sent or queued, delivered, read: the contact's
// end-to-end receipts, PROTOCOL.md §13.11), safety numbers, and a connection that comes back by itself. Everything
// a server or another user chose (names, texts, reasons) reaches the page through textContent
// only, after sanitize(): never as HTML.
import { SecureChannel } from './channel.js';
import { Messenger } from './messenger.js';
import { fromBase64, equal } from './bytes.js';
import { E2eDevice, CONTENT_TYPE } from './e2e/device.js';
import { GroupView, isGroupConversation, GROUP_CONTENT_TYPE } from './group-view.js';
import { FileView } from './file-view.js';
import { isCanonical } from './e2e/groups.js';
import { formatSafetyNumber } from './e2e/safety.js';
import { newMessageId, RECEIPT_DELIVERED, RECEIPT_READ, MAX_RECEIPT_IDS } from './e2e/payload.js';
import * as store from './store.js';
import { ConversationHistory, PAGE } from './history.js';
import { HistoryBudget } from './history-budget.js';

const $ = id => document.getElementById(id);
/** Only for a server from before join and leave notices (PROTOCOL.md §11.6): how often `list` is asked instead. */
const POLL_ONLINE_MS = 5000;
const MAX_WATCHED = 256;
const RECONNECT_MAX_MS = 15000;
/** Receipt ids waiting to be sent at most; beyond it the oldest are dropped (receipts are best effort). */
const MAX_PENDING_RECEIPTS = 1000;
/** How far each state of a sent message is: a receipt only moves it forward. */
const RANK = { failed: -1, sending: 0, queued: 1, sent: 1, delivered: 2, read: 3 };
/**
 * What the page keeps (whoever can write to us can add messages; a save seals only the pages that
 * changed, history.js): 1,000 conversations, and of their messages what HistoryBudget allows
 * (history-budget.js: 5,000 a conversation, and a budget in characters over all of them).
 */
const MAX_CONVERSATIONS = 1000;
/** The last millisecond a Date can hold: a server's timestamp past it is replaced by the time of arrival. */
const MAX_TIME = 8.64e15;

/** Controls replaced, format characters removed, length bounded: what may be shown of an untrusted string. */
export function sanitize(text, max = 4096) {
  return String(text).replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '\uFFFD').replace(/[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g, '').slice(0, max);
}

const app = {
  user: null, password: null, fingerprint: null, messenger: null, device: null, account: null,
  contacts: new Map(), active: null, online: new Set(), closing: false, retry: 0, pollTimer: null, reconnectTimer: null, connected: false,
  readReceipts: true, receiptQueue: [], receiptTimer: null, watchTimer: null, presenceUnsupported: false,
  history: null, dirty: new Map(),
};
/** What the conversations hold of messages, over all of them (history-budget.js). */
app.budget = new HistoryBudget(app.contacts);
const groups = new GroupView({ app, contact, addMessage, sanitize, banner, $, act, open: name => openConversation(name), offered: (...a) => files.offered(...a) });
const files = new FileView({
  app, groups, sanitize, contact, addMessage, isGroupConversation, save: (...entries) => saveChanged(entries),
  render: conversation => { if (app.active === conversation) renderMessages(); },
  conversationOf: entry => [...app.contacts.values()].find(c => c.messages.includes(entry))?.name,
});
window.parley = { app, groups, files }; // for the browser tests' assertions on state (never used by the page itself)

// ── Banner ──

function banner(text, ok = false) {
  const b = $('banner');
  if (!text) { b.hidden = true; return; }
  b.textContent = text;
  b.classList.toggle('ok', ok);
  b.hidden = false;
}

// ── Trust on first use of the server key (PROTOCOL.md §9.3) ──

async function trustServer(identity) {
  const name = `host:${location.host}`;
  const pinned = await store.get(name);
  if (pinned) {
    if (pinned.algorithm === identity.algorithm && equal(pinned.key, identity.key)) return remember(identity);
    throw new Error(`WARNING: THE SERVER KEY HAS CHANGED. It is now ${identity.algorithm} ${identity.fingerprint}. ` +
      'Someone could be in the middle. If the server really got a new key, clear this site\'s data to trust it again.');
  }
  $('trust-algorithm').textContent = identity.algorithm;
  $('trust-fingerprint').textContent = identity.fingerprint;
  $('trust-dialog').hidden = false;
  const yes = await new Promise(resolve => {
    $('trust-yes').onclick = () => resolve(true);
    $('trust-no').onclick = () => resolve(false);
  });
  $('trust-dialog').hidden = true;
  if (!yes) return false;
  await store.put(name, { algorithm: identity.algorithm, key: identity.key });
  return remember(identity);
}

function remember(identity) { app.fingerprint = identity.fingerprint; return true; }

// ── Connecting and logging in ──

function socketUrl() { return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`; }

async function connect() {
  let trustError = null;
  const channel = await SecureChannel.connect(socketUrl(), identity => trustServer(identity).catch(e => { trustError = e; return false; }))
    .catch(e => { throw trustError ?? e; });
  const messenger = new Messenger(channel);
  let ready, notReady;
  const deviceReady = new Promise((resolve, reject) => { ready = resolve; notReady = reject; });
  deviceReady.catch(() => {});
  messenger.onMessage = async m => {
    await deviceReady;
    // A row still queued on a connection that has since been replaced is not handled (nor acknowledged): the new one brings it again.
    if (messenger !== app.messenger) throw new Error('the connection was replaced');
    // The server's numbers are checked before they steer anything: an id past every real one would
    // make every later row look seen, and a time outside the calendar would stop the drawing.
    if (!Number.isSafeInteger(m.messageId) || m.messageId < 1) throw new Error('a message id that is not a whole number');
    if (!Number.isSafeInteger(m.timestamp) || m.timestamp < 0 || m.timestamp > MAX_TIME) m.timestamp = Date.now();
    await receive(m);
  };
  messenger.onPresence = (user, online) => {
    if (messenger !== app.messenger) return;
    // Only the contacts this page watches: a notice about anyone else grows nothing.
    if (!app.contacts.has(user) || isGroupConversation(user)) return;
    if (online) app.online.add(user); else app.online.delete(user);
    renderContacts();
    renderConversationHeader();
  };
  messenger.onError = e => { if (e.code === 'logged_in_elsewhere' || e.code === 'device_revoked') app.closing = true; banner(sanitize(e.message, 200)); };
  channel.onClose = error => onDisconnected(messenger, error);

  try {
    return await loginAndLoad(messenger, ready);
  } catch (e) {
    // Nothing of a connection that did not finish its login stays: no socket left open behind a
    // reconnection, and no row waiting forever on a device that was never made ready.
    notReady(e);
    if (app.messenger === messenger) { app.messenger = null; app.connected = false; }
    await messenger.close().catch(() => {});
    throw e;
  }
}

/** Logs in on `messenger`, then loads what this user's page holds and readies the device; `ready` lets rows through. */
async function loginAndLoad(messenger, ready) {
  const accountName = `account:${app.fingerprint}:${app.user}`;
  let account = (await store.get(accountName)) ?? {};
  let result = await messenger.login(app.user, account.deviceToken ? { deviceToken: account.deviceToken } : { password: app.password ?? '' });
  if (!result.success && result.code === 'invalid_token' && app.password) {
    account = {};
    await store.put(accountName, account);
    result = await messenger.login(app.user, { password: app.password });
  }
  if (!result.success) {
    if (result.code === 'invalid_token') { await store.put(accountName, {}); }
    app.closing = true;
    await messenger.close().catch(() => {});
    throw new Error(sanitize(result.error ?? result.code ?? 'login failed', 300));
  }
  if (result.user !== app.user) {
    // The server says who logged in; only the name asked for may open this browser's records of it.
    app.closing = true;
    throw new Error(`The server logged this page in as "${sanitize(result.user, 64)}", not "${app.user}": nothing was opened. The server may be misbehaving.`);
  }
  if (result.deviceToken) account.deviceToken = result.deviceToken;
  if (account.accountId !== result.accountId) account.lastSeen = 0; // another account (a reset database): ids restart
  account.accountId = result.accountId;
  account.deviceId = result.deviceId;
  account.registered = !!result.registered;
  await store.put(accountName, account);
  await store.put('last-login', { user: app.user });
  app.settingsName = `settings:${app.fingerprint}:${app.user}`;
  app.readReceipts = ((await store.get(app.settingsName)) ?? {}).readReceipts !== false;
  $('read-receipts').checked = app.readReceipts;
  app.account = account;
  app.accountName = accountName;
  app.messenger = messenger;
  app.password = null; // the device token logs in from now on
  const historyOf = `${app.fingerprint}:${app.user}`;
  if (app.historyOf !== historyOf) {
    // Another user than the one this page loaded (a login that failed after loading, then another
    // name typed): nothing of the first stays in view, and none of its work goes on as the second.
    if (app.historyOf) {
      app.active = null;
      app.receiptQueue = [];
      app.online.clear();
      files.drop();
      app.device = null;
    }
    // Before any message is let through below, so none is lost to the loading.
    await loadHistory();
    files.settle(app.contacts);
    app.historyOf = historyOf;
  }
  const deviceRecord = `device:${app.fingerprint}:${app.user}`;
  // One device object for as long as the page lives: a second copy of its state, loaded while a
  // send on the old connection was still running, could take a message key the first one used.
  if (app.device?.recordName !== deviceRecord || app.device.s.deviceId !== result.deviceId) {
    app.device = await E2eDevice.open(deviceRecord, app.user, result.deviceId);
    groups.attach(app.device);
  }
  await app.device.publishOrReplenish(messenger);
  try {
    // Before any row is let through: a group row needs the membership this device knows.
    await groups.load(messenger);
  } catch (e) {
    banner(`Groups could not be loaded (${sanitize(e.code ?? e.message, 80)}); their messages may not open until the next login.`);
  }
  ready();
  app.connected = true;
  app.retry = 0;
  return result;
}

async function onDisconnected(messenger, error) {
  // Requests still waiting on this connection fail now, not after their 30 s: the device's queue must not wait on them.
  messenger.abandon(error?.error ?? 'closed');
  if (messenger !== app.messenger) return;
  app.connected = false;
  app.messenger = null;
  clearInterval(app.pollTimer);
  app.online.clear();
  renderContacts();
  renderConversationHeader();
  if (app.closing) return;
  scheduleReconnect(`Connection lost (${sanitize(error?.error ?? 'closed', 60)}).`);
}

function scheduleReconnect(why) {
  const delay = Math.min(RECONNECT_MAX_MS, 500 * 2 ** app.retry++);
  banner(`${why} Reconnecting in ${Math.ceil(delay / 1000)} s…`);
  clearTimeout(app.reconnectTimer);
  app.reconnectTimer = setTimeout(async () => {
    try {
      await connect();
      banner('Reconnected.', true);
      setTimeout(() => { if (app.connected) banner(null); }, 1500);
      await startSession();
    } catch (e) {
      if (app.closing) { banner(sanitize(e.message, 300)); return; }
      scheduleReconnect(`Could not reconnect (${sanitize(e.error ?? e.message, 80)}).`);
    }
  }, delay);
}

async function startSession() {
  $('login-view').hidden = true;
  $('chat-view').hidden = false;
  $('me').textContent = app.user;
  clearInterval(app.pollTimer);
  await watchContacts();
  renderConversationHeader();
  scheduleReceipts();
  groups.scheduleKeyWork(); // sender key requests and answers a lost connection cut off
  files.resume(); // uploads a lost connection cut off
}

/**
 * Asks for join and leave notices of every contact (anyone in the history, written to or opened),
 * which also says who of them is online now. A server without them gets the old `list` poll.
 */
async function watchContacts() {
  app.watchTimer = null;
  if (!app.messenger) return;
  if (app.presenceUnsupported) { await pollOnline(); return; }
  const names = [...app.contacts.keys()].filter(n => n !== app.user && !isGroupConversation(n)).slice(-MAX_WATCHED);
  try {
    const online = await app.messenger.watchPresence(names);
    app.online = new Set(online.filter(u => names.includes(u)));
    renderContacts();
    renderConversationHeader();
  } catch (e) {
    if (e.code === 'bad_request') {
      app.presenceUnsupported = true;
      await pollOnline();
      clearInterval(app.pollTimer);
      app.pollTimer = setInterval(pollOnline, POLL_ONLINE_MS);
    }
    // Otherwise the connection's own failure shows in the banner; notices are a comfort, not a duty.
  }
}

/** A new contact: watched with the others, once whatever else is added right now is in. */
function scheduleWatch() {
  if (!app.watchTimer && app.messenger && !app.presenceUnsupported) app.watchTimer = setTimeout(watchContacts, 0);
}

async function pollOnline() {
  if (!app.messenger) return;
  try {
    const users = (await app.messenger.list()).filter(u => typeof u === 'string' && isCanonical(u));
    app.online = new Set(users);
    for (const u of users) if (u !== app.user) contact(u);
    renderContacts();
    renderConversationHeader();
  } catch { /* the connection's own failure shows in the banner */ }
}

// ── Conversations (kept sealed in IndexedDB) ──

/**
 * The conversation `name`, made if new. Whoever asks for it may add messages to it or change what
 * the index holds of it (unread, left), so the next save looks at its end and its index entry; a
 * message changed in place is marked with touched().
 */
function contact(name) {
  if (!app.dirty.has(name)) app.dirty.set(name, new Set());
  let c = app.contacts.get(name);
  if (!c) {
    c = { name, unread: 0, messages: [] };
    app.contacts.set(name, c);
    if (app.contacts.size > MAX_CONVERSATIONS) forgetQuietestConversation(name);
    scheduleWatch();
  }
  return c;
}

/** Past MAX_CONVERSATIONS, the conversation whose last message is oldest goes (never the open one, nor the one just made). */
function forgetQuietestConversation(keep) {
  let quietest = null, oldest = Infinity;
  for (const c of app.contacts.values()) {
    const last = c.messages.at(-1)?.time ?? 0;
    if (c.name !== app.active && c.name !== keep && last < oldest) { quietest = c; oldest = last; }
  }
  if (quietest) {
    app.contacts.delete(quietest.name);
    app.budget.forgotten(quietest);
  }
}

/**
 * A message added to a conversation. The page's bounds may take the oldest messages of it or of the
 * conversation costing most (`base` counts those dropped, so pages stay where they are); each such
 * conversation is looked at by the next save, which rewrites its first page and deletes those it no longer has.
 */
function addMessage(c, entry) {
  for (const d of app.budget.add(c, entry)) {
    lostOldest(d);
    // The caller draws its own conversation; the open one, when it is another, is drawn here.
    if (d !== c && d.name === app.active) renderMessages();
  }
}

function lostOldest(c) {
  if (!app.dirty.has(c.name)) app.dirty.set(c.name, new Set());
}

async function loadHistory() {
  app.contacts.clear();
  app.dirty = new Map();
  app.history = new ConversationHistory(`${app.fingerprint}:${app.user}`);
  const { contacts, migrated } = await app.history.load();
  for (const [name, c] of contacts) app.contacts.set(name, c);
  // A history saved under other bounds (an older page, or one that held more) comes within these.
  app.budget = new HistoryBudget(app.contacts);
  for (const c of app.budget.withinBudget()) lostOldest(c);
  // A history saved as one record goes into pages now, all of it; if that fails (the disk is full:
  // for a moment both forms are stored), the old record stays and the next save tries again.
  if (migrated) await saveHistory(true).catch(e => banner(`The history could not be saved in its new form (${sanitize(e.message, 120)}); it is kept as it was.`));
}

/**
 * Saves the conversations that may have changed since the last save (every one asked for through
 * contact(), marked by touched(), or whose ends moved), or every page of all of them with `all`:
 * only for a history read in its older form, which has no pages yet.
 */
async function saveHistory(all = false, also = []) {
  const dirty = all ? null : app.dirty;
  app.dirty = new Map();
  try {
    // A copy of the map: a save whose turn comes after another user logged in on this page still saves the first user's conversations.
    await app.history.save(new Map(app.contacts), dirty, also);
  } catch (e) {
    // Looked at again, every page of them, by the next save.
    for (const name of dirty?.keys() ?? app.contacts.keys()) app.dirty.set(name, null);
    throw e;
  }
}

/** Messages changed in place by the file transfers: the pages that hold them are saved (and the ends of every conversation, as always). */
function saveChanged(entries) {
  for (const entry of entries) {
    const c = [...app.contacts.values()].find(c => c.messages.includes(entry));
    if (c) touched(c, entry);
  }
  return saveHistory();
}

/** Message `entry` of `c` changed in place (a receipt, a send's outcome, read): the next save looks at its page; without an entry, at all of them. */
function touched(c, entry) {
  if (entry) app.budget.changed(entry);
  const at = entry ? c.messages.indexOf(entry) : -1;
  const pages = app.dirty.has(c.name) ? app.dirty.get(c.name) : new Set();
  // A message the page's bounds dropped meanwhile is in no page any more: nothing of it to save.
  if (entry && at < 0) { if (!app.dirty.has(c.name)) app.dirty.set(c.name, pages); return; }
  if (at < 0 || pages === null) { app.dirty.set(c.name, null); return; }
  pages.add(Math.floor(((c.base ?? 0) + at) / PAGE));
  app.dirty.set(c.name, pages);
}

/**
 * The first message from a device we had not seen, of someone whose other devices we know (or of our
 * own account): said in that conversation, as on a send, so a device the server added is never silent.
 */
function noteNewDevice(m) {
  const own = m.from === app.user;
  const text = own
    ? `Your account has a new device (${sanitize(m.fromDevice, 32)}): if it is not yours, revoke it ('parley devices revoke ${sanitize(m.fromDevice, 32)}')`
    : `${sanitize(m.from, 64)} has a new device (${sanitize(m.fromDevice, 32)}); compare safety numbers`;
  // Kept in the history and counted unread, so it is seen even if it came with the backlog or while away.
  const c = contact(m.from);
  addMessage(c, { dir: 'notice', time: m.timestamp, text });
  if (app.active !== m.from || document.hidden) c.unread += 1;
  if (own) banner(text);
}

async function receive(m) {
  if (m.messageId <= (app.account.lastSeen ?? 0)) return; // seen before (a redelivery): acknowledge again, show nothing
  if (!isCanonical(m.from)) {
    // No account has such a name (§11.4): a forged row, which must not pose as a group ('#name') or anyone else.
    console.warn('a message from a name no account can have was dropped');
    app.account.lastSeen = m.messageId;
    await store.put(app.accountName, app.account);
    return;
  }
  let entry;
  let conversation = m.from;
  const from = sanitize(m.from, 64);
  if (m.contentType === CONTENT_TYPE) {
    let body;
    try { body = fromBase64(m.body ?? ''); } catch { body = new Uint8Array(0); }
    const opened = await app.device.open({ ...m, bodyBytes: body });
    if (opened.fromNewDevice) noteNewDevice(m);
    if (opened.receipt) {
      applyReceipt(m.from, opened.receipt);
      app.account.lastSeen = m.messageId;
      await saveHistory(false, [[app.accountName, app.account]]);
      renderContacts();
      if (app.active) renderMessages();
      return;
    }
    if (opened.groupPayload) {
      // A member's sender key for a group, or a request for ours (§14.3): nothing to show.
      await groups.takeGroupPayload(m, opened);
      if (opened.fromNewDevice) await saveHistory();
      app.account.lastSeen = m.messageId;
      await store.put(app.accountName, app.account);
      if (opened.fromNewDevice) { renderContacts(); if (app.active === m.from) renderMessages(); }
      return;
    }
    entry = opened.text !== undefined
      ? { dir: 'in', text: opened.text, broadcast: opened.broadcast, time: m.timestamp, id: m.messageId, messageId: opened.id }
      : opened.offer
      ? files.offered(m.from, opened.offer, { time: m.timestamp, id: m.messageId, messageId: opened.id })
      : { dir: 'in', failed: true, text: `A message from ${from} could not be read: ${opened.error} (${opened.reason})`, time: m.timestamp, id: m.messageId };
  } else if (m.contentType.startsWith(GROUP_CONTENT_TYPE)) {
    // Group messages and membership notices (PROTOCOL.md §11.7, §14); an invitation only fills the list of invitations.
    let body;
    try { body = fromBase64(m.body ?? ''); } catch { body = new Uint8Array(0); }
    const shown = await groups.receive({ ...m, bodyBytes: body });
    if (!shown) {
      app.account.lastSeen = m.messageId;
      await store.put(app.accountName, app.account);
      renderContacts();
      return;
    }
    conversation = shown.conversation;
    entry = shown.entry;
  } else {
    entry = { dir: 'in', failed: true, text: `A message from ${from} was not end-to-end encrypted and is not shown.`, time: m.timestamp, id: m.messageId };
  }
  const c = contact(conversation);
  addMessage(c, entry);
  entry.seen = app.active === conversation && !document.hidden;
  if (!entry.seen && entry.dir === 'in') c.unread += 1;
  // A text from someone else is owed a receipt (never a broadcast copy, a receipt or our own copy),
  // sent to its sender pairwise even for a group message (§14.4), batched per conversation:
  // "read" when its conversation is open on a visible page, else "delivered" and "read" later.
  if (entry.messageId && !entry.broadcast && entry.dir === 'in' && m.from !== app.user) {
    entry.receipted = entry.seen && app.readReceipts ? 'read' : 'delivered';
    owe(m.from, entry.receipted === 'read' ? RECEIPT_READ : RECEIPT_DELIVERED, entry.messageId, conversation);
  }
  app.account.lastSeen = m.messageId;
  // Stored before the acknowledgement goes out (Messenger acks when this resolves), with the
  // account's last message seen in the same transaction: a reload never shows it twice, nor loses it.
  await saveHistory(false, [[app.accountName, app.account]]);
  renderContacts();
  if (app.active === conversation) { renderConversationHeader(); renderMessages(); }
}

async function sendMessage(text) {
  const to = app.active;
  const c = contact(to);
  // The id is drawn (and kept with the entry) before sending: a receipt can come back before the send returns.
  const entry = { dir: 'out', text, time: Date.now(), status: 'sending', messageId: newMessageId() };
  addMessage(c, entry);
  renderMessages();
  try {
    if (!app.messenger) throw new Error('not connected');
    if (isGroupConversation(to)) {
      await groups.send(to, entry);
      // Marked again: a save while the send was out (another message, a click) took the first mark.
      touched(c, entry);
      await saveHistory();
      renderConversationHeader();
      renderMessages();
      return;
    }
    const sent = await app.device.sendText(app.messenger, to, text, entry.messageId);
    if (sent.devices === 0) {
      entry.status = 'failed';
      entry.note = `${to} has no device with end-to-end keys yet; nothing was sent`;
    } else {
      const state = sent.delivered ? 'sent' : 'queued';
      if (RANK[state] > RANK[entry.status]) entry.status = state;
      const notes = [
        ...sent.added.map(d => `${sanitize(d.user, 64)} has a new device (${sanitize(d.deviceId, 32)}): this message went to it too; compare safety numbers`),
        ...sent.removed.map(d => `${sanitize(d.user, 64)}'s device ${sanitize(d.deviceId, 32)} is gone (revoked or expired); it gets no more messages`),
      ];
      if (notes.length) entry.note = notes.join(' · ');
    }
  } catch (e) {
    entry.status = 'failed';
    entry.note = sanitize(e.message, 300);
  }
  // Marked again: a save while the send was out (another message, a click) took the first mark.
  touched(c, entry);
  await saveHistory();
  renderConversationHeader();
  renderMessages();
}

// ── Receipts (PROTOCOL.md §13.11) ──

/** A receipt from `from`: our messages to them move forward; from our own other device, what it read is read here too. */
function applyReceipt(from, receipt) {
  const ids = new Set(receipt.ids);
  if (from === app.user) {
    if (receipt.type !== RECEIPT_READ) return;
    for (const c of app.contacts.values()) {
      for (const e of c.messages) {
        if (e.dir === 'in' && ids.has(e.messageId) && e.seen === false) { e.seen = true; e.receipted = 'read'; c.unread = Math.max(0, c.unread - 1); touched(c, e); }
      }
    }
    return;
  }
  // With read receipts off, as in Signal, no one else's "read" is shown either.
  const state = receipt.type === RECEIPT_READ && app.readReceipts ? 'read' : 'delivered';
  const c = app.contacts.get(from);
  for (const e of c?.messages ?? []) {
    if (e.dir === 'out' && ids.has(e.messageId) && RANK[state] > RANK[e.status]) { e.status = state; touched(c, e); }
  }
  // A group message's receipts come from each member: kept per member, only from members now (ids
  // we never sent change nothing), so a receipt list never grows past the group's own bound.
  for (const g of app.contacts.values()) {
    if (!isGroupConversation(g.name) || !groups.isMember(g.name, from)) continue;
    for (const e of g.messages) {
      if (e.dir !== 'out' || !e.messageId || !ids.has(e.messageId)) continue;
      e.receipts ??= {};
      if (RANK[state] > RANK[e.receipts[from] ?? 'sent']) { e.receipts[from] = state; touched(g, e); }
    }
  }
}

function owe(to, type, id, conversation = to) {
  app.receiptQueue.push({ to, type, id, conversation });
  if (app.receiptQueue.length > MAX_PENDING_RECEIPTS) app.receiptQueue.splice(0, app.receiptQueue.length - MAX_PENDING_RECEIPTS);
  scheduleReceipts();
}

function scheduleReceipts() {
  if (!app.receiptTimer && app.receiptQueue.length) app.receiptTimer = setTimeout(flushReceipts, 0);
}

/** Sends what is owed, batched per contact and type (at most 100 ids each); a lost connection keeps the rest for the next. */
async function flushReceipts() {
  while (app.receiptQueue.length && app.messenger && app.device) {
    // One receipt names messages of one conversation only (§14.4): a group's or the 1:1 chat's.
    const { to, type, conversation } = app.receiptQueue[0];
    const batch = app.receiptQueue.filter(r => r.to === to && r.type === type && (r.conversation ?? r.to) === (conversation ?? to)).slice(0, MAX_RECEIPT_IDS);
    app.receiptQueue = app.receiptQueue.filter(r => !batch.includes(r));
    try {
      await app.device.sendReceipt(app.messenger, to, type, [...new Set(batch.map(r => r.id))]);
    } catch (e) {
      if (!app.messenger) { app.receiptQueue.unshift(...batch); break; }
      // Refused, or a changed identity: receipts are best effort, these are dropped.
    }
  }
  app.receiptTimer = null;
}

/** The conversation is open on a visible page: what came in is read, and "read" goes to whoever we had only said "delivered" to. */
function markRead(c) {
  c.unread = 0;
  for (const e of c.messages) {
    // Only what was not seen yet: a message seen while read receipts were off stays unreceipted as read.
    if (e.dir !== 'in' || e.seen !== false) continue;
    e.seen = true;
    touched(c, e);
    if (e.receipted === 'delivered' && app.readReceipts) {
      e.receipted = 'read';
      owe(e.from ?? c.name, RECEIPT_READ, e.messageId, c.name);
    }
  }
}

// ── Rendering (textContent only) ──

function renderContacts() {
  const list = $('contacts');
  list.replaceChildren();
  const names = [...app.contacts.keys()].sort((a, b) => (app.online.has(b) - app.online.has(a)) || (a < b ? -1 : 1));
  for (const name of names) {
    const c = app.contacts.get(name);
    const li = document.createElement('li');
    const group = isGroupConversation(name);
    if (group) li.dataset.group = name.slice(1); else li.dataset.user = name;
    li.classList.toggle('active', name === app.active);
    li.classList.toggle('left', !!c.left);
    const dot = document.createElement('span');
    dot.className = group ? 'dot group' : 'dot' + (app.online.has(name) ? ' online' : '');
    dot.title = group ? 'group' : app.online.has(name) ? 'online' : 'offline';
    const label = document.createElement('span');
    label.className = 'name';
    label.textContent = sanitize(name, 65);
    li.append(dot, label);
    if (c.unread > 0) {
      const badge = document.createElement('span');
      badge.className = 'unread';
      badge.textContent = String(c.unread);
      li.append(badge);
    }
    li.onclick = () => openConversation(name);
    list.append(li);
  }
}

function renderConversationHeader() {
  const name = app.active;
  const group = isGroupConversation(name) ? groups.header(name) : null;
  $('peer-name').textContent = name ? sanitize(name, 65) : 'No conversation';
  $('peer-status').textContent = !name ? '' : group ? sanitize(group.status, 300) : app.online.has(name) ? 'online' : 'offline';
  $('safety-button').hidden = !!group;
  $('safety-button').disabled = !name;
  $('group-leave').hidden = !group?.member;
  $('group-admin-form').hidden = !group?.admin;
  const closed = !name || (group && !group.member);
  $('message-input').disabled = closed;
  $('send-button').disabled = closed;
  $('attach-button').disabled = closed;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dayFormat = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
function when(ms) {
  const d = new Date(Number.isFinite(ms) && Math.abs(ms) <= MAX_TIME ? ms : 0);
  return new Date().toDateString() === d.toDateString() ? timeFormat.format(d) : `${dayFormat.format(d)} ${timeFormat.format(d)}`;
}

const STATUS = { sending: 'sending…', sent: '✓ sent', queued: '✓ queued', delivered: '✓✓ delivered', read: '✓✓ read', failed: 'not sent' };

function renderMessages() {
  const list = $('messages');
  list.replaceChildren();
  const c = app.active ? app.contacts.get(app.active) : null;
  for (const m of c?.messages ?? []) {
    const li = document.createElement('li');
    li.className = `message ${m.dir}${m.failed || m.status === 'failed' ? ' failed' : ''}`;
    if (m.dir === 'in' && m.from && isGroupConversation(app.active)) {
      const from = document.createElement('span');
      from.className = 'from';
      from.textContent = sanitize(m.from, 64);
      li.append(from);
    }
    const text = document.createElement('span');
    text.className = 'text';
    text.textContent = sanitize(m.text);
    li.append(text);
    if (m.broadcast || m.note) {
      const note = document.createElement('span');
      note.className = 'note';
      note.textContent = m.note ?? 'broadcast';
      li.append(note);
    }
    const meta = document.createElement('span');
    meta.className = 'meta';
    const time = document.createElement('time');
    time.dateTime = new Date(Number.isFinite(m.time) && Math.abs(m.time) <= MAX_TIME ? m.time : 0).toISOString();
    time.textContent = when(m.time);
    meta.append(time);
    if (m.dir === 'out') {
      const status = document.createElement('span');
      status.className = 'status';
      status.dataset.status = m.status;
      status.textContent = ' · ' + (m.recipients !== undefined && m.status === 'sent' ? `✓ sent to ${m.recipients}` : STATUS[m.status]);
      meta.append(status);
      if (m.receipts) meta.append(receiptsLine(m.receipts));
    }
    li.append(meta);
    files.decorate(li, m);
    list.append(li);
  }
  list.scrollTop = list.scrollHeight;
}

/** Who of a group read or got our message: "read by bob · delivered to carol". */
function receiptsLine(receipts) {
  const by = state => Object.keys(receipts).filter(u => receipts[u] === state).sort().map(u => sanitize(u, 64)).join(', ');
  const line = document.createElement('span');
  line.className = 'receipts';
  line.textContent = [by('read') && ` · read by ${by('read')}`, by('delivered') && ` · delivered to ${by('delivered')}`].filter(Boolean).join('');
  return line;
}

function openConversation(name) {
  app.active = name;
  const c = contact(name);
  if (!document.hidden) markRead(c);
  $('chat-view').classList.add('in-conversation');
  renderContacts();
  renderConversationHeader();
  renderMessages();
  saveHistory().catch(() => {});
  $('message-input').focus();
}

async function showSafetyNumbers() {
  const peer = app.active;
  $('safety-peer').textContent = sanitize(peer, 64);
  const list = $('safety-numbers');
  list.replaceChildren();
  const numbers = await app.device.safetyNumbers(peer);
  if (numbers.length === 0) {
    const li = document.createElement('li');
    li.textContent = 'No device of this user is known yet: send or receive a message first.';
    list.append(li);
  }
  for (const n of numbers) {
    const li = document.createElement('li');
    const label = document.createElement('span');
    label.textContent = `Device ${sanitize(n.deviceId, 32)}${n.changed ? ' — presents a NEW identity key' : ''}`;
    const digits = document.createElement('span');
    digits.className = 'digits';
    digits.dataset.device = n.deviceId;
    digits.textContent = formatSafetyNumber(n.safetyNumber);
    li.append(label, digits);
    if (n.changed) {
      const accept = document.createElement('button');
      accept.type = 'button';
      accept.textContent = 'I compared it: trust the new key';
      accept.onclick = async () => { await app.device.trustNewIdentity(peer, n.deviceId); await showSafetyNumbers(); };
      li.append(accept);
    }
    list.append(li);
  }
  $('safety-dialog').hidden = false;
}

// ── Wiring ──

async function logIn(user, password) {
  app.user = user.trim().toLowerCase();
  app.password = password;
  app.closing = false;
  $('login-button').disabled = true;
  $('login-error').textContent = '';
  try {
    await connect();
    await startSession();
    renderContacts();
  } catch (e) {
    app.closing = true;
    $('login-view').hidden = false;
    $('chat-view').hidden = true;
    $('login-error').textContent = sanitize(e.message, 400);
  } finally {
    $('login-button').disabled = false;
  }
}

$('login-form').addEventListener('submit', e => {
  e.preventDefault();
  logIn($('username').value, $('password').value);
});
$('composer').addEventListener('submit', e => {
  e.preventDefault();
  const text = $('message-input').value;
  if (!text.trim() || !app.active) return;
  $('message-input').value = '';
  sendMessage(text);
});
$('attach-button').addEventListener('click', () => $('file-input').click());
$('file-input').addEventListener('change', e => {
  const chosen = [...e.target.files];
  e.target.value = '';
  if (!app.active) return;
  for (const file of chosen) files.send(app.active, file);
});
$('message-input').addEventListener('keydown', e => {
  if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); $('composer').requestSubmit(); }
});
$('new-contact-form').addEventListener('submit', e => {
  e.preventDefault();
  const name = $('new-contact').value.trim().toLowerCase();
  if (!/^[a-z0-9][a-z0-9._-]{0,31}$/.test(name)) { banner('A username is 1–32 of a-z 0-9 . _ - starting with a letter or digit.'); return; }
  $('new-contact').value = '';
  openConversation(name);
});
/** A group action from the page: what it says (or its refusal) in the banner, then everything drawn again. */
async function act(action) {
  try {
    if (!app.messenger) throw new Error('not connected');
    const said = await action();
    if (typeof said === 'string') banner(sanitize(said, 300), true); else banner(null);
  } catch (e) {
    banner(sanitize(e.message ?? String(e), 300));
  }
  // A group action changes what the index holds (left, a new conversation) or adds notices at the
  // ends: the index is always compared and the ends always looked at, so no page need be read again.
  await saveHistory().catch(() => {});
  groups.renderInvitations();
  renderContacts();
  renderConversationHeader();
  renderMessages();
}

/** Names typed into a form: "bob, carol" or "bob carol", each a username. */
function namesIn(text) {
  const names = text.split(/[\s,]+/).map(n => n.trim().toLowerCase()).filter(Boolean);
  const bad = names.find(n => !/^[a-z0-9][a-z0-9._-]{0,31}$/.test(n));
  if (bad !== undefined) throw new Error(`'${sanitize(bad, 40)}' is not a username: 1–32 of a-z 0-9 . _ - starting with a letter or digit.`);
  return [...new Set(names)];
}

$('new-group-form').addEventListener('submit', e => {
  e.preventDefault();
  act(async () => {
    const name = $('new-group-name').value.trim().toLowerCase();
    if (!/^[a-z0-9][a-z0-9._-]{0,31}$/.test(name)) throw new Error('A group name is 1–32 of a-z 0-9 . _ - starting with a letter or digit.');
    const info = await groups.create(name, namesIn($('new-group-members').value).filter(n => n !== app.user));
    $('new-group-name').value = '';
    $('new-group-members').value = '';
    const invited = (info.invited ?? []).map(n => sanitize(n, 64));
    addMessage(contact(`#${info.group}`), { dir: 'notice', time: Date.now(),
      text: `You created #${sanitize(info.group, 64)}${invited.length ? `; invited ${invited.join(', ')} (they join when they accept)` : ''}` });
    openConversation(`#${info.group}`);
  });
});
$('group-leave').addEventListener('click', () => {
  const name = app.active;
  act(async () => {
    await groups.leave(name);
    addMessage(contact(name), { dir: 'notice', time: Date.now(), text: `You left ${sanitize(name, 65)}` });
  });
});
for (const [button, verb] of [['group-add', 'add'], ['group-remove', 'remove']]) {
  $(button).addEventListener('click', () => {
    const name = app.active;
    act(async () => {
      const members = namesIn($('group-member').value);
      if (members.length === 0) throw new Error('Name the members first.');
      const info = await groups[verb](name, members);
      $('group-member').value = '';
      const said = (info.invited ?? []).length ? `; invited ${(info.invited ?? []).map(n => sanitize(n, 64)).join(', ')}` : '';
      const withdrawn = (info.withdrawn ?? []).length ? `; withdrew the invitation of ${(info.withdrawn ?? []).map(n => sanitize(n, 64)).join(', ')}` : '';
      if (said || withdrawn) addMessage(contact(name), { dir: 'notice', time: Date.now(), text: `${verb === 'add' ? 'Added' : 'Removed'}${said}${withdrawn}` });
    });
  });
}
$('group-admin-form').addEventListener('submit', e => { e.preventDefault(); $('group-add').click(); });
$('back').addEventListener('click', () => { $('chat-view').classList.remove('in-conversation'); app.active = null; renderContacts(); });
$('safety-button').addEventListener('click', () => showSafetyNumbers());
$('read-receipts').addEventListener('change', async e => {
  app.readReceipts = e.target.checked;
  if (app.settingsName) await store.put(app.settingsName, { readReceipts: app.readReceipts });
});
$('safety-close').addEventListener('click', () => { $('safety-dialog').hidden = true; });
$('logout').addEventListener('click', async () => {
  app.closing = true;
  clearTimeout(app.reconnectTimer);
  await app.messenger?.close().catch(() => {});
  await store.remove('last-login');
  location.reload();
});
// Leaving the page ends the connection at once, so the server counts this device offline and
// queues for it (unacknowledged messages come again at the next login and are dropped as seen).
// The goodbye is close_notify sealed ahead of time (WebCrypto cannot be awaited here), so the
// server sees a clean end rather than a truncation.
window.addEventListener('pagehide', () => { app.closing = true; app.messenger?.channel.goodbyeNow(); });
document.addEventListener('visibilitychange', () => { if (!document.hidden && app.active) openConversation(app.active); });

// A returning visitor with a device token logs in again without a password.
(async () => {
  const last = await store.get('last-login').catch(() => undefined);
  if (last?.user) {
    $('username').value = last.user;
    await logIn(last.user, null);
  }
})();
