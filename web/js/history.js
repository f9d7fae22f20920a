// The conversations the page keeps, in IndexedDB, one sealed record per page of PAGE messages and
// an index of the conversations. The history used to be one record that every message sealed and
// wrote again whole. At the page's bounds (5,000 messages a conversation, 1,000 conversations)
// that was hundreds of megabytes a message, and whoever can write to us decides how many messages
// come in. Now a save seals only the pages that changed, of the conversations that may have changed,
// and the index when it changed.
//
// A message's page is fixed by its place in the conversation since the conversation began
// (`base`, the messages dropped from its front, plus its index), so dropping the oldest message
// rewrites one page, not every page after it. One save is one IndexedDB transaction: its pages,
// the index naming them, the pages it no longer names, and any record the caller must keep in step
// (the account's last message seen). Saves take turns, and each works from a snapshot of the
// conversations taken when its turn comes, before its first await, so a slower save never writes
// an older index over a newer one, and a save cut off leaves the history as the save before it left it.
import * as store from './store.js';

/** Messages a page holds. */
export const PAGE = 256;

export class ConversationHistory {
  /** @param {string} owner `${fingerprint}:${user}`: whose history, on which server. */
  constructor(owner) {
    this.indexName = `history:${owner}`;
    this.pagePrefix = `history-page:${owner}:`;
    this.written = new Map(); // record name → the JSON last written (or read)
    this.pagesOf = new Map(); // conversation → the page numbers it has in the store
    this.savedEnd = new Map(); // conversation → base + messages, as last saved: where new messages start
    this.savedBase = new Map(); // conversation → its base, as last saved
    this.indexJson = null;
    this.queue = Promise.resolve();
    this.looked = []; // the pages the last save encoded to compare (what a save costs, for the tests)
  }

  pageName(conversation, n) { return `${this.pagePrefix}${encodeURIComponent(conversation)}:${n}`; }

  /** The conversations as saved (a history of the one-record form is read as it is, and saved in pages by the next save). */
  async load() {
    const contacts = new Map();
    const saved = await store.get(this.indexName);
    if (!saved) return { contacts, migrated: false };
    if (saved.v !== 2) {
      for (const [name, c] of Object.entries(saved)) contacts.set(name, c);
      return { contacts, migrated: true };
    }
    this.indexJson = store.encode(saved).json;
    for (const [name, meta, first, last] of saved.conversations) {
      const messages = [];
      const numbers = new Set();
      for (let n = first; n <= last; n++) {
        const record = this.pageName(name, n);
        const page = await store.get(record);
        if (!page) continue; // deleted from outside the page (a save writes a page and the index naming it together)
        this.written.set(record, store.encode(page).json);
        numbers.add(n);
        messages.push(...page);
      }
      this.pagesOf.set(name, numbers);
      this.savedEnd.set(name, (meta.base ?? 0) + messages.length);
      this.savedBase.set(name, meta.base ?? 0);
      contacts.set(name, { ...meta, messages });
    }
    return { contacts, migrated: false };
  }

  /**
   * Writes what changed of `contacts` (a Map the caller will not change: a copy) once the saves
   * before it are done, with `also` ([name, value] records), all in one transaction. `dirty` says
   * where to look: null for every page of every conversation, else a Map from the conversations
   * that may have changed to the page numbers changed in place (null: all its pages). Messages
   * added at the end, and the first page after the oldest were dropped, are always looked at. A
   * page is written only if its contents differ from what was written, and the index only if it differs.
   */
  save(contacts, dirty = null, also = []) {
    const run = this.queue.then(() => this.saveNow(contacts, dirty, also));
    this.queue = run.catch(() => {});
    return run;
  }

  async saveNow(contacts, dirty, also) {
    // Everything to write is worked out before the first await: one snapshot.
    const writes = [];
    const pagesOf = new Map(this.pagesOf), savedEnd = new Map(this.savedEnd), savedBase = new Map(this.savedBase);
    const conversations = [];
    const looked = [];
    for (const [name, c] of contacts) {
      const base = c.base ?? 0;
      const end = base + c.messages.length;
      const first = Math.floor(base / PAGE);
      const last = Math.floor(Math.max(base, end - 1) / PAGE);
      // A conversation whose ends moved since it was last saved is looked at whether or not it was
      // marked: its messages are shared with the page, which may have added to it or dropped its
      // oldest (the page's bounds take them from any conversation) after this save was asked for.
      const moved = this.savedBase.get(name) !== base || this.savedEnd.get(name) !== end;
      if (dirty === null || dirty.has(name) || moved) {
        const inPlace = dirty === null ? null : dirty.has(name) ? dirty.get(name) : new Set();
        const look = new Set();
        if (inPlace === null || !this.savedEnd.has(name)) {
          for (let n = first; n <= last; n++) look.add(n);
        } else {
          for (const n of inPlace) look.add(n);
          for (let n = Math.floor(Math.max(base, this.savedEnd.get(name) - 1) / PAGE); n <= last; n++) look.add(n);
          if (this.savedBase.get(name) !== base) look.add(first);
        }
        for (const n of look) {
          if (n < first || n > last) continue;
          const page = c.messages.slice(Math.max(0, n * PAGE - base), (n + 1) * PAGE - base);
          if (page.length === 0) continue;
          const record = this.pageName(name, n);
          const encoded = store.encode(page);
          looked.push(record);
          // A page with a CryptoKey cannot be compared as text: always written (none holds one today).
          if (encoded.keys.length === 0 && this.written.get(record) === encoded.json) continue;
          writes.push([record, encoded]);
        }
        const numbers = new Set();
        for (let n = first; n <= last && end > base; n++) numbers.add(n);
        for (const old of this.pagesOf.get(name) ?? []) if (!numbers.has(old)) writes.push([this.pageName(name, old), undefined]);
        pagesOf.set(name, numbers);
        savedEnd.set(name, end);
        savedBase.set(name, base);
      }
      const { messages, ...meta } = c;
      conversations.push([name, meta, first, last]);
    }
    for (const [name, numbers] of this.pagesOf) {
      if (contacts.has(name)) continue;
      for (const old of numbers) writes.push([this.pageName(name, old), undefined]);
      pagesOf.delete(name); savedEnd.delete(name); savedBase.delete(name);
    }
    const index = store.encode({ v: 2, conversations });
    if (index.json !== this.indexJson) writes.push([this.indexName, index]);
    for (const [name, value] of also) writes.push([name, store.encode(value)]);

    if (writes.length) await store.putManyEncoded(writes);
    // Written: what the store holds now is what the next save compares with.
    for (const [record, encoded] of writes) {
      if (record === this.indexName) this.indexJson = encoded.json;
      else if (encoded === undefined) this.written.delete(record);
      else if (record.startsWith(this.pagePrefix)) this.written.set(record, encoded.json);
    }
    this.pagesOf = pagesOf; this.savedEnd = savedEnd; this.savedBase = savedBase;
    this.looked = looked;
  }
}
