// The conversations the page keeps, in IndexedDB, one sealed record per page of PAGE messages and
// an index of the conversations. The history used to be one record that every message sealed and
// wrote again whole. At the page's bounds (5,000 messages a conversation, 1,000 conversations)
// that was hundreds of megabytes a message, and whoever can write to us decides how many messages
// come in. Now a save seals only the pages that changed, of the conversations that may have changed,
// and the index when it changed.
//
// A message's page is fixed by its place in the conversation since the conversation began
// (`base`, the messages dropped from its front, plus its index), so dropping the oldest message
// rewrites one page, not every page after it. Pages are written before the index that names
// them, and pages no longer named are deleted after it. A save cut off midway leaves the index as
// it was, naming pages that are all there; at worst a page is newer than the index thinks.
import * as store from './store.js';

/** Messages a page holds. */
export const PAGE = 256;

export class ConversationHistory {
  /** @param {string} owner `${fingerprint}:${user}`: whose history, on which server. */
  constructor(owner) {
    this.indexName = `history:${owner}`;
    this.pagePrefix = `history-page:${owner}:`;
    this.written = new Map(); // record name → the JSON last written (or read)
    this.pagesOf = new Map(); // conversation → the page record names it has in the store
    this.indexJson = null;
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
      const names = new Set();
      for (let n = first; n <= last; n++) {
        const record = this.pageName(name, n);
        const page = await store.get(record);
        if (!page) continue; // never written (a save cut off before it): nothing to lose but what it would have held
        this.written.set(record, store.encode(page).json);
        names.add(record);
        messages.push(...page);
      }
      this.pagesOf.set(name, names);
      contacts.set(name, { ...meta, messages });
    }
    return { contacts, migrated: false };
  }

  /**
   * Writes what changed of `contacts`: the pages of the conversations named in `dirty` (every
   * conversation when it is null) whose contents differ from what was written, then the index if
   * it differs, then deletes the pages of forgotten conversations and dropped messages.
   */
  async save(contacts, dirty = null) {
    const conversations = [];
    const stale = [];
    for (const [name, c] of contacts) {
      const base = c.base ?? 0;
      const first = Math.floor(base / PAGE);
      const last = Math.floor(Math.max(base, base + c.messages.length - 1) / PAGE);
      if (dirty === null || dirty.has(name)) {
        const names = new Set();
        for (let n = first; n <= last; n++) {
          const from = Math.max(0, n * PAGE - base);
          const page = c.messages.slice(from, (n + 1) * PAGE - base);
          if (page.length === 0) continue;
          const record = this.pageName(name, n);
          names.add(record);
          const encoded = store.encode(page);
          // A page with a CryptoKey cannot be compared as text: always written (none holds one today).
          if (encoded.keys.length === 0 && this.written.get(record) === encoded.json) continue;
          await store.putEncoded(record, encoded);
          this.written.set(record, encoded.json);
        }
        for (const old of this.pagesOf.get(name) ?? []) if (!names.has(old)) stale.push(old);
        this.pagesOf.set(name, names);
      }
      const { messages, ...meta } = c;
      conversations.push([name, meta, first, last]);
    }
    for (const [name, names] of this.pagesOf) {
      if (!contacts.has(name)) { stale.push(...names); this.pagesOf.delete(name); }
    }
    const index = store.encode({ v: 2, conversations });
    if (index.json !== this.indexJson) {
      await store.putEncoded(this.indexName, index);
      this.indexJson = index.json;
    }
    for (const record of stale) {
      await store.remove(record);
      this.written.delete(record);
    }
  }
}
